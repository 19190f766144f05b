/**
 * People in the loop, on a real server: a failed phase waits for retry / skip / abort, a question
 * nobody answers takes its default, approval holds the next phase, a spent budget holds new agent
 * tasks until a raise, pause holds new tasks, cancel stops running ones, and continue-as-new keeps
 * the results. Every decision and who took it lands in PROGRESS.json and in history.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import type { DecisionAnswer, DecisionRecord, PendingDecision } from '../../src/domain/decisions';
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
  taskIdOf,
  tempWorkspace,
  testClient,
  uniqueName,
  waitFor,
  withWorker,
} from '../support/worker-harness';

const R = 'delivery';
const P = 'core';
/** People answer within minutes in these tests; the default only fires where a test wants it. */
const PATIENT = { ...FAST_SETTINGS, decisionTimeoutSeconds: 600 };

function onePlanEpic(slug: string, workspace: string, phases: object[], extra: Record<string, unknown> = {}) {
  return epicSpec({
    slug,
    title: `Epic ${slug}`,
    workspace,
    settings: PATIENT,
    roadmaps: [{ slug: R, title: 'Delivery', plans: [{ slug: P, title: 'Core plan', phases: phases as any }] }],
    ...extra,
  });
}

function setup(prefix: string) {
  return { slug: uniqueName(prefix), taskQueue: uniqueName(`tq-${prefix}`), ws: tempWorkspace() };
}

async function pendingAt(handle: WorkflowHandle): Promise<PendingDecision | undefined> {
  return (await handle.query(pendingQuery))[0];
}

/** Waits for a question of `kind` at or below `handle` (a new one: not `after`). */
async function waitForQuestion(
  handle: WorkflowHandle,
  kind: PendingDecision['kind'],
  after?: PendingDecision,
): Promise<PendingDecision> {
  return waitFor(
    `a pending ${kind} decision`,
    async () => {
      const p = await pendingAt(handle);
      return p?.kind === kind && p.id !== after?.id ? p : undefined;
    },
    30_000,
  );
}

/** The reason an update was refused (the validator's message). */
const refused = (pattern: RegExp) => (err: any) => pattern.test(String(err?.cause?.message ?? err?.message));

async function answer(p: PendingDecision, a: DecisionAnswer): Promise<DecisionRecord> {
  const client = await testClient();
  return client.workflow
    .getHandle(p.workflowId)
    .executeUpdate(decideUpdate, { args: [{ decisionId: p.id, by: 'tester', ...a }] });
}

async function listIds(query: string): Promise<string[]> {
  const client = await testClient();
  const out: string[] = [];
  for await (const w of client.workflow.list({ query })) out.push(w.workflowId);
  return out.sort();
}

const progressOf = (ws: string) => readJson(mirrorFile.progress(ws, P));

async function runsOf(slug: string, phase: string) {
  return (await activityRuns(ids.phase(slug, R, P, phase))).filter(
    (r) => r.type === 'runAgentTask' || r.type === 'runCommandTask',
  );
}

