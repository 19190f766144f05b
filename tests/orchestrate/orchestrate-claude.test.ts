/**
 * `orchestrateWorkflow` with real agents (the agent loop and its tools, driven by the real SDK)
 * against the fake Messages API, on the real Temporal server, scripted per agent role: three
 * research agents, at most two at once; the planner's first draft is refused by the zod check
 * and its second, told the field path, is valid; the plan is approved; the epic's build task
 * writes a wrong greeting, its gate fails, and the debug agent fixes it with nobody asked; the
 * document agent writes the changelog; the run completes.
 */
import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { OrchestrateOutcome } from '../../src/domain/orchestrate';
import { decideUpdate, pendingQuery } from '../../src/workflows/messages';
import { orchestrateWorkflow } from '../../src/workflows/orchestrate';
import { AgentScript, useFakeApi } from '../e2e-agents/helpers';
import { FakeAnthropic, reply } from '../fake-anthropic/server';
import { tempWorkspace, testClient, uniqueName, waitFor, withWorker } from '../support/worker-harness';

const usage = { input_tokens: 300, output_tokens: 120 };

/** Where a research agent is told to write its report (its prompt names it). */
function reportPathIn(body: unknown): string {
  const m = /Write your findings as Markdown to ([\w./-]+\.md)/.exec(JSON.stringify(body));
  if (!m) throw new Error('no report path in the research prompt');
  return m[1];
}

/** The epic spec the planner writes; `broken`: task 1.2 depends on a task that does not exist. */
function plannedSpec(broken: boolean) {
  return {
    title: 'Greeting',
    description: 'Add a greeting and test it',
    roadmaps: [
      {
        slug: 'main',
        title: 'Main',
        plans: [
          {
            slug: 'greeting',
            title: 'Greeting',
            phases: [
              {
                slug: 'build',
                title: 'Build the greeting',
                tasks: [
                  { id: '1.1', description: 'Write greeting.txt saying Hello', files: ['greeting.txt'] },
                  {
                    id: '1.2',
                    description: 'Show it',
                    kind: 'command',
                    command: 'cat greeting.txt',
                    dependsOn: [broken ? '1.9' : '1.1'],
                  },
                ],
                gate: { commands: ["grep -qx 'Hello' greeting.txt"], successCriteria: ['greeting.txt says Hello'] },
              },
            ],
          },
        ],
      },
    ],
  };
}

