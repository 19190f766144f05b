/**
 * Agents ride out API weather on the real Temporal server (real worker, real SDK, the fake
 * Messages API): 429, 529 and outages are waited out inside the attempt, with the same
 * conversation, all six tools and the same attempt number; the wait shows in `phaseflow status`;
 * past apiOutageSeconds the task escalates once; a worker killed while its agents wait or work
 * resumes on the same rung. And parallel agents do not clobber each other's files.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { workflowIds } from '../../src/domain/ids';
import { detailsFilePath } from '../../src/domain/paths';
import { epicWorkflow } from '../../src/workflows/epic';
import { phaseflow, shown } from '../cli/run-cli';
import { fault, reply, type FakeFault } from '../fake-anthropic/server';
import {
  activities,
  AgentScript,
  agentEpic,
  failureChain,
  history,
  mirrors,
  phaseWorkflowId,
  runEpicInProcess,
  startWorkerProcess,
  useWorkerProcesses,
  TEST_KEY,
  uniqueSlug,
  useE2eRig,
} from './helpers';

const ALL_TOOLS = ['Bash', 'Edit', 'Glob', 'Grep', 'Read', 'Write'];
const toolNames = (body: any) => (body.tools as { name: string }[]).map((t) => t.name).sort();
const overloaded = (retryAfterS: number): FakeFault =>
  fault.error(529, 'overloaded_error', 'Overloaded', { 'retry-after': String(retryAfterS) });

describe('API weather and shared files on Temporal', function () {
  this.timeout(180_000);

  describe('weather', () => {
    const rig = useE2eRig();

    it('a 529 then a 429 (retry-after 1) in a phase of two agents: both complete on attempt 1, all six tools on every request, the gate passes', async () => {
      const slug = uniqueSlug('e2e-wx');
      const script = new AgentScript(rig.fake);
      for (const id of ['1.1', '1.2']) {
        const file = `out-${id}.txt`;
        script.on(
          id,
          reply.toolUse('Write', { file_path: file, content: 'one\n' }),
          fault.overloaded(),
          fault.rateLimited(1),
          reply.toolUse('Edit', { file_path: file, old_string: 'one', new_string: 'two' }),
          reply.toolUse('Bash', { command: `grep -q two ${file}` }),
          reply.aop(`Wrote and edited ${file}.`),
        );
      }
      const spec = agentEpic({
        slug,
        workspace: rig.ws.dir,
        phases: [{ slug: 'only', tasks: [{ id: '1.1' }, { id: '1.2' }] }],
      });
      (spec.roadmaps[0].plans[0].phases[0] as any).gate = {
        commands: ['grep -q two out-1.1.txt && grep -q two out-1.2.txt'],
      };
      const run = await runEpicInProcess(rig.client, spec, `e2e-wx-${slug}`);
      assert.equal(run.error, undefined, failureChain(run.error));
      for (const id of ['1.1', '1.2']) {
        assert.equal(script.left(id), 0);
        for (const r of script.requests(id)) assert.deepEqual(toolNames(r.req.body), ALL_TOOLS);
        // No Edit or Bash came back "unknown tool".
        for (const r of script.requests(id))
          assert.ok(!JSON.stringify(r.req.body.messages).includes('unknown tool'), JSON.stringify(r.req.body.messages));
      }
      const acts = activities(await history(rig.client, phaseWorkflowId(spec)), 'runAgentTask');
      assert.deepEqual(
        acts.map((a) => [a.input.attempt, a.input.reducedTools, a.end]),
        [
          [1, false, 'completed'],
          [1, false, 'completed'],
        ],
      );
      const progress = await mirrors.progress(rig.ws.dir, 'greeter');
      assert.equal(progress.phases[0].gate.passed, true);
      for (const t of progress.phases[0].tasks) {
        assert.equal(t.attempts, 1);
        assert.ok(t.api_retries >= 2, JSON.stringify(t));
        assert.ok(t.api_wait_ms >= 1_000, JSON.stringify(t));
      }
      assert.deepEqual(progress.decisions, []);
      const details = JSON.parse(
        await fs.readFile(path.join(rig.ws.dir, detailsFilePath('greeter', '1.1', 1)), 'utf8'),
      );
      assert.ok(details.api.retries >= 2);
    });

    it('a 60-second outage of alternating 529 and 429 over three agents: all complete, no question, attempt 1, the wait shows in status, no request inside a retry-after window', async () => {
      const slug = uniqueSlug('e2e-outage');
      const script = new AgentScript(rig.fake);
      for (const id of ['1.1', '1.2', '1.3'])
        script.on(
          id,
          reply.toolUse('Write', { file_path: `o-${id}.txt`, content: 'x\n' }),
          reply.aop(`Wrote o-${id}.txt.`),
        );
      rig.fake.outage(60_000, [overloaded(4), fault.rateLimited(5)]);
      const spec = agentEpic({
        slug,
        workspace: rig.ws.dir,
        phases: [{ slug: 'only', tasks: [{ id: '1.1' }, { id: '1.2' }, { id: '1.3' }] }],
      });
      const statusSeen: string[] = [];
      const run = await runEpicInProcess(rig.client, spec, `e2e-outage-${slug}`, 150_000, async () => {
        // While the outage lasts, `phaseflow status` says who waits on what, and when it tries again.
        await new Promise((r) => setTimeout(r, 8_000));
        const st = await phaseflow(['status', slug]);
        statusSeen.push(shown(st));
      });
      assert.equal(run.error, undefined, failureChain(run.error));
      assert.ok(run.ms >= 60_000, `the run took ${run.ms} ms`);
      assert.match(
        statusSeen[0],
        /task 1\.\d waiting for the API: (529 overloaded_error|429 rate_limit_error|held by a rate limit on this worker), next try in \d{1,2} s/,
      );
      for (const id of ['1.1', '1.2', '1.3']) assert.equal(script.left(id), 0);
      const outageRequests = rig.fake.messageRequests.filter((r) => r.outage);
      assert.ok(outageRequests.length >= 6, `${outageRequests.length} requests during the outage`);
      // Requests already on their way when a 429 came are not the agents' fault: 100 ms grace.
      assert.deepEqual(
        rig.fake.requestsInsideRetryAfter(100).map((v) => [v.request.index, v.window.index]),
        [],
      );
      const acts = activities(await history(rig.client, phaseWorkflowId(spec)), 'runAgentTask');
      assert.deepEqual(
        acts.map((a) => [a.input.attempt, a.end]),
        [
          [1, 'completed'],
          [1, 'completed'],
          [1, 'completed'],
        ],
      );
      const progress = await mirrors.progress(rig.ws.dir, 'greeter');
      console.log(
        `      (run ${(run.ms / 1000).toFixed(1)} s; ${outageRequests.length} requests reached the fake during the outage; per task: ${progress.phases[0].tasks
          .map((t: any) => `${t.id} ${t.api_retries} retries, ${(t.api_wait_ms / 1000).toFixed(1)} s waited`)
          .join('; ')})`,
      );
      assert.deepEqual(progress.decisions, [], 'no question was asked');
      for (const t of progress.phases[0].tasks) {
        assert.equal(t.attempts, 1);
        assert.ok(t.api_wait_ms >= 40_000, JSON.stringify(t));
      }
    });

    it('an outage longer than apiOutageSeconds: one escalation, "Anthropic API unavailable for N s (last: 529 overloaded_error)"', async () => {
      const slug = uniqueSlug('e2e-down');
      rig.fake.outage(120_000, [overloaded(1)]);
      const spec = agentEpic({
        slug,
        workspace: rig.ws.dir,
        settings: { apiOutageSeconds: 5 },
        phases: [{ slug: 'only', tasks: [{ id: '1.1' }] }],
      });
      const run = await runEpicInProcess(rig.client, spec, `e2e-down-${slug}`);
      assert.ok(run.error, 'the epic failed (the default answer to the escalation is abort)');
      assert.match(failureChain(run.error), /Anthropic API unavailable for [4-7] s \(last: 529 overloaded_error\)/);
      const acts = activities(await history(rig.client, phaseWorkflowId(spec)), 'runAgentTask');
      assert.equal(acts.length, 1, 'no second attempt: waiting longer would not help');
      const progress = await mirrors.progress(rig.ws.dir, 'greeter');
      assert.equal(progress.decisions.length, 1, JSON.stringify(progress.decisions));
      assert.match(
        progress.phases[0].tasks[0].error,
        /Anthropic API unavailable for [4-7] s \(last: 529 overloaded_error\)/,
      );
    });
  });

  describe('a worker killed while its agents wait on the API or work', () => {
    const workers = useWorkerProcesses();
    const rig = useE2eRig();

    it('they resume on a new worker on the same rung (same limit, all tools, attempt 1) without repeating finished turns', async function () {
      const slug = uniqueSlug('e2e-wxkill');
      const queue = `e2e-wxkill-${slug}`;
      const script = new AgentScript(rig.fake)
        // 1.1 waits on the API when the worker dies (a 529 with a long retry-after).
        .on(
          '1.1',
          reply.toolUse('Write', { file_path: 'w1.txt', content: 'turn 1\n' }, { id: 'toolu_w1' }),
          overloaded(60),
          reply.toolUse('Write', { file_path: 'w2.txt', content: 'turn 2\n' }, { id: 'toolu_w2' }),
          reply.aop('Wrote w1 and w2 across a worker crash.'),
        )
        // 1.2 works (its model call hangs) when the worker dies.
        .on(
          '1.2',
          reply.toolUse('Write', { file_path: 'k1.txt', content: 'turn 1\n' }, { id: 'toolu_k1' }),
          fault.hang(),
          reply.toolUse('Write', { file_path: 'k2.txt', content: 'turn 2\n' }, { id: 'toolu_k2' }),
          reply.aop('Wrote k1 and k2 across a worker crash.'),
        );
      const spec = agentEpic({
        slug,
        workspace: rig.ws.dir,
        settings: { timeoutBaseSeconds: 30 },
        phases: [{ slug: 'only', tasks: [{ id: '1.1' }, { id: '1.2' }] }],
      });
      const env = { ANTHROPIC_BASE_URL: rig.fake.baseURL, ANTHROPIC_API_KEY: TEST_KEY };
      const w1 = startWorkerProcess(queue, env);
      workers.push(w1);
      const handle = await rig.client.workflow.start(epicWorkflow, {
        taskQueue: queue,
        workflowId: workflowIds.epic(slug),
        args: [spec],
        workflowExecutionTimeout: 150_000,
      });
      try {
        await rig.fake.waitForRequests(4, 60_000);
      } catch (e) {
        throw new Error(`${(e as Error).message}\nworker output:\n${w1.output()}`);
      }
      // Let 1.1 start its wait (and tell its phase), then kill the worker.
      await new Promise((r) => setTimeout(r, 1_500));
      w1.kill('SIGKILL');
      assert.equal((await w1.exited).signal, 'SIGKILL');
      const w2 = startWorkerProcess(queue, env);
      workers.push(w2);
      try {
        await handle.result();
      } catch (e) {
        throw new Error(`${failureChain(e)}\nworker 2 output:\n${w2.output()}`);
      }
      for (const id of ['1.1', '1.2']) {
        assert.equal(script.left(id), 0, `task ${id}: script left`);
        const reqs = script.requests(id);
        // Turn 1 was requested once; the request after the restart carries it with its result.
        assert.equal(reqs.filter((r) => r.req.body.messages.length === 1).length, 1);
        for (const r of reqs) assert.deepEqual(toolNames(r.req.body), ALL_TOOLS);
      }
      const acts = activities(await history(rig.client, phaseWorkflowId(spec)), 'runAgentTask');
      const byTask = (id: string) => acts.filter((a) => a.input.task.id === id);
      for (const id of ['1.1', '1.2']) {
        assert.deepEqual(
          byTask(id).map((a) => [a.input.attempt, a.input.timeoutMs, a.input.reducedTools, a.end]),
          [
            [1, 30_000, false, 'timedOut'],
            [1, 30_000, false, 'completed'],
          ],
          id,
        );
      }
      const progress = await mirrors.progress(rig.ws.dir, 'greeter');
      for (const t of progress.phases[0].tasks) assert.equal(t.attempts, 1);
      assert.deepEqual(progress.decisions, []);
      for (const f of ['w1.txt', 'w2.txt', 'k1.txt', 'k2.txt']) await fs.access(path.join(rig.ws.dir, f));
    });
  });

  describe('files shared by parallel agents', () => {
    const rig = useE2eRig();

    it('a file two tasks of a phase wrote is reported in the phase result and PROGRESS.json (conflicts)', async () => {
      const slug = uniqueSlug('e2e-conflict');
      new AgentScript(rig.fake)
        .on(
          '1.1',
          reply.toolUse('Write', { file_path: 'shared.md', content: 'from 1.1\n' }),
          reply.aop('Wrote shared.md.'),
        )
        .on(
          '1.2',
          // Write over a file it never read is refused; it reads, then writes.
          reply.toolUse('Write', { file_path: 'shared.md', content: 'from 1.2\n' }),
          reply.toolUse('Read', { file_path: 'shared.md' }),
          reply.toolUse('Write', { file_path: 'shared.md', content: 'from 1.1\nfrom 1.2\n' }),
          reply.toolUse('Write', { file_path: 'own.md', content: 'mine\n' }),
          reply.aop('Added to shared.md.'),
        );
      const spec = agentEpic({
        slug,
        workspace: rig.ws.dir,
        phases: [{ slug: 'only', tasks: [{ id: '1.1' }, { id: '1.2' }] }],
      });
      (spec.roadmaps[0].plans[0].phases[0].tasks[1] as any).dependsOn = ['1.1'];
      const run = await runEpicInProcess(rig.client, spec, `e2e-conflict-${slug}`);
      assert.equal(run.error, undefined, failureChain(run.error));
      assert.equal(await fs.readFile(path.join(rig.ws.dir, 'shared.md'), 'utf8'), 'from 1.1\nfrom 1.2\n');
      const progress = await mirrors.progress(rig.ws.dir, 'greeter');
      assert.deepEqual(progress.phases[0].conflicts, [{ file: 'shared.md', tasks: ['1.1', '1.2'] }]);
      const phaseResult = await rig.client.workflow.getHandle(phaseWorkflowId(spec)).result();
      assert.deepEqual((phaseResult as any).conflicts, [{ file: 'shared.md', tasks: ['1.1', '1.2'] }]);
    });
  });
});
