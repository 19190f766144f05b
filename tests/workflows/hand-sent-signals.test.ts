/**
 * Anyone can send a signal with `temporal workflow signal`, and a signal cannot be refused. On a
 * real server: malformed `control` signals (the walkthrough's `{"budget":{"level":"epic",
 * "tokens":"lots"}}` among them) and junk on the signals the workflows send each other are
 * ignored, so the epic keeps answering `status`, a good signal afterwards works, and the run still
 * completes or cancels. A mirror write the activity refuses for good (a file someone broke by hand)
 * is logged and superseded by the next write instead of failing every workflow task from then on.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import type { WorkflowHandle } from '@temporalio/client';
import type { ControlMessage, PendingDecision } from '../../src/domain/decisions';
import { controlSignal, decideUpdate, pendingQuery, statusQuery } from '../../src/workflows/messages';
import { ccaspProblems } from '../support/ccasp';
import {
  activityRuns,
  agentTask,
  epicSpec,
  eventTypeName,
  FAST_SETTINGS,
  fetchEvents,
  ids,
  mirrorFile,
  readJson,
  startEpic,
  tempWorkspace,
  testClient,
  uniqueName,
  waitFor,
  withWorker,
} from '../support/worker-harness';

const R = 'rm';
const P = 'plan';

function setup(prefix: string, phases: object[], extra: Record<string, unknown> = {}) {
  const slug = uniqueName(prefix);
  const ws = tempWorkspace();
  const spec = epicSpec({
    slug,
    title: `Signals ${prefix}`,
    workspace: ws,
    settings: { ...FAST_SETTINGS, decisionTimeoutSeconds: 600 },
    roadmaps: [{ slug: R, title: 'Roadmap', plans: [{ slug: P, title: 'Plan', phases }] }],
    ...extra,
  });
  return { slug, ws, spec, taskQueue: uniqueName(`tq-${prefix}`) };
}

/** Every workflow of the run: none may have a failed workflow task. */
function workflowIdsOf(slug: string, phases: string[]): string[] {
  return [ids.epic(slug), ids.roadmap(slug, R), ids.plan(slug, R, P), ...phases.map((p) => ids.phase(slug, R, P, p))];
}

async function failedWorkflowTasks(workflowIds: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const id of workflowIds) {
    const failed = (await fetchEvents(id)).filter((e) => eventTypeName(e) === 'EVENT_TYPE_WORKFLOW_TASK_FAILED');
    if (failed.length)
      out.push(
        `${id}: ${failed.length} failed workflow task(s): ${failed[0].workflowTaskFailedEventAttributes?.failure?.message}`,
      );
  }
  return out;
}

/** Sends a payload as a person would with `temporal workflow signal` (no type checks on the way). */
async function sendRaw(workflowId: string, signal: string, payload: unknown): Promise<void> {
  const client = await testClient();
  await client.workflow.getHandle(workflowId).signal(signal, payload as never);
}

