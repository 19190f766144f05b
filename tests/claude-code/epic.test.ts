/**
 * The claude-code runtime on the real Temporal server: an epic whose tasks run in both runtimes
 * (the tool loop and Claude Code), end to end against the fake Messages API; and a worker killed
 * with SIGKILL in the middle of a Claude Code session, whose session the next worker resumes.
 */
import { temporal } from '@temporalio/proto';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { workflowIds } from '../../src/domain/ids';
import { detailsFilePath } from '../../src/domain/paths';
import type { EpicSpecInput } from '../../src/domain/spec';
import { epicWorkflow } from '../../src/workflows/epic';
import {
  activities,
  AgentScript,
  agentEpic,
  failureChain,
  history,
  mirrors,
  phaseWorkflowId,
  readJson,
  runEpicInProcess,
  startWorkerProcess,
  TEST_KEY,
  toolResultIds,
  uniqueSlug,
  useE2eRig,
  useWorkerProcesses,
} from '../e2e-agents/helpers';
import { fault, reply, type ApiUsage } from '../fake-anthropic/server';
import { claudeCodePids, requireClaudeCode, writeAgentFile } from './helpers';

const usage = (input_tokens: number, output_tokens: number): Partial<ApiUsage> => ({
  input_tokens,
  output_tokens,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
});