describe('people in the loop (real server)', function () {
  this.timeout(120_000);

  it('retry after a failed phase re-runs only the failed tasks, then goes on; the decision is in the mirrors and history', async () => {
    const { slug, taskQueue, ws } = setup('retry');
    // 1.2 fails its only attempt of the first round (attempts: 1), and passes in the second round.
    const spec = onePlanEpic(slug, ws, [
      {
        slug: 'build',
        title: 'Build',
        tasks: [
          agentTask('1.1', 50),
          agentTask('1.2', 50, { settings: { attempts: 1 }, dryRun: { durationMs: 50, failAttempts: 1 } }),
          agentTask('1.3', 50),
        ],
      },
      { slug: 'ship', title: 'Ship', tasks: [agentTask('2.1', 50)] },
    ]);
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      const q = await waitForQuestion(handle, 'escalation');
      assert.equal(q.cause, 'task-failed');
      assert.deepEqual(q.failedTasks, ['1.2']);
      assert.equal(q.workflowId, ids.phase(slug, R, P, 'build'));
      assert.deepEqual(q.actions, ['retry', 'retry-phase', 'skip', 'abort']);

      // Every level above shows it: search attribute "waiting", status query, mirrors.
      const waiting = await waitFor('waiting workflows listed', async () => {
        const found = await listIds(`PhaseflowEpic="${slug}" AND PhaseflowStatus="waiting"`);
        return found.length === 4 ? found : undefined;
      });
      assert.deepEqual(
        waiting,
        [ids.epic(slug), ids.roadmap(slug, R), ids.plan(slug, R, P), ids.phase(slug, R, P, 'build')].sort(),
      );
      const status = await handle.query(statusQuery);
      assert.equal(status.status, 'waiting');
      assert.equal(status.pending?.[0]?.id, q.id);
      await waitFor(
        'EPIC.json shows the question',
        () => readJson(mirrorFile.epic(ws, slug)).waiting_for?.[0]?.id === q.id,
      );

      // A wrong answer is refused and changes nothing.
      await assert.rejects(answer(q, { action: 'approve' }), refused(/does not answer an? escalation/));
      const record = await answer(q, { action: 'retry', note: 'flaky fixture' });
      assert.equal(record.source, 'person');
      assert.equal(record.by, 'tester');
      await handle.result();
    });

    const build = await runsOf(slug, 'build');
    const count = (id: string) => build.filter((r) => taskIdOf(r) === id).length;
    assert.deepEqual([count('1.1'), count('1.2'), count('1.3')], [1, 2, 1], 'only the failed task runs again');
    assert.equal(
      build.find((r) => taskIdOf(r) === '1.2' && r.outcome === 'completed')?.input.attempt,
      2,
      'attempts are numbered on',
    );
    const progress = progressOf(ws);
    assert.deepEqual(ccaspProblems('progress', progress), []);
    assert.equal(progress.status, 'completed');
    assert.deepEqual(
      progress.decisions.map((d: DecisionRecord) => [d.kind, d.action, d.source, d.by, d.note]),
      [['escalation', 'retry', 'person', 'tester', 'flaky fixture']],
    );
    const events = await fetchEvents(ids.phase(slug, R, P, 'build'));
    assert.ok(
      events.some((e) => eventTypeName(e).includes('UPDATE_ACCEPTED')),
      'the answer is in the phase history',
    );
  });

  it('skip marks the phase skipped and goes on; abort stops the epic and says who aborted', async () => {
    const { slug, taskQueue, ws } = setup('skip');
    const failing = agentTask('1.1', 30, { settings: { attempts: 1 }, dryRun: { durationMs: 30, outcome: 'failure' } });
    const spec = onePlanEpic(slug, ws, [
      { slug: 'lint', title: 'Lint', tasks: [failing] },
      {
        slug: 'build',
        title: 'Build',
        tasks: [agentTask('2.1', 30, { settings: { attempts: 1 }, dryRun: { durationMs: 30, outcome: 'failure' } })],
      },
      { slug: 'ship', title: 'Ship', tasks: [agentTask('3.1', 30)] },
    ]);
    let failure = '';
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      const first = await waitForQuestion(handle, 'escalation');
      await answer(first, { action: 'skip', note: 'lint is advisory' });
      const second = await waitForQuestion(handle, 'escalation', first);
      assert.equal(second.phaseSlug, 'build');
      await answer(second, { action: 'abort' });
      failure = await handle.result().then(
        () => 'completed',
        (err) => (err instanceof WorkflowFailedError ? String(err.cause?.message) : String(err)),
      );
    });
    assert.match(failure, /phase 2 \(build\) failed: .*aborted by tester/);
    const progress = progressOf(ws);
    assert.deepEqual(ccaspProblems('progress', progress), []);
    const [lint, build, ship] = progress.phases;
    assert.equal(lint.skipped, true);
    assert.equal(lint.phaseflow_status, 'skipped');
    assert.equal(build.status, 'failed');
    assert.equal(ship.status, 'pending', 'nothing after an abort starts');
    assert.deepEqual(
      progress.decisions.map((d: DecisionRecord) => [d.phaseSlug, d.action, d.source]),
      [
        ['lint', 'skip', 'person'],
        ['build', 'abort', 'person'],
      ],
    );
  });

  it("a blocked task (the agent needs a person) escalates at once with the blocker's text, without using more attempts", async () => {
    const { slug, taskQueue, ws } = setup('blocked');
    const blocker = 'Which database should the ledger use: Postgres or SQLite?';
    const spec = onePlanEpic(slug, ws, [
      {
        slug: 'design',
        title: 'Design',
        tasks: [
          agentTask('1.1', 20, { dryRun: { durationMs: 20, outcome: 'blocked', summary: blocker } }),
          agentTask('1.2', 20),
        ],
      },
    ]);
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      const q = await waitForQuestion(handle, 'escalation');
      assert.equal(q.cause, 'blocked');
      assert.deepEqual(q.failedTasks, ['1.1']);
      assert.ok(q.detail.includes(blocker), q.detail);
      await answer(q, { action: 'skip', note: 'decided offline: Postgres' });
      await handle.result();
    });
    const runs = await runsOf(slug, 'design');
    assert.equal(runs.filter((r) => taskIdOf(r) === '1.1').length, 1, 'a blocked task is not retried by the ladder');
    const task = progressOf(ws).phases[0].tasks[0];
    assert.equal(task.status, 'blocked');
    assert.ok(task.error.includes(blocker));
  });

  it('a question nobody answers takes its default when the limit passes (escalationDefault: skip)', async () => {
    const { slug, taskQueue, ws } = setup('default');
    const spec = epicSpec({
      slug,
      title: 'Defaults',
      workspace: ws,
      settings: { ...FAST_SETTINGS, decisionTimeoutSeconds: 2, reminderBeforeSeconds: 1, escalationDefault: 'skip' },
      roadmaps: [
        {
          slug: R,
          title: 'Delivery',
          plans: [
            {
              slug: P,
              title: 'Core',
              phases: [
                {
                  slug: 'a',
                  title: 'A',
                  tasks: [
                    agentTask('1.1', 20, { settings: { attempts: 1 }, dryRun: { durationMs: 20, outcome: 'failure' } }),
                  ],
                },
                { slug: 'b', title: 'B', tasks: [agentTask('2.1', 20)] },
              ],
            },
          ],
        },
      ],
    });
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      const q = await waitForQuestion(handle, 'escalation');
      assert.equal(q.defaultAction, 'skip');
      assert.equal(Date.parse(q.defaultAt) - Date.parse(q.askedAt), 2000);
      await handle.result();
    });
    const progress = progressOf(ws);
    assert.equal(progress.status, 'completed');
    assert.deepEqual(
      progress.decisions.map((d: DecisionRecord) => [d.action, d.source]),
      [['skip', 'default']],
    );
    // The reminder and the default are timers in the phase's history: one until the reminder (1 s),
    // then one for what is left until the limit (none if a slow machine reached it already).
    const timers = (await fetchEvents(ids.phase(slug, R, P, 'a'))).filter(
      (e) => eventTypeName(e) === 'EVENT_TYPE_TIMER_STARTED',
    );
    const ms = timers.map((e) =>
      tsToMs(e.timerStartedEventAttributes!.startToFireTimeout as Parameters<typeof tsToMs>[0]),
    );
    assert.equal(ms[0], 1000, `timers: ${ms.join(', ')}`);
    assert.ok(ms.length <= 2 && ms.slice(1).every((m) => m <= 1000), `timers: ${ms.join(', ')}`);
  });

  it('approval holds the next phase until approved; reject stops the plan with the note', async () => {
    const { slug, taskQueue, ws } = setup('approve');
    const spec = onePlanEpic(
      slug,
      ws,
      [
        { slug: 'design', title: 'Design', tasks: [agentTask('1.1', 20)], gate: { commands: ['true'] } },
        { slug: 'build', title: 'Build', tasks: [agentTask('2.1', 20)] },
        { slug: 'ship', title: 'Ship', tasks: [agentTask('3.1', 20)] },
      ],
      { gating: { require_tests: false, require_phase_approval: true } },
    );
    let failure = '';
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      const q = await waitForQuestion(handle, 'approval');
      assert.equal(q.phaseSlug, 'design');
      assert.match(
        q.question,
        /^Phase 1 \(design\) of plan core passed its gate\. Approve, so the next phase starts\?$/,
      );
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await runsOf(slug, 'design')).length, 1);
      const client = await testClient();
      await assert.rejects(
        client.workflow.getHandle(ids.phase(slug, R, P, 'build')).describe(),
        /not found/i,
        'phase 2 must not start before approval',
      );
      await answer(q, { action: 'approve' });
      const second = await waitForQuestion(handle, 'approval', q);
      assert.equal(second.phaseSlug, 'build');
      await answer(second, { action: 'reject', note: 'API shape is wrong' });
      failure = await handle.result().then(
        () => 'completed',
        (err) => String(err.cause?.message),
      );
    });
    assert.match(failure, /rejected by tester: API shape is wrong/);
    const progress = progressOf(ws);
    assert.deepEqual(
      progress.phases.map((p: any) => p.status),
      ['completed', 'failed', 'pending'],
    );
    assert.deepEqual(
      progress.decisions.map((d: DecisionRecord) => [d.kind, d.action]),
      [
        ['approval', 'approve'],
        ['approval', 'reject'],
      ],
    );
  });

  it('a spent budget holds the next agent task and asks; a raise lets the run go on, and EPIC.json shows the new limit', async () => {
    const { slug, taskQueue, ws } = setup('budget');
    // A dry-run agent task reports 1,200-5,800 tokens: after the first one, the budget of 1,000 is spent.
    const spec = onePlanEpic(
      slug,
      ws,
      [
        {
          slug: 'build',
          title: 'Build',
          settings: { maxParallel: 1 },
          tasks: [agentTask('1.1', 20), agentTask('1.2', 20), agentTask('1.3', 20)],
        },
      ],
      {
        budget: { tokens: 1000 },
      },
    );
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      const q = await waitForQuestion(handle, 'budget');
      assert.equal(q.budgetLevel, 'epic');
      assert.deepEqual(q.actions, ['raise', 'abort']);
      assert.equal((await runsOf(slug, 'build')).length, 1, 'no agent task starts once the budget is spent');
      // The detail says what is spent and by how much it is over, in plain numbers (no USD limit: no "$").
      const spent = Number(
        /^limit 1,000 tokens; spent ([\d,]+) tokens \(over by ([\d,]+) tokens\)$/.exec(q.detail)?.[1].replace(/,/g, ''),
      );
      assert.ok(spent > 1000, q.detail);
      assert.ok(q.detail.includes(`over by ${(spent - 1000).toLocaleString('en-US')} tokens`), q.detail);

      // Raises that would leave the budget spent, or that are about another budget, are refused and change nothing.
      await assert.rejects(answer(q, { action: 'raise' }), refused(/raise needs tokens/));
      await assert.rejects(
        answer(q, { action: 'raise', tokens: 1000 }),
        refused(
          new RegExp(
            `1,000 tokens is not above the ${spent.toLocaleString('en-US')} already spent on the epic budget of ${slug}`,
          ),
        ),
      );
      await assert.rejects(
        answer(q, { action: 'raise', tokens: spent }),
        refused(/is not above the .* already spent/),
        'a raise to exactly what is spent leaves nothing',
      );
      await assert.rejects(
        answer(q, { action: 'raise', tokens: 1_000_000, level: 'roadmap' }),
        refused(/about the epic budget, not the roadmap budget/),
      );
      await assert.rejects(
        answer(q, { action: 'raise', usd: 5 }),
        refused(/token limit on the epic budget .* is spent too/),
      );
      await assert.rejects(
        answer(q, { action: 'raise', tokens: 2.5 } as DecisionAnswer),
        refused(/tokens must be a positive integer/),
      );
      await assert.rejects(
        answer(q, { action: 'raise', tokens: 1_000_000, extra: 1 } as DecisionAnswer),
        refused(/unknown field "extra"/),
      );
      assert.equal((await pendingAt(handle))?.id, q.id, 'the refused answers left the question open');

      const record = await answer(q, { action: 'raise', tokens: 1_000_000, level: 'epic' });
      assert.deepEqual(record.newLimit, { level: 'epic', tokens: 1_000_000 });
      await handle.result();
    });
    assert.equal((await runsOf(slug, 'build')).length, 3);
    const epic = readJson(mirrorFile.epic(ws, slug));
    assert.equal(epic.token_budget.tokens, 1_000_000);
    assert.deepEqual(ccaspProblems('epic', epic), []);
    const progress = progressOf(ws);
    assert.deepEqual(ccaspProblems('progress', progress), []);
    // The record says what the raise set; state.json follows the live limit, not the spec's.
    assert.deepEqual(
      progress.decisions.map((d: DecisionRecord) => [d.kind, d.action, d.by, d.newLimit]),
      [['budget', 'raise', 'tester', { level: 'epic', tokens: 1_000_000 }]],
    );
    const state = readJson(mirrorFile.state(ws));
    assert.equal(state.tokenBudget.limit, 1_000_000);
    assert.deepEqual(ccaspProblems('state', state), []);
    const events = await fetchEvents(ids.phase(slug, R, P, 'build'));
    assert.equal(
      events.filter((e) => eventTypeName(e) === 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED').length,
      1,
      'refused answers leave no trace in history',
    );
  });

  it('a budget abort keeps the note; USD amounts read as dollars (2 decimals, 4 under a cent), never "$-0.01"', async () => {
    const { slug, taskQueue, ws } = setup('budget-abort');
    const spec = onePlanEpic(
      slug,
      ws,
      [
        {
          slug: 'build',
          title: 'Build',
          settings: { maxParallel: 1 },
          tasks: [agentTask('1.1', 20), agentTask('1.2', 20)],
        },
      ],
      {
        budget: { tokens: 1_000_000, usd: 0.0001 },
      },
    );
    let failure = '';
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      const q = await waitForQuestion(handle, 'budget');
      assert.match(
        q.detail,
        /^limit 1,000,000 tokens \/ \$0\.0001; spent [\d,]+ tokens \/ \$\d+\.\d{2,4} \([\d,]+ tokens left, over by \$\d+\.\d{2,4}\)$/,
      );
      const spentUsd = Number(/ \/ \$(\d+\.\d+) \(/.exec(q.detail)![1]);
      await assert.rejects(
        answer(q, { action: 'raise', usd: spentUsd / 2 }),
        refused(/is not above the \$[\d.]+ already spent on the epic budget/),
      );
      await answer(q, { action: 'abort', note: 'too pricey' });
      failure = await handle.result().then(
        () => 'completed',
        (err) => String(err.cause?.message),
      );
    });
    assert.match(failure, /the epic budget of \S+ was spent; aborted by tester \(too pricey\)/);
  });

  it('the approval question after the last phase of a plan does not speak of a next phase', async () => {
    const { slug, taskQueue, ws } = setup('approve-last');
    const spec = onePlanEpic(slug, ws, [{ slug: 'only', title: 'Only', tasks: [agentTask('1.1', 20)] }], {
      gating: { require_tests: false, require_phase_approval: true },
    });
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      const q = await waitForQuestion(handle, 'approval');
      assert.equal(
        q.question,
        `Phase 1 (only) of plan ${P} passed. It is the last phase of the plan: approve, so the plan completes?`,
      );
      await answer(q, { action: 'approve' });
      await handle.result();
    });
  });

  it('pause holds new tasks (running ones finish); resume lets them start', async () => {
    const { slug, taskQueue, ws } = setup('pause');
    const spec = onePlanEpic(slug, ws, [
      {
        slug: 'build',
        title: 'Build',
        settings: { maxParallel: 1 },
        tasks: [agentTask('1.1', 1500), agentTask('1.2', 20), agentTask('1.3', 20)],
      },
    ]);
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      await waitFor('task 1.1 running', async () => (await runsOf(slug, 'build')).length === 1, 20_000, 50);
      await handle.signal(controlSignal, { paused: true, by: 'tester' });
      await waitFor(
        '1.1 done',
        async () => (await runsOf(slug, 'build')).some((r) => r.outcome === 'completed'),
        20_000,
      );
      await waitFor('the phase shows paused', async () =>
        (await listIds(`PhaseflowEpic="${slug}" AND PhaseflowStatus="paused"`)).includes(
          ids.phase(slug, R, P, 'build'),
        ),
      );
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await runsOf(slug, 'build')).length, 1, 'no task starts while paused');
      assert.equal(progressOf(ws).status, 'paused', 'PROGRESS.json says paused, as ROADMAP.json does');
      await handle.signal(controlSignal, { paused: false, by: 'tester' });
      await handle.result();
    });
    assert.equal((await runsOf(slug, 'build')).length, 3);
  });

  it('cancel stops running tasks within seconds and every mirror says cancelled', async () => {
    const { slug, taskQueue, ws } = setup('cancel');
    const spec = onePlanEpic(slug, ws, [
      {
        slug: 'build',
        title: 'Build',
        settings: { timeoutBaseSeconds: 300, heartbeatSeconds: 2 },
        tasks: [
          agentTask('1.1', 60_000),
          { id: '1.2', description: 'sleep', kind: 'command', command: 'sleep 60 && touch finished' },
        ],
      },
    ]);
    let stoppedMs = 0;
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      // (ActivityTaskStarted is written to history only when an attempt ends: ask the server.)
      const phase = (await testClient()).workflow.getHandle(ids.phase(slug, R, P, 'build'));
      await waitFor(
        'both tasks running',
        async () =>
          (await phase.describe().catch(() => undefined))?.raw.pendingActivities?.filter((a) => a.state === 2)
            .length === 2,
        20_000,
        50,
      );
      await new Promise((r) => setTimeout(r, 500));
      const t0 = Date.now();
      await handle.cancel();
      await handle.result().catch(() => undefined);
      stoppedMs = Date.now() - t0;
      const d = await handle.describe();
      assert.equal(d.status.name, 'CANCELLED');
    });
    console.log(`      cancel → epic closed, agents and commands stopped: ${stoppedMs} ms`);
    assert.ok(stoppedMs < 8000, `cancelled in ${stoppedMs} ms`);
    const runs = await runsOf(slug, 'build');
    assert.deepEqual(
      runs.map((r) => r.outcome),
      ['cancelled', 'cancelled'],
      'the activities acknowledged the cancellation',
    );
    assert.equal(fs.existsSync(path.join(ws, 'finished')), false);
    const progress = progressOf(ws);
    assert.equal(progress.phaseflow.status, 'cancelled');
    assert.deepEqual(
      progress.phases[0].tasks.map((t: any) => t.status),
      ['cancelled', 'cancelled'],
    );
    assert.equal(readJson(mirrorFile.epic(ws, slug)).status, 'cancelled');
    assert.equal(readJson(mirrorFile.roadmap(ws, R)).phaseflow.status, 'cancelled');
    for (const kind of ['epic', 'progress'] as const)
      assert.deepEqual(ccaspProblems(kind, kind === 'epic' ? readJson(mirrorFile.epic(ws, slug)) : progress), []);
  });

  it('continues as new mid-epic at every level and ends with the same results', async () => {
    const { slug, taskQueue, ws } = setup('can');
    const phase = (n: number) => ({
      slug: `p${n}`,
      title: `P${n}`,
      tasks: Array.from({ length: 8 }, (_, i) => agentTask(`${n}.${i + 1}`, 10)),
    });
    const spec = epicSpec({
      slug,
      title: 'Long',
      workspace: ws,
      settings: { ...FAST_SETTINGS, maxParallel: 2, historyEventsLimit: 30 },
      roadmaps: ['r1', 'r2', 'r3'].map((r) => ({
        slug: r,
        title: r,
        plans: ['a', 'b'].map((p) => ({ slug: `${r}-${p}`, title: p, phases: [phase(1), phase(2), phase(3)] })),
      })),
    });
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      const result: any = await handle.result();
      assert.equal(result.tasksCompleted, 3 * 2 * 3 * 8);
      assert.equal(result.status, 'completed');
    });
    const client = await testClient();
    for (const id of [ids.epic(slug), `epic/${slug}/r1`, `epic/${slug}/r1/r1-a`, `epic/${slug}/r1/r1-a/p1`]) {
      const runs: string[] = [];
      for await (const w of client.workflow.list({ query: `WorkflowId="${id}"` })) runs.push(w.status.name);
      assert.ok(runs.includes('CONTINUED_AS_NEW'), `${id} continued as new (runs: ${runs.join(', ')})`);
      assert.ok(runs.includes('COMPLETED'), `${id} completed`);
    }
    const epic = readJson(mirrorFile.epic(ws, slug));
    assert.equal(epic.completion_percentage, 100);
    assert.deepEqual(ccaspProblems('epic', epic), []);
    for (const r of ['r1', 'r2', 'r3'])
      for (const p of ['a', 'b']) {
        const progress = readJson(mirrorFile.progress(ws, `${r}-${p}`));
        assert.equal(progress.status, 'completed');
        assert.ok(
          progress.phases.every((ph: any) => ph.tasks.every((t: any) => t.status === 'completed' && t.attempts === 1)),
        );
      }
  });
});
