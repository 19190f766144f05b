/**
 * `orchestrateWorkflow` in dry-run on the real Temporal server: the whole flow with simulated
 * agents (research → one invalid draft corrected → approval → the epic, whose failing gate the
 * debug agent fixes → document); a rejected plan starts nothing; `until: plan` stops at the plan;
 * `until: phase:1` runs the first phase only.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import type { OrchestrateInputRaw, OrchestrateOutcome } from '../../src/domain/orchestrate';
import { decideUpdate, pendingQuery } from '../../src/workflows/messages';
import { orchestrateWorkflow } from '../../src/workflows/orchestrate';
import { tempWorkspace, testClient, uniqueName, waitFor, withWorker } from '../support/worker-harness';

const FAST = { timeoutBaseSeconds: 10, retryBackoffSeconds: 0.2, heartbeatSeconds: 5 };

async function answerApproval(handle: WorkflowHandle, action: 'approve' | 'reject'): Promise<string> {
  let question = '';
  await waitFor(
    'the approval question',
    async () => {
      const [q] = await handle.query(pendingQuery);
      if (q?.kind !== 'approval') return false;
      question = q.question;
      await handle.executeUpdate(decideUpdate, { args: [{ decisionId: q.id, action, by: 'tester' }] });
      return true;
    },
    60_000,
  );
  return question;
}

function start(ws: string, extra: Partial<OrchestrateInputRaw> = {}) {
  const slug = uniqueName('orch')
    .replace(/[^a-z0-9-]/g, '')
    .slice(0, 40);
  const taskQueue = uniqueName('orch-q');
  const input: OrchestrateInputRaw = {
    goal: 'Add a greeting command, document it and test it',
    workspace: ws,
    slug,
    agentMode: 'dry-run',
    research: 3,
    researchParallel: 2,
    settings: FAST,
    simulate: { invalidFirstDraft: true, failingGate: true },
    ...extra,
  };
  return { slug, taskQueue, input };
}

describe('orchestrate (dry-run, real server)', function () {
  this.timeout(240_000);

  it('goal → research → corrected plan → approval → epic with a gate fixed by the debug agent → document', async () => {
    const ws = tempWorkspace('phaseflow-orch-');
    writeFileSync(path.join(ws, 'README.md'), '# Greeter\n');
    const { slug, taskQueue, input } = start(ws);
    const client = await testClient();
    const outcome = await withWorker(taskQueue, async () => {
      const handle = await client.workflow.start(orchestrateWorkflow, {
        taskQueue,
        workflowId: `orchestrate/${slug}`,
        args: [input],
      });
      const question = await answerApproval(handle, 'approve');
      assert.match(question, /specs\/plans\/001_/);
      return (await handle.result()) as OrchestrateOutcome;
    });
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome, null, 2));
    const research = outcome.stages.find((s) => s.stage === 'research')!;
    assert.equal(research.items.length, 3);
    for (const i of research.items) assert.ok(existsSync(path.join(ws, i.path!)), i.path);
    const plan = outcome.stages.find((s) => s.stage === 'plan')!;
    assert.ok(
      plan.items.some((i) => /draft 1 refused.*dependsOn/.test(i.summary)),
      JSON.stringify(plan.items),
    );
    const progress = JSON.parse(readFileSync(path.join(ws, `.claude/phase-plans/${slug}/PROGRESS.json`), 'utf8'));
    const build = progress.phases.find((p: any) => p.slug === 'build');
    assert.equal(build.status, 'completed');
    assert.equal(build.gate_debug?.[0]?.gatePassed, true);
    assert.deepEqual(progress.decisions, [], 'nobody was asked during the epic');
    assert.match(readFileSync(path.join(ws, 'CHANGELOG.md'), 'utf8'), /Build it \(completed\)/);
    assert.ok(outcome.pruning.reductionPercent! > 50, JSON.stringify(outcome.pruning));
    const record = JSON.parse(readFileSync(path.join(ws, `.claude/orchestrator/orchestrate/${slug}.json`), 'utf8'));
    assert.equal(record.status, 'completed');
    console.log(
      `      pruning: ${outcome.stages.map((s) => `${s.stage} ${s.bytesProduced}→${s.bytesHandedOn} B`).join(', ')}; total ${outcome.pruning.bytesProduced}→${outcome.pruning.bytesHandedOn} B (${outcome.pruning.reductionPercent} %)`,
    );
  });

  it('a rejected plan starts nothing', async () => {
    const ws = tempWorkspace('phaseflow-orch-');
    const { slug, taskQueue, input } = start(ws, { simulate: {} });
    const client = await testClient();
    const outcome = await withWorker(taskQueue, async () => {
      const handle = await client.workflow.start(orchestrateWorkflow, {
        taskQueue,
        workflowId: `orchestrate/${slug}`,
        args: [input],
      });
      await answerApproval(handle, 'reject');
      return (await handle.result()) as OrchestrateOutcome;
    });
    assert.equal(outcome.status, 'rejected');
    assert.equal(outcome.epicId, undefined);
    await assert.rejects(client.workflow.getHandle(`epic/${slug}`).describe(), WorkflowNotFoundError);
    assert.ok(!existsSync(path.join(ws, `.claude/phase-plans/${slug}`)));
  });

  it('analysis: a phase of complexity 10 is expanded in the Markdown plan (expand auto), and approval names the expanded plan', async () => {
    const ws = tempWorkspace('phaseflow-orch-');
    const { slug, taskQueue, input } = start(ws, { until: 'plan', simulate: { heavyPhase: true } });
    const client = await testClient();
    let question = '';
    const outcome = await withWorker(taskQueue, async () => {
      const handle = await client.workflow.start(orchestrateWorkflow, {
        taskQueue,
        workflowId: `orchestrate/${slug}`,
        args: [input],
      });
      question = await answerApproval(handle, 'approve');
      return (await handle.result()) as OrchestrateOutcome;
    });
    assert.equal(outcome.status, 'planned');
    const analysis = outcome.stages.find((s) => s.stage === 'analysis')!;
    assert.match(analysis.note ?? '', /expand recommended for phases 4; expand applied/);
    assert.ok(analysis.items.some((i) => /phase 4 Polish everything: complexity 10\/10/.test(i.summary)));
    const stem = path.basename(outcome.planPath!, '.md');
    assert.equal(outcome.planPath, `specs/plans/${stem}/${stem}.md`);
    const files = readdirSync(path.join(ws, `specs/plans/${stem}`));
    assert.ok(
      files.some((f) => /^phase_4_.*\.md$/.test(f)),
      files.join(', '),
    );
    assert.match(question, new RegExp(`specs/plans/${stem}/${stem}\\.md`));
  });

  it('until plan stops after the approved plan; until phase:1 runs only the first phase', async () => {
    const client = await testClient();
    for (const until of ['plan', 'phase:1'] as const) {
      const ws = tempWorkspace('phaseflow-orch-');
      const { slug, taskQueue, input } = start(ws, { until, simulate: {} });
      const outcome = await withWorker(taskQueue, async () => {
        const handle = await client.workflow.start(orchestrateWorkflow, {
          taskQueue,
          workflowId: `orchestrate/${slug}`,
          args: [input],
        });
        await answerApproval(handle, 'approve');
        return (await handle.result()) as OrchestrateOutcome;
      });
      if (until === 'plan') {
        assert.equal(outcome.status, 'planned');
        assert.ok(existsSync(path.join(ws, outcome.planPath!)));
        await assert.rejects(client.workflow.getHandle(`epic/${slug}`).describe(), WorkflowNotFoundError);
      } else {
        assert.equal(outcome.status, 'stopped');
        const progress = JSON.parse(readFileSync(path.join(ws, `.claude/phase-plans/${slug}/PROGRESS.json`), 'utf8'));
        assert.deepEqual(
          progress.phases.map((p: any) => [p.slug, p.status]),
          [['decisions', 'completed']],
        );
      }
    }
  });
});