describe('orchestrate with agents against the fake Messages API (real server)', function () {
  this.timeout(240_000);
  let fake: FakeAnthropic;
  let restore: () => void;
  before(async () => {
    fake = await FakeAnthropic.start();
    restore = useFakeApi(fake);
  });
  after(async () => {
    restore?.();
    await fake?.close();
  });

  it('research within the cap → corrected plan → approval → epic → gate fixed by the debug agent → document → completed', async () => {
    const ws = tempWorkspace('phaseflow-orch-claude-');
    writeFileSync(path.join(ws, 'README.md'), '# Greeter\n');
    const slug = uniqueName('orchc').slice(0, 30);
    const specPath = `specs/plans/001_${slug.replace(/-/g, '_')}.epic.json`;
    const script = new AgentScript(fake);
    for (const n of [1, 2, 3]) {
      script.on(
        `research-${n}`,
        // The report goes where the prompt says; paced, so the research agents overlap and the cap shows.
        (req) =>
          reply.paced(
            reply.toolUse(
              'Write',
              { file_path: reportPathIn(req.body), content: `# Topic ${n}\n\n${'Finding. '.repeat(200)}\n` },
              { usage },
            ),
            40,
          ),
        reply.aop(`Topic ${n}: greet with "Hello"; test with grep.`, 'success', { usage }),
      );
    }
    script
      .on(
        'planner-1',
        reply.toolUse('Write', { file_path: specPath, content: JSON.stringify(plannedSpec(true)) }, { usage }),
        reply.aop('First draft of the greeting plan.', 'success', { usage }),
      )
      .on(
        'planner-2',
        // An existing file is read before it is overwritten (the Write tool's read check).
        reply.toolUse('Read', { file_path: specPath }, { usage }),
        reply.toolUse('Write', { file_path: specPath, content: JSON.stringify(plannedSpec(false)) }, { usage }),
        reply.aop('Second draft: the dependency fixed.', 'success', { usage }),
      )
      .on(
        '1.1',
        reply.toolUse('Write', { file_path: 'greeting.txt', content: 'Helo\n' }, { usage }),
        reply.aop('Wrote greeting.txt.', 'success', { usage }),
      )
      .on(
        'debug-build-1',
        reply.toolUse('Read', { file_path: 'greeting.txt' }, { usage }),
        reply.toolUse('Write', { file_path: 'greeting.txt', content: 'Hello\n' }, { usage }),
        reply.aop('The greeting was misspelt (Helo); fixed to Hello.', 'success', { usage }),
      )
      .on(
        'document',
        reply.toolUse(
          'Write',
          { file_path: 'CHANGELOG.md', content: '# Changelog\n\n- Greeting: says Hello.\n' },
          { usage },
        ),
        reply.aop('CHANGELOG.md: the greeting.', 'success', { usage }),
      );

    const client = await testClient();
    const taskQueue = uniqueName('orchc-q');
    const outcome = await withWorker(taskQueue, async () => {
      const handle = await client.workflow.start(orchestrateWorkflow, {
        taskQueue,
        workflowId: `orchestrate/${slug}`,
        args: [
          {
            goal: 'Add a greeting, then test it',
            workspace: ws,
            slug,
            agentMode: 'claude',
            research: 3,
            researchParallel: 2,
            settings: { timeoutBaseSeconds: 30, retryBackoffSeconds: 0.2 },
          },
        ],
      });
      const q = await waitFor(
        'the approval question',
        async () => (await handle.query(pendingQuery)).find((p) => p.kind === 'approval'),
        120_000,
      );
      assert.match(q.question, /specs\/plans\/001_greeting\.md/);
      await handle.executeUpdate(decideUpdate, { args: [{ decisionId: q.id, action: 'approve', by: 'tester' }] });
      return (await handle.result()) as OrchestrateOutcome;
    });
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome, null, 2));

    // Research: three agents, never more than two at once, and two did overlap.
    const spans = [1, 2, 3].map((n) => {
      const reqs = script.requests(`research-${n}`).map((s) => s.req);
      return {
        start: Math.min(...reqs.map((r) => r.receivedAt)),
        end: Math.max(...reqs.map((r) => r.closedAt ?? Date.now())),
      };
    });
    const overlapAt = (t: number) => spans.filter((s) => s.start <= t && t < s.end).length;
    const most = Math.max(...spans.map((s) => overlapAt(s.start)));
    assert.equal(most, 2, JSON.stringify(spans));

    // The planner's second draft was told what was wrong, by field path.
    const secondPrompt = JSON.stringify(script.requests('planner-2')[0].req.body);
    assert.match(secondPrompt, /roadmaps\[0\]\.plans\[0\]\.phases\[0\]\.tasks\[1\]\.dependsOn/);
    assert.match(secondPrompt, /1\.9/);
    const plan = outcome.stages.find((s) => s.stage === 'plan')!;
    assert.ok(plan.items.some((i) => /draft 1 refused/.test(i.summary)));

    // The epic: the gate failed once, the debug agent fixed it, nobody was asked.
    const progress = JSON.parse(readFileSync(path.join(ws, '.claude/phase-plans/greeting/PROGRESS.json'), 'utf8'));
    assert.equal(progress.status, 'completed');
    assert.deepEqual(
      progress.phases[0].gate_debug.map((r: any) => [r.taskId, r.gatePassed]),
      [['debug-build-1', true]],
    );
    assert.deepEqual(progress.decisions, []);
    assert.equal(readFileSync(path.join(ws, 'greeting.txt'), 'utf8'), 'Hello\n');
    const debugPrompt = JSON.stringify(script.requests('debug-build-1')[0].req.body);
    assert.match(debugPrompt, /grep -qx 'Hello' greeting.txt/);

    // Document, and the pruning record.
    assert.match(readFileSync(path.join(ws, 'CHANGELOG.md'), 'utf8'), /says Hello/);
    const research = outcome.stages.find((s) => s.stage === 'research')!;
    assert.ok(research.bytesProduced > 5000 && research.reductionPercent! > 80, JSON.stringify(research));
    for (const s of ['research', 'plan', 'analysis', 'approval', 'implement', 'document'])
      assert.ok(
        outcome.stages.some((x) => x.stage === s && x.status === 'completed'),
        s,
      );
    console.log(
      `      pruning: ${outcome.stages.map((s) => `${s.stage} ${s.bytesProduced}→${s.bytesHandedOn} B`).join(', ')}; total ${outcome.pruning.bytesProduced}→${outcome.pruning.bytesHandedOn} B (${outcome.pruning.reductionPercent} %)`,
    );
  });
});