describe('hand-sent signals and refused mirror writes (real server)', function () {
  this.timeout(120_000);

  it('malformed control signals are ignored: status still answers, a good signal works, cancel ends the run', async () => {
    const e = setup(
      'bad-control',
      [
        {
          slug: 'build',
          title: 'Build',
          settings: { maxParallel: 1, timeoutBaseSeconds: 300 },
          tasks: [agentTask('1.1', 60_000)],
        },
      ],
      {
        budget: { tokens: 10_000_000 },
      },
    );
    const workflows = workflowIdsOf(e.slug, ['build']);
    const bad: unknown[] = [
      { budget: { level: 'epic', tokens: 'lots' } }, // the walkthrough's signal
      { budget: { level: 'epik', tokens: 5000 } },
      { budget: { level: 'epic', tokens: -5 } },
      { budget: { level: 'epic', usd: Number.MAX_VALUE * 10 } }, // Infinity → null in JSON
      { budget: { level: 'epic' } },
      { paused: 'yes' },
      { paused: true, colour: 'blue' },
      { by: 'nobody' },
      'pause',
      null,
      [1, 2],
    ];
    await withWorker(e.taskQueue, async () => {
      const handle: WorkflowHandle = await startEpic(e.taskQueue, e.spec);
      const client = await testClient();
      const phase = client.workflow.getHandle(ids.phase(e.slug, R, P, 'build'));
      await waitFor(
        'the phase runs its task',
        async () => (await phase.describe().catch(() => undefined))?.raw.pendingActivities?.some((a) => a.state === 2),
        20_000,
        100,
      );
      const before = readJson(mirrorFile.epic(e.ws, e.slug)).phaseflow.revision;
      // Straight to every level: the epic passes its signals down, but a person may aim at any of them.
      for (const id of workflows)
        for (const msg of bad) await client.workflow.getHandle(id).signal(controlSignal, msg as ControlMessage);

      // Every level still answers its queries, and nothing changed: no pause, the limit as in the spec.
      for (const id of workflows) {
        const status = await client.workflow.getHandle(id).query(statusQuery);
        assert.equal(status.status, 'active', `${id} is still active`);
        assert.equal(
          status.paused,
          false,
          `${id} was not paused by {"paused":"yes"} or a message with an unknown field`,
        );
      }
      assert.equal((await handle.query(statusQuery)).budget?.limit.tokens, 10_000_000);
      assert.deepEqual(await failedWorkflowTasks(workflows), []);
      assert.equal(readJson(mirrorFile.epic(e.ws, e.slug)).token_budget.tokens, 10_000_000);

      // A good signal afterwards works, and reaches the mirror.
      await handle.signal(controlSignal, { budget: { level: 'epic', tokens: 20_000_000 }, by: 'tester' });
      await waitFor(
        'EPIC.json shows the new limit',
        () => readJson(mirrorFile.epic(e.ws, e.slug)).token_budget.tokens === 20_000_000,
        10_000,
        100,
      );
      assert.ok(readJson(mirrorFile.epic(e.ws, e.slug)).phaseflow.revision > before);
      await handle.signal(controlSignal, { paused: true, by: 'tester' });
      await waitFor(
        'the phase shows paused',
        async () => (await phase.query(statusQuery)).paused === true,
        10_000,
        100,
      );

      const t0 = Date.now();
      await handle.cancel();
      await handle.result().catch(() => undefined);
      assert.equal((await handle.describe()).status.name, 'CANCELLED');
      assert.ok(Date.now() - t0 < 10_000, `cancelled in ${Date.now() - t0} ms`);
    });
    assert.deepEqual(await failedWorkflowTasks(workflows), []);
    const epicDoc = readJson(mirrorFile.epic(e.ws, e.slug));
    assert.equal(epicDoc.status, 'cancelled');
    assert.deepEqual(ccaspProblems('epic', epicDoc), []);
  });

  it('junk on the signals between workflows (taskUpdates, phaseDecision, childProgress) is ignored; the run completes with valid mirrors', async () => {
    const e = setup(
      'bad-internal',
      [
        { slug: 'one', title: 'One', tasks: [agentTask('1.1', 20)] },
        { slug: 'two', title: 'Two', tasks: [agentTask('2.1', 20), agentTask('2.2', 20)] },
      ],
      { gating: { require_tests: false, require_phase_approval: true } },
    );
    const workflows = workflowIdsOf(e.slug, ['one', 'two']);
    await withWorker(e.taskQueue, async () => {
      const handle = await startEpic(e.taskQueue, e.spec);
      // The first phase waits for approval: the plan, roadmap and epic are all running.
      const q = await waitFor(
        'the approval question',
        async () => (await handle.query(pendingQuery))[0] as PendingDecision | undefined,
        30_000,
      );
      const plan = ids.plan(e.slug, R, P);
      const at = new Date().toISOString();
      const junk: [string, string, unknown][] = [
        [plan, 'taskUpdates', 'nonsense'],
        [plan, 'taskUpdates', [{ phaseIndex: 1, at, id: '1.1', status: 'exploded', attempts: 1 }]],
        [plan, 'taskUpdates', [{ phaseIndex: 1, at: 'yesterday', id: '1.1', status: 'failed', attempts: 9 }]],
        [
          plan,
          'taskUpdates',
          [{ phaseIndex: 1, at, id: '1.1', status: 'failed', attempts: 9, usage: { inputTokens: 'many' } }],
        ],
        [plan, 'phaseDecision', { phaseIndex: 1 }],
        [plan, 'phaseDecision', { phaseIndex: 1, pending: null, records: [{ id: 'x' }] }],
        [
          plan,
          'phaseDecision',
          { phaseIndex: 1, pending: null, records: [], raisedLimits: { epic: { tokens: 'lots' } } },
        ],
        [ids.roadmap(e.slug, R), 'childProgress', { slug: P, status: 'exploded' }],
        [ids.epic(e.slug), 'childProgress', { slug: R, status: 'completed', tasksTotal: -1 }],
        [ids.epic(e.slug), 'childProgress', 42],
      ];
      for (const [id, signal, payload] of junk) await sendRaw(id, signal, payload);
      for (const id of workflows.slice(0, 3))
        assert.equal(
          (await (await testClient()).workflow.getHandle(id).query(statusQuery)).status,
          'waiting',
          `${id} still waits`,
        );
      assert.deepEqual(await failedWorkflowTasks(workflows.slice(0, 4)), []);
      const progress = readJson(mirrorFile.progress(e.ws, P));
      assert.equal(progress.phases[0].tasks[0].status, 'completed', 'the junk task update changed nothing');
      assert.deepEqual(progress.decisions, []);

      const client = await testClient();
      await client.workflow
        .getHandle(q.workflowId)
        .executeUpdate(decideUpdate, { args: [{ action: 'approve', decisionId: q.id, by: 'tester' }] });
      const second = await waitFor(
        'the second approval',
        async () => (await handle.query(pendingQuery)).find((p) => p.id !== q.id),
        30_000,
      );
      await client.workflow
        .getHandle(second.workflowId)
        .executeUpdate(decideUpdate, { args: [{ action: 'approve', decisionId: second.id, by: 'tester' }] });
      await handle.result();
    });
    assert.deepEqual(await failedWorkflowTasks(workflows), []);
    const progress = readJson(mirrorFile.progress(e.ws, P));
    assert.equal(progress.status, 'completed');
    assert.deepEqual(
      progress.phases.flatMap((p: any) => p.tasks.map((t: any) => [t.id, t.status, t.attempts])),
      [
        ['1.1', 'completed', 1],
        ['2.1', 'completed', 1],
        ['2.2', 'completed', 1],
      ],
    );
    for (const [kind, doc] of [
      ['epic', readJson(mirrorFile.epic(e.ws, e.slug))],
      ['roadmap', readJson(mirrorFile.roadmap(e.ws, R))],
      ['progress', progress],
      ['state', readJson(mirrorFile.state(e.ws))],
    ] as const) {
      assert.deepEqual(ccaspProblems(kind, doc), [], `${kind} mirror`);
    }
    assert.equal(readJson(mirrorFile.epic(e.ws, e.slug)).status, 'completed');
  });

  it('a mirror write refused for good (PROGRESS.json broken by hand) is logged and superseded by the next whole write; the run goes on', async () => {
    const e = setup(
      'bad-mirror',
      [
        { slug: 'one', title: 'One', tasks: [agentTask('1.1', 20)] },
        { slug: 'two', title: 'Two', tasks: [agentTask('2.1', 20)] },
      ],
      { gating: { require_tests: false, require_phase_approval: true } },
    );
    const workflows = workflowIdsOf(e.slug, ['one', 'two']);
    const file = mirrorFile.progress(e.ws, P);
    await withWorker(e.taskQueue, async () => {
      const handle = await startEpic(e.taskQueue, e.spec);
      const q = await waitFor(
        'the approval question',
        async () => (await handle.query(pendingQuery))[0] as PendingDecision | undefined,
        30_000,
      );
      await waitFor('PROGRESS.json shows the question', () => readJson(file).waiting_for?.id === q.id, 10_000, 100);
      // Someone edits the file and breaks a field no later patch touches; revision and owner stay,
      // so the plan's next write is a patch against it, and the result fails validation.
      const doc = readJson(file);
      doc.plan_id = 42;
      fs.writeFileSync(file, JSON.stringify(doc, null, 2));

      const client = await testClient();
      await client.workflow
        .getHandle(q.workflowId)
        .executeUpdate(decideUpdate, { args: [{ action: 'approve', decisionId: q.id, by: 'tester' }] });
      const second = await waitFor(
        'the second approval',
        async () => (await handle.query(pendingQuery)).find((p) => p.id !== q.id),
        30_000,
      );
      // The plan keeps answering while its mirror write was refused.
      assert.equal((await client.workflow.getHandle(ids.plan(e.slug, R, P)).query(statusQuery)).status, 'waiting');
      await client.workflow
        .getHandle(second.workflowId)
        .executeUpdate(decideUpdate, { args: [{ action: 'approve', decisionId: second.id, by: 'tester' }] });
      await handle.result();
    });
    const writes = (await activityRuns(ids.plan(e.slug, R, P))).filter(
      (r) => r.type === 'writeMirror' && r.input.kind === 'progress',
    );
    const refused = writes.filter((w) => w.outcome === 'failed');
    assert.ok(refused.length >= 1, `a write was refused (outcomes: ${writes.map((w) => w.outcome).join(', ')})`);
    assert.match(String(refused[0].failure), /would be invalid: plan_id/);
    const after = writes.slice(writes.indexOf(refused[refused.length - 1]) + 1);
    assert.ok(
      after.some((w) => w.outcome === 'completed' && w.input.doc && !w.input.patch),
      'the next write sent the whole document',
    );
    assert.deepEqual(await failedWorkflowTasks(workflows), []);
    const progress = readJson(file);
    assert.equal(progress.plan_id, P, 'the whole write repaired the file');
    assert.equal(progress.status, 'completed');
    assert.deepEqual(ccaspProblems('progress', progress), []);
  });
});