describe('claude-code runtime on Temporal', function () {
  this.timeout(120_000);
  requireClaudeCode();

  describe('an epic mixing both runtimes', () => {
    const rig = useE2eRig();

    it('runs end to end: tool-loop and Claude Code tasks, a project agent, the gate, usage rolled up', async () => {
      const slug = uniqueSlug('cc-mixed');
      const ws = rig.ws.dir;
      await writeAgentFile(
        ws,
        'doc-writer',
        'description: Writes docs\ntools: Read, Write, Edit\nmodel: haiku',
        'You are DOC-WRITER-42.',
      );
      const f = (name: string) => path.join(ws, name);
      const script = new AgentScript(rig.fake)
        // 1.1: the tool loop
        .on(
          '1.1',
          reply.toolUse('Write', { file_path: 'loop.txt', content: 'tool loop\n' }, { usage: usage(1000, 100) }),
        )
        .on('1.1', reply.aop('Wrote loop.txt with the tool loop.', 'success', { usage: usage(1100, 50) }))
        // 1.2: Claude Code running the project's doc-writer agent
        .on(
          '1.2',
          reply.toolUse('Write', { file_path: f('README.md'), content: '# Docs\n' }, { usage: usage(2000, 200) }),
        )
        .on(
          '1.2',
          reply.toolUse(
            'Edit',
            { file_path: f('README.md'), old_string: '# Docs', new_string: '# Project docs' },
            { usage: usage(2100, 100) },
          ),
        )
        .on('1.2', reply.aop('Wrote README.md as doc-writer.', 'success', { usage: usage(2200, 60) }))
        // 2.1: Claude Code (phase setting), Bash in the sandbox
        .on(
          '2.1',
          reply.toolUse(
            'Bash',
            { command: 'cat loop.txt README.md > combined.txt && wc -l < combined.txt' },
            { usage: usage(3000, 300) },
          ),
        )
        .on('2.1', reply.aop('Combined the two files.', 'success', { usage: usage(3100, 70) }));
      const base = agentEpic({
        slug,
        workspace: ws,
        // Claude Code starts in about a second, more on a busy machine: the fast ladder's 8 s is too tight.
        settings: { timeoutBaseSeconds: 60 },
        phases: [
          { slug: 'write', tasks: [{ id: '1.1' }, { id: '1.2', settings: { agentRuntime: 'claude-code' } }] },
          { slug: 'combine', tasks: [{ id: '2.1' }] },
        ],
      });
      const plan = base.roadmaps[0].plans[0];
      (plan.phases[0].tasks[1] as { agent?: string }).agent = 'doc-writer';
      plan.phases[1].settings = { agentRuntime: 'claude-code' };
      plan.phases[1].gate = { commands: ['test -s combined.txt', 'grep -q "Project docs" combined.txt'] };
      const spec: EpicSpecInput = base;

      const run = await runEpicInProcess(rig.client, spec, `cc-mixed-${slug}`, 100_000);
      assert.equal(run.error, undefined, run.error ? failureChain(run.error) : '');

      assert.equal(await fs.readFile(f('loop.txt'), 'utf8'), 'tool loop\n');
      assert.equal(await fs.readFile(f('combined.txt'), 'utf8'), 'tool loop\n# Project docs\n');
      for (const id of ['1.1', '1.2', '2.1']) assert.equal(script.left(id), 0, `task ${id} used its script`);
      // 1.2 ran as the agent: its prompt and model; 1.1 went through the tool loop's own prompt.
      const r12 = script.requests('1.2')[0].req.body;
      assert.match(JSON.stringify(r12.system), /DOC-WRITER-42/);
      assert.match(r12.model, /haiku/);
      assert.doesNotMatch(JSON.stringify(script.requests('1.1')[0].req.body.system), /DOC-WRITER-42/);
      assert.deepEqual(rig.fake.unknownRequests, []);

      // The activities' inputs name the runtime only for Claude Code tasks.
      const p1 = activities(await history(rig.client, phaseWorkflowId(spec, 0)), 'runAgentTask');
      const p2 = activities(await history(rig.client, phaseWorkflowId(spec, 1)), 'runAgentTask');
      const runtimeOf = (acts: typeof p1) =>
        Object.fromEntries(acts.map((a) => [a.input.task.id, a.input.runtime ?? 'tool-loop']));
      assert.deepEqual(runtimeOf(p1), { '1.1': 'tool-loop', '1.2': 'claude-code' });
      assert.deepEqual(runtimeOf(p2), { '2.1': 'claude-code' });

      // Usage rolls up the same way for both: per task in PROGRESS.json, summed up to the epic.
      const progress = await mirrors.progress(ws, 'greeter');
      const tasks = progress.phases.flatMap((p: any) => p.tasks);
      const inputOf = (id: string) => tasks.find((t: any) => t.id === id).usage.input_tokens;
      assert.equal(inputOf('1.1'), 2100);
      assert.equal(inputOf('1.2'), 6300);
      assert.equal(inputOf('2.1'), 6100);
      const details = await readJson(path.join(ws, detailsFilePath('greeter', '1.2', 1)));
      assert.equal(details.runtime.name, 'claude-code');
      assert.equal(details.runtime.agent.file, '.claude/agents/doc-writer.md');
      assert.deepEqual(details.filesChanged, ['README.md']);
    });
  });

  describe('a worker killed with SIGKILL mid-session', () => {
    const workers = useWorkerProcesses();
    const rig = useE2eRig();

    it('takes Claude Code down with it, and the next worker resumes the session: finished turns are not repeated', async () => {
      const slug = uniqueSlug('cc-kill');
      const queue = `cc-kill-${slug}`;
      const ws = rig.ws.dir;
      const script = new AgentScript(rig.fake).on(
        '1.1',
        reply.toolUse(
          'Write',
          { file_path: path.join(ws, 'a.txt'), content: 'turn 1\n' },
          { id: 'toolu_k1', usage: usage(1000, 100) },
        ),
        fault.hang(), // turn 2 in the first worker: killed while waiting for it
        reply.toolUse(
          'Write',
          { file_path: path.join(ws, 'b.txt'), content: 'turn 2\n' },
          { id: 'toolu_k2', usage: usage(2000, 200) },
        ),
        reply.aop('Wrote a.txt and b.txt across a worker crash.', 'success', { usage: usage(3000, 300) }),
      );
      const spec = agentEpic({
        slug,
        workspace: ws,
        settings: { agentRuntime: 'claude-code', timeoutBaseSeconds: 60 },
        phases: [{ slug: 'only', tasks: [{ id: '1.1' }] }],
      });
      const env = { ANTHROPIC_BASE_URL: rig.fake.baseURL, ANTHROPIC_API_KEY: TEST_KEY };
      const w1 = startWorkerProcess(queue, env);
      workers.push(w1);
      const handle = await rig.client.workflow.start(epicWorkflow, {
        taskQueue: queue,
        workflowId: workflowIds.epic(slug),
        args: [spec],
        workflowExecutionTimeout: 100_000,
      });
      try {
        await rig.fake.waitForRequests(2, 60_000);
      } catch (e) {
        throw new Error(`${(e as Error).message}\nworker output:\n${w1.output()}`);
      }
      assert.equal(script.seen[1].served, 'hang');
      assert.equal((await claudeCodePids(ws, 'greeter', '1.1')).length, 1, 'Claude Code runs for the task');
      w1.kill('SIGKILL');
      assert.equal((await w1.exited).signal, 'SIGKILL');
      // Claude Code dies with the worker (parent-death signal), not minutes later.
      const deadline = Date.now() + 5_000;
      while ((await claudeCodePids(ws, 'greeter', '1.1')).length && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(await claudeCodePids(ws, 'greeter', '1.1'), [], 'Claude Code outlived the worker');
      const killedAt = Date.now();

      const w2 = startWorkerProcess(queue, env);
      workers.push(w2);
      try {
        await handle.result();
      } catch (e) {
        throw new Error(`${failureChain(e)}\nworker 2 output:\n${w2.output()}`);
      }
      const reqs = script.requests('1.1');
      assert.equal(reqs.length, 4);
      const firstAfter = reqs[2];
      assert.ok(firstAfter.at > killedAt);
      // The first request after the restart carries turn 1 and its result: it was not run again.
      assert.deepEqual(toolResultIds(firstAfter.req.body), ['toolu_k1']);
      assert.match(JSON.stringify(firstAfter.req.body.messages), /interrupted and is resumed/);
      assert.equal(await fs.readFile(path.join(ws, 'a.txt'), 'utf8'), 'turn 1\n');
      assert.equal(await fs.readFile(path.join(ws, 'b.txt'), 'utf8'), 'turn 2\n');

      // Attempt 1 timed out on its heartbeat (a dead worker), then ran again on the same rung.
      const acts = activities(await history(rig.client, phaseWorkflowId(spec)), 'runAgentTask');
      assert.deepEqual(
        acts.map((a) => a.end),
        ['timedOut', 'completed'],
      );
      assert.equal(
        acts[0].failure?.timeoutFailureInfo?.timeoutType,
        temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_HEARTBEAT,
      );
      assert.deepEqual(
        acts.map((a) => a.input.attempt),
        [1, 1],
      );
      const details = await readJson(path.join(ws, detailsFilePath('greeter', '1.1', 1)));
      assert.equal(details.conversation.mode, 'resumed');
      // The crashed session's turn-1 usage is carried into the task's usage (input tokens are
      // exact from the stream's start; output tokens of a crashed turn are what its start reported).
      const t = (await mirrors.progress(ws, 'greeter')).phases[0].tasks[0];
      assert.equal(t.status, 'completed');
      assert.equal(t.usage.input_tokens, 1000 + 2000 + 3000);
    });
  });
});
