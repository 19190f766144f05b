/**
 * The work hierarchy on a real Temporal server (DESIGN.md §1-2): phases strictly in order, tasks in
 * parallel under the cap and in dependency order, failures stopping the plan, the retry ladder,
 * mirror files that CCASP's schemas accept after every write, roll-ups, readable ids and search
 * attributes. Evidence comes from workflow histories (server timestamps) and the mirror files.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { WriteMirrorInput } from '../../src/activities/mirrors';
import type { TaskRunInput } from '../../src/domain/types';
import { ccaspProblems, ccaspValidators, kindOfMirror } from '../support/ccasp';
import {
  activityRuns,
  agentTask,
  epicSpec,
  eventTypeName,
  FAST_SETTINGS,
  fetchEvents,
  ids,
  maxOverlap,
  mirrorFile,
  readJson,
  realActivities,
  startEpic,
  taskIdOf,
  tempWorkspace,
  testClient,
  uniqueName,
  waitFor,
  withWorker,
  workflowExists,
  type ActivityRun,
} from '../support/worker-harness';

const R = 'delivery';
const P = 'core';

/** An epic of one roadmap (`delivery`) with one plan (`core`) holding `phases`. */
function onePlanEpic(slug: string, workspace: string, phases: object[], settings: object = {}) {
  return epicSpec({
    slug,
    title: `Epic ${slug}`,
    workspace,
    settings: { ...FAST_SETTINGS, ...settings },
    roadmaps: [{ slug: R, title: 'Delivery', plans: [{ slug: P, title: 'Core plan', phases: phases as any }] }],
  });
}

function setup(prefix: string) {
  return { slug: uniqueName(prefix), taskQueue: uniqueName(`tq-${prefix}`), ws: tempWorkspace() };
}

/** Waits for a failed epic and returns the innermost failure's message (asserting its shape). */
async function expectEpicFailure(handle: WorkflowHandle): Promise<string> {
  try {
    await handle.result();
  } catch (err) {
    assert.ok(err instanceof WorkflowFailedError, `expected WorkflowFailedError, got ${err}`);
    assert.ok(err.cause instanceof ApplicationFailure, `expected an ApplicationFailure cause, got ${err.cause}`);
    assert.equal(err.cause.type, 'EpicFailed');
    return err.cause.message;
  }
  assert.fail('the epic completed; it should have failed');
}

/** Every mirror file in the workspace validates against CCASP's schema for it. */
function assertMirrorsValid(ws: string): void {
  const problems: string[] = [];
  const walk = (dir: string): string[] =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .flatMap((d) => (d.isDirectory() ? walk(path.join(dir, d.name)) : [path.join(dir, d.name)]));
  const files = walk(path.join(ws, '.claude')).filter((f) =>
    /(EPIC|ROADMAP|PROGRESS)\.json$|orchestrator\/state\.json$/.test(f),
  );
  assert.ok(files.length >= 4, `mirror files: ${files.join(', ')}`);
  for (const f of files)
    for (const p of ccaspProblems(kindOfMirror(f), readJson(f))) problems.push(`${path.relative(ws, f)}: ${p}`);
  assert.deepEqual(problems, []);
}

const tokens = (u: {
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
}) => u.input_tokens + u.output_tokens + u.cache_read_tokens + u.cache_write_tokens;

const byTask = (runs: ActivityRun[], id: string) => runs.filter((r) => taskIdOf(r) === id);
const one = (runs: ActivityRun[], id: string) => {
  const rs = byTask(runs, id);
  assert.equal(rs.length, 1, `task ${id}: expected exactly one activity execution, got ${rs.length}`);
  return rs[0];
};

describe('workflow hierarchy (real server)', function () {
  this.timeout(60_000);

  before(() => {
    // Fail early and clearly if the CCASP schemas are not where the mirror tests read them.
    ccaspValidators();
  });

  it('runs phases strictly one after another: nothing of phase N+1 is scheduled before phase N and its gate completed', async () => {
    const { slug, taskQueue, ws } = setup('order');
    const phases = ['one', 'two', 'three'].map((p, i) => ({
      slug: p,
      title: `Phase ${p}`,
      tasks: [1, 2, 3].map((n) => agentTask(`${i + 1}.${n}`, 300)),
      gate: { commands: [`test -f .claude/cache/agent-outputs/${P}--${i + 1}.3-1.json`] },
    }));
    const spec = onePlanEpic(slug, ws, phases);
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      await handle.result();
    });

    const client = await testClient();
    const perPhase: ActivityRun[][] = [];
    const described = [];
    for (const p of ['one', 'two', 'three']) {
      const id = ids.phase(slug, R, P, p);
      const runs = await activityRuns(id);
      assert.deepEqual(runs.map((r) => r.type).sort(), ['runAgentTask', 'runAgentTask', 'runAgentTask', 'runGate']);
      for (const r of runs) assert.equal(r.outcome, 'completed', `${id}: ${r.type} ${taskIdOf(r) ?? ''} ${r.outcome}`);
      // Within a phase the gate runs after every task completed.
      const gate = runs.find((r) => r.type === 'runGate')!;
      const tasks = runs.filter((r) => r.type !== 'runGate');
      assert.ok(
        gate.scheduledAt >= Math.max(...tasks.map((t) => t.closedAt!)),
        `${id}: gate scheduled before its tasks completed`,
      );
      perPhase.push(runs);
      described.push(await client.workflow.getHandle(id).describe());
    }
    for (let n = 0; n + 1 < perPhase.length; n++) {
      const lastClosed = Math.max(...perPhase[n].map((r) => r.closedAt!));
      const firstScheduled = Math.min(...perPhase[n + 1].map((r) => r.scheduledAt));
      assert.ok(
        firstScheduled >= lastClosed,
        `phase ${n + 2} scheduled an activity at ${new Date(firstScheduled).toISOString()}, before phase ${n + 1}'s last activity completed at ${new Date(lastClosed).toISOString()}`,
      );
      // The phase workflows themselves do not overlap either.
      assert.ok(
        described[n + 1].startTime.getTime() >= described[n].closeTime!.getTime(),
        `phase workflow ${n + 2} started before phase ${n + 1} closed`,
      );
    }

    // The plan's history: each phase child completes before the next is started.
    const planEvents = (await fetchEvents(ids.plan(slug, R, P)))
      .map(eventTypeName)
      .filter((t) => /CHILD_WORKFLOW/.test(t));
    assert.deepEqual(
      planEvents.filter((t) => /INITIATED|COMPLETED|FAILED/.test(t) && !/STARTED$/.test(t)),
      [1, 2, 3].flatMap(() => [
        'EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED',
        'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED',
      ]),
    );
  });

  it('runs the tasks of a phase in parallel, never more than maxParallel at once', async () => {
    const { slug, taskQueue, ws } = setup('cap');
    let inFlight = 0;
    let maxInFlight = 0;
    const runAgentTask = async (input: TaskRunInput) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        return await realActivities.runAgentTask(input);
      } finally {
        inFlight--;
      }
    };
    const spec = onePlanEpic(
      slug,
      ws,
      [{ slug: 'wide', title: 'Wide', tasks: [1, 2, 3, 4, 5, 6].map((n) => agentTask(`t${n}`, 500)) }],
      { maxParallel: 3 },
    );
    await withWorker(taskQueue, async () => (await startEpic(taskQueue, spec)).result(), {
      activities: { runAgentTask },
    });

    const runs = (await activityRuns(ids.phase(slug, R, P, 'wide'))).filter((r) => r.type === 'runAgentTask');
    assert.equal(runs.length, 6);
    for (const r of runs) assert.equal(r.outcome, 'completed');
    const fromHistory = maxOverlap(runs.map((r) => ({ start: r.startedAt!, end: r.closedAt! })));
    assert.equal(fromHistory, 3, `max concurrency from activity started/completed events: ${fromHistory}`);
    assert.equal(maxInFlight, 3, `max in-flight executions counted in the worker: ${maxInFlight}`);
    // Six 500 ms tasks three at a time take about two rounds, not six.
    const span = Math.max(...runs.map((r) => r.closedAt!)) - Math.min(...runs.map((r) => r.startedAt!));
    assert.ok(span < 6 * 500, `six tasks took ${span} ms: they did not run in parallel`);
  });

  it('starts a task only after the tasks it dependsOn completed; a chain runs in sequence', async () => {
    const { slug, taskQueue, ws } = setup('deps');
    const spec = onePlanEpic(
      slug,
      ws,
      [
        {
          slug: 'deps',
          title: 'Dependencies',
          tasks: [
            agentTask('A', 200),
            agentTask('B', 700),
            agentTask('C', 100, { dependsOn: ['A', 'B'] }),
            agentTask('D', 200),
            agentTask('E', 200, { dependsOn: ['D'] }),
            agentTask('F', 200, { dependsOn: ['E'] }),
          ],
        },
      ],
      { maxParallel: 6 },
    );
    await withWorker(taskQueue, async () => (await startEpic(taskQueue, spec)).result());

    const runs = await activityRuns(ids.phase(slug, R, P, 'deps'));
    const [A, B, C, D, E, F] = ['A', 'B', 'C', 'D', 'E', 'F'].map((id) => one(runs, id));
    for (const r of [A, B, C, D, E, F]) assert.equal(r.outcome, 'completed');
    assert.ok(
      C.scheduledAt >= A.closedAt! && C.scheduledAt >= B.closedAt!,
      'C was scheduled before both A and B completed',
    );
    assert.ok(C.scheduledAt - A.closedAt! >= 300, 'C should have waited for the slower B, not only for A');
    assert.ok(E.scheduledAt >= D.closedAt!, 'E was scheduled before D completed');
    assert.ok(F.scheduledAt >= E.closedAt!, 'F was scheduled before E completed');
    // Tasks without dependencies do not wait for each other.
    assert.equal(
      maxOverlap([A, B, D].map((r) => ({ start: r.startedAt!, end: r.closedAt! }))),
      3,
      'A, B and D should run at the same time',
    );

    const progress = readJson(mirrorFile.progress(ws, P));
    assert.deepEqual(progress.phases[0].tasks.find((t: any) => t.id === 'C').depends_on, ['A', 'B']);
  });

  for (const variant of [
    {
      name: 'a dry-run agent reporting failure',
      bad: agentTask('1.2', 100, { dryRun: { outcome: 'failure' }, settings: { attempts: 2 } }),
      attempts: 2,
      error: /agent reported failure/,
    },
    {
      name: 'a command exiting 3',
      bad: {
        id: '1.2',
        description: 'broken build',
        kind: 'command',
        command: 'echo compiling; exit 3',
        settings: { attempts: 1 },
      },
      attempts: 1,
      error: /command failed: exit 3/,
    },
  ]) {
    it(`stops the plan when a task fails (${variant.name}): no later phase starts, everything above fails with the reason`, async () => {
      const { slug, taskQueue, ws } = setup('taskfail');
      const spec = onePlanEpic(slug, ws, [
        {
          slug: 'build',
          title: 'Build',
          tasks: [agentTask('1.1', 100), variant.bad, agentTask('1.3', 100, { dependsOn: ['1.2'] })],
        },
        { slug: 'ship', title: 'Ship', tasks: [agentTask('2.1', 100)], gate: { commands: ['touch shipped'] } },
      ]);
      const message = await withWorker(taskQueue, async () => expectEpicFailure(await startEpic(taskQueue, spec)));
      assert.match(message, /task 1\.2 failed/, `the epic's failure should name the task: ${message}`);
      assert.match(message, /phase 1 \(build\) failed/);

      // Phase 2 never existed: no workflow, no activity, no gate side effect.
      assert.equal(await workflowExists(ids.phase(slug, R, P, 'build')), true);
      assert.equal(await workflowExists(ids.phase(slug, R, P, 'ship')), false, 'the phase-2 workflow must not exist');
      assert.equal(fs.existsSync(path.join(ws, 'shipped')), false);
      const planChildren = (await fetchEvents(ids.plan(slug, R, P))).filter(
        (e) => e.startChildWorkflowExecutionInitiatedEventAttributes,
      );
      assert.deepEqual(
        planChildren.map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes!.workflowId),
        [ids.phase(slug, R, P, 'build')],
      );
      const runs = await activityRuns(ids.phase(slug, R, P, 'build'));
      assert.equal(byTask(runs, '1.2').length, variant.attempts);
      assert.equal(byTask(runs, '1.3').length, 0, 'a task depending on the failed one must not run');

      const progress = readJson(mirrorFile.progress(ws, P));
      assert.equal(progress.status, 'failed');
      assert.match(progress.failure_reason, /task 1\.2/);
      const [build, ship] = progress.phases;
      assert.equal(build.status, 'failed');
      assert.match(build.failure_reason, /task 1\.2 failed after \d attempt/);
      const task = (id: string) => build.tasks.find((t: any) => t.id === id);
      assert.equal(task('1.1').status, 'completed');
      assert.equal(task('1.2').status, 'failed');
      assert.equal(task('1.2').completed, false);
      assert.equal(task('1.2').attempts, variant.attempts);
      assert.match(task('1.2').error, variant.error);
      assert.equal(task('1.3').status, 'not_started');
      assert.equal(ship.status, 'pending');
      assert.ok(ship.tasks.every((t: any) => t.status === 'pending' && t.attempts === 0));

      const epic = readJson(mirrorFile.epic(ws, slug));
      assert.equal(epic.status, 'blocked');
      assert.match(epic.failure_reason, /task 1\.2/);
      const roadmap = readJson(mirrorFile.roadmap(ws, R));
      assert.equal(roadmap.status, 'blocked');
      assert.match(roadmap.failure_reason, /task 1\.2/);
      const state = readJson(mirrorFile.state(ws));
      assert.equal(state.status, 'failed');
      assert.deepEqual(
        state.failedTasks.map((f: any) => f.taskId),
        ['1.2'],
      );
      assertMirrorsValid(ws);
    });
  }

  it('stops the plan when a gate fails, and records the gate evidence in PROGRESS.json', async () => {
    const { slug, taskQueue, ws } = setup('gatefail');
    const spec = onePlanEpic(slug, ws, [
      {
        slug: 'build',
        title: 'Build',
        tasks: [agentTask('1.1', 100), agentTask('1.2', 100)],
        gate: {
          commands: ['true', { run: 'echo "3 tests, 1 failure: parser_test"; exit 1', name: 'unit-tests' }],
          successCriteria: ['tests pass'],
        },
      },
      { slug: 'ship', title: 'Ship', tasks: [agentTask('2.1', 100)] },
    ]);
    const message = await withWorker(taskQueue, async () => expectEpicFailure(await startEpic(taskQueue, spec)));
    assert.match(message, /validation gate failed/);
    assert.match(message, /unit-tests/);
    assert.equal(await workflowExists(ids.phase(slug, R, P, 'ship')), false, 'the phase-2 workflow must not exist');

    const progress = readJson(mirrorFile.progress(ws, P));
    assert.equal(progress.status, 'failed');
    const build = progress.phases[0];
    assert.equal(build.status, 'failed');
    assert.match(build.failure_reason, /validation gate failed/);
    assert.ok(
      build.tasks.every((t: any) => t.status === 'completed'),
      'the tasks themselves completed',
    );
    assert.equal(build.gate.passed, false);
    assert.deepEqual(build.success_criteria, ['tests pass']);
    assert.equal(build.gate.checks.length, 2);
    const [ok, bad] = build.gate.checks;
    assert.equal(ok.exit_code, 0);
    assert.equal(ok.passed, true);
    assert.equal(bad.name, 'unit-tests');
    assert.equal(bad.exit_code, 1);
    assert.equal(bad.passed, false);
    assert.match(bad.output_excerpt, /3 tests, 1 failure: parser_test/);
    assert.ok(fs.existsSync(path.join(ws, bad.log_file)), `gate log ${bad.log_file} exists`);
    assert.equal(progress.phases[1].status, 'pending');
    assert.equal(readJson(mirrorFile.epic(ws, slug)).status, 'blocked');
    assertMirrorsValid(ws);

    // Every level's final status is searchable: the phase, plan, roadmap and epic are "failed".
    const client = await testClient();
    const failed = await waitFor('failed statuses in visibility', async () => {
      const found: string[] = [];
      for await (const wf of client.workflow.list({ query: `PhaseflowEpic="${slug}" AND PhaseflowStatus="failed"` }))
        found.push(wf.workflowId);
      return found.length === 4 ? found.sort() : undefined;
    });
    assert.deepEqual(
      failed,
      [ids.epic(slug), ids.roadmap(slug, R), ids.plan(slug, R, P), ids.phase(slug, R, P, 'build')].sort(),
    );
  });

  it('retries transient failures with the timeout ladder (10 s, 15 s, 22.5 s) and completes on attempt 3', async () => {
    const { slug, taskQueue, ws } = setup('ladder');
    const spec = onePlanEpic(
      slug,
      ws,
      [{ slug: 'flaky', title: 'Flaky', tasks: [agentTask('1.1', 50, { dryRun: { failAttempts: 2 } })] }],
      {
        attempts: 3,
        timeoutFactor: 1.5,
      },
    );
    await withWorker(taskQueue, async () => (await startEpic(taskQueue, spec)).result());

    const runs = byTask(await activityRuns(ids.phase(slug, R, P, 'flaky')), '1.1');
    assert.equal(runs.length, 3);
    assert.deepEqual(
      runs.map((r) => r.outcome),
      ['failed', 'failed', 'completed'],
    );
    assert.deepEqual(
      runs.map((r) => r.startToCloseTimeoutMs),
      [10_000, 15_000, 22_500],
    );
    assert.deepEqual(
      runs.map((r) => r.input.attempt),
      [1, 2, 3],
    );
    assert.equal(runs[0].input.previousFailure, undefined);
    assert.match(runs[1].input.previousFailure, /attempt 1: Transient: simulated transient failure/);
    assert.match(runs[2].input.previousFailure, /attempt 2: /);
    // The backoff between attempts (0.2 s, then 0.3 s) separates them.
    assert.ok(runs[1].scheduledAt - runs[0].closedAt! >= 180, 'backoff before attempt 2');
    assert.ok(runs[2].scheduledAt - runs[1].closedAt! >= 280, 'backoff before attempt 3');
    for (const r of runs) assert.equal(r.heartbeatTimeoutMs, FAST_SETTINGS.heartbeatSeconds * 1000);

    const task = readJson(mirrorFile.progress(ws, P)).phases[0].tasks[0];
    assert.equal(task.status, 'completed');
    assert.equal(task.attempts, 3);
  });

  it('keeps a command task alive with heartbeats shorter than heartbeatSeconds (3 s command, heartbeatSeconds 2)', async () => {
    // DESIGN §2: long activities heartbeat. A task that is working must not be timed out for
    // missing heartbeats, whatever heartbeatSeconds the spec sets.
    const { slug, taskQueue, ws } = setup('beat');
    const spec = onePlanEpic(
      slug,
      ws,
      [
        {
          slug: 'slow',
          title: 'Slow',
          tasks: [{ id: 'slow', description: 'a slow command', kind: 'command', command: 'sleep 3; echo done' }],
        },
      ],
      { heartbeatSeconds: 2, attempts: 1 },
    );
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      await handle.result().catch(() => undefined);
    });
    const runs = byTask(await activityRuns(ids.phase(slug, R, P, 'slow')), 'slow');
    assert.equal(runs[0].heartbeatTimeoutMs, 2000);
    assert.deepEqual(
      runs.map((r) => `${r.outcome}${r.failure ? ` (${r.failure})` : ''}`),
      ['completed'],
      'the command was timed out for lack of heartbeats while it was still running',
    );
  });

  it('fails a task that fails on every attempt, with attempts = the configured number', async () => {
    const { slug, taskQueue, ws } = setup('exhaust');
    const spec = onePlanEpic(
      slug,
      ws,
      [
        {
          slug: 'doomed',
          title: 'Doomed',
          tasks: [
            agentTask('1.1', 50, { dryRun: { failAttempts: 20 }, settings: { attempts: 4, timeoutBaseSeconds: 5 } }),
          ],
        },
      ],
      {
        timeoutFactor: 2,
        retryBackoffSeconds: 0.1,
      },
    );
    const message = await withWorker(taskQueue, async () => expectEpicFailure(await startEpic(taskQueue, spec)));
    assert.match(message, /task 1\.1 failed after 4 attempt\(s\)/);

    const runs = byTask(await activityRuns(ids.phase(slug, R, P, 'doomed')), '1.1');
    assert.deepEqual(
      runs.map((r) => r.outcome),
      ['failed', 'failed', 'failed', 'failed'],
    );
    assert.deepEqual(
      runs.map((r) => r.startToCloseTimeoutMs),
      [5_000, 10_000, 20_000, 40_000],
    );
    const progress = readJson(mirrorFile.progress(ws, P));
    const task = progress.phases[0].tasks[0];
    assert.equal(task.status, 'failed');
    assert.equal(task.attempts, 4);
    assert.match(task.error, /attempt 4: Transient: simulated transient failure/);
    const state = readJson(mirrorFile.state(ws));
    assert.deepEqual(
      state.failedTasks.map((f: any) => [f.taskId, f.retryCount]),
      [['1.1', 3]],
    );
  });

  describe('a whole epic (2 roadmaps, 3 plans, 5 phases)', () => {
    const { slug, taskQueue, ws } = setup('full');
    const plans = { first: ['p-alpha', 'p-beta'], second: ['p-gamma'] } as const;
    const phasesOf: Record<string, string[]> = {
      'p-alpha': ['design', 'build'],
      'p-beta': ['polish'],
      'p-gamma': ['migrate', 'verify'],
    };
    interface Write {
      file: string;
      kind: string;
      inputRevision: number;
      skipped: boolean;
      revision: number;
      owner?: string;
      completion?: number;
      status?: string;
      problems: string[];
    }
    const writes: Write[] = [];
    let result: any;

    before(async function () {
      this.timeout(90_000);
      let taskNo = 0;
      const phase = (s: string) => ({
        slug: s,
        title: `Phase ${s}`,
        tasks: [
          agentTask(`${s}.1`, 100 + 40 * (taskNo++ % 4)),
          agentTask(`${s}.2`, 150, { dependsOn: [`${s}.1`] }),
          { id: `${s}.3`, description: `check ${s}`, kind: 'command', command: `echo ${s} >> checks.txt` },
        ],
        gate: { commands: [`grep -q ${s} checks.txt`] },
      });
      const spec = epicSpec({
        slug,
        title: 'Full epic',
        workspace: ws,
        tags: ['test'],
        budget: { tokens: 10_000_000 },
        settings: { ...FAST_SETTINGS, maxParallel: 2 },
        roadmaps: Object.entries(plans).map(([r, ps]) => ({
          slug: r,
          title: `Roadmap ${r}`,
          plans: ps.map((p) => ({ slug: p, title: `Plan ${p}`, phases: phasesOf[p].map(phase) })),
        })),
      });
      const writeMirror = async (input: WriteMirrorInput) => {
        const res = await realActivities.writeMirror(input);
        const doc = readJson(path.join(input.workspace, input.file));
        const kind = kindOfMirror(input.file);
        assert.equal(kind, input.kind);
        writes.push({
          file: input.file,
          kind,
          inputRevision: input.revision,
          skipped: res.skipped,
          revision: doc.phaseflow?.revision,
          owner: doc.phaseflow?.owner,
          completion: doc.completion_percentage,
          status: doc.status,
          problems: ccaspProblems(kind, doc),
        });
        return res;
      };
      result = await withWorker(taskQueue, async () => (await startEpic(taskQueue, spec)).result(), {
        activities: { writeMirror },
      });
    });

    it('writes mirrors that validate against CCASP schemas after every write, revisions only growing', () => {
      const files = [...new Set(writes.map((w) => w.file))].sort();
      assert.deepEqual(
        files,
        [
          '.claude/epics/' + slug + '/EPIC.json',
          // Each plan writes its own orchestrator state; state.json is rebuilt from them (checked below).
          ...Object.values(plans)
            .flat()
            .flatMap((p) => [
              `.claude/phase-plans/${p}/PROGRESS.json`,
              `.claude/orchestrator/plans/${slug}--${p}.json`,
            ]),
          '.claude/roadmaps/first/ROADMAP.json',
          '.claude/roadmaps/second/ROADMAP.json',
        ].sort(),
      );
      const invalid = writes.filter((w) => w.problems.length > 0);
      assert.deepEqual(
        invalid.map((w) => `${w.file} r${w.revision}: ${w.problems.join('; ')}`),
        [],
      );
      for (const file of files) {
        const all = writes.filter((w) => w.file === file && !w.skipped);
        assert.ok(all.length >= 3, `${file} was written ${all.length} time(s); expected several`);
        // Revisions count per owning workflow run: the orchestrator state passes from plan to plan.
        const owners = [...new Set(all.map((w) => w.owner))];
        assert.ok(owners.every(Boolean), `${file}: every write names its owner`);
        for (const ws_ of owners.map((o) => all.filter((w) => w.owner === o)))
          for (let i = 1; i < ws_.length; i++) {
            assert.ok(
              ws_[i].revision > ws_[i - 1].revision,
              `${file}: revision went from ${ws_[i - 1].revision} to ${ws_[i].revision}`,
            );
            if (ws_[i].completion !== undefined) {
              assert.ok(
                ws_[i].completion! >= ws_[i - 1].completion!,
                `${file}: completion_percentage went from ${ws_[i - 1].completion} to ${ws_[i].completion}`,
              );
            }
          }
      }
      for (const w of writes.filter((x) => !x.skipped))
        assert.equal(w.revision, w.inputRevision, `${w.file}: the file holds the revision just written`);
    });

    it('keeps the shared orchestrator state current across plans: no mirror write is dropped, and it ends with the last plan', () => {
      const skipped = writes.filter((w) => w.skipped);
      const state = readJson(mirrorFile.state(ws));
      assert.equal(
        state.planId,
        'p-gamma',
        `state.json should describe the plan that ran last; it says ${state.planId} (${state.status})`,
      );
      assert.equal(state.status, 'completed');
      assert.deepEqual(
        state.plans.map((p: any) => `${p.planId} ${p.status}`).sort(),
        Object.values(plans)
          .flat()
          .map((p) => `${p} completed`)
          .sort(),
        'state.json lists every plan',
      );
      assert.deepEqual(ccaspProblems('state', state), []);
      assert.deepEqual(
        skipped.map((w) => `${w.file} r${w.inputRevision} (file at r${w.revision})`),
        [],
        'mirror writes were skipped as stale: the file held a higher revision written by another workflow',
      );
    });

    it('rolls completion and token usage up: 100 % and completed everywhere, usage sums equal across levels', () => {
      const epic = readJson(mirrorFile.epic(ws, slug));
      assert.equal(epic.status, 'completed');
      assert.equal(epic.completion_percentage, 100);
      assert.ok(epic.roadmaps.every((r: any) => r.status === 'completed' && r.completion_percentage === 100));
      let epicTokens = 0;
      let epicCost = 0;
      for (const [r, ps] of Object.entries(plans)) {
        const roadmap = readJson(mirrorFile.roadmap(ws, r));
        assert.equal(roadmap.status, 'completed');
        assert.equal(roadmap.completion_percentage, 100);
        let roadmapTokens = 0;
        let roadmapCost = 0;
        for (const p of ps) {
          const progress = readJson(mirrorFile.progress(ws, p));
          assert.equal(progress.status, 'completed');
          assert.equal(progress.completion_percentage, 100);
          const tasks = progress.phases.flatMap((ph: any) => ph.tasks);
          assert.ok(tasks.every((t: any) => t.status === 'completed' && t.completed === true));
          assert.ok(
            progress.phases.every(
              (ph: any) => ph.status === 'completed' && ph.completion_percentage === 100 && ph.gate.passed === true,
            ),
          );
          const taskTokens = tasks.reduce((n: number, t: any) => n + tokens(t.usage), 0);
          assert.ok(taskTokens > 0, 'dry-run agents report usage');
          assert.equal(
            progress.phases.reduce((n: number, ph: any) => n + tokens(ph.usage), 0),
            taskTokens,
            `${p}: phases' usage = tasks' usage`,
          );
          assert.equal(tokens(progress.phaseflow.usage), taskTokens, `${p}: plan usage = tasks' usage`);
          roadmapTokens += taskTokens;
          roadmapCost += progress.phaseflow.usage.cost_usd;
          const planRef = roadmap.phase_dev_plan_refs.find((x: any) => x.plan_id === p);
          assert.equal(planRef.completion_percentage, 100);
        }
        assert.equal(tokens(roadmap.phaseflow.usage), roadmapTokens, `${r}: roadmap usage = sum of its plans`);
        assert.equal(roadmap.token_allocation.used, roadmapTokens);
        assert.ok(Math.abs(roadmap.phaseflow.usage.cost_usd - roadmapCost) < 1e-6);
        epicTokens += roadmapTokens;
        epicCost += roadmapCost;
      }
      assert.equal(epic.token_budget.used_tokens, epicTokens, 'epic used_tokens = sum of all tasks');
      assert.equal(tokens(epic.phaseflow.usage), epicTokens);
      assert.equal(epic.token_budget.tokens, 10_000_000);
      assert.ok(Math.abs(epic.token_budget.used_usd - epicCost) < 1e-6);
      // The epic workflow's result says the same.
      assert.equal(result.status, 'completed');
      assert.equal(result.tasksCompleted, 15);
      assert.equal(result.tasksTotal, 15);
      assert.equal(
        result.usage.inputTokens +
          result.usage.outputTokens +
          result.usage.cacheReadTokens +
          result.usage.cacheWriteTokens,
        epicTokens,
      );
    });

    it('gives workflows readable ids and search attributes that find them', async () => {
      const client = await testClient();
      const expectedPhases = Object.entries(plans)
        .flatMap(([r, ps]) => ps.flatMap((p) => phasesOf[p].map((ph) => ids.phase(slug, r, p, ph))))
        .sort();
      const list = async (query: string) => {
        const found: string[] = [];
        for await (const wf of client.workflow.list({ query })) found.push(wf.workflowId);
        return found.sort();
      };
      // Visibility is eventually consistent.
      const phases = await waitFor('the phase workflows in visibility', async () => {
        const found = await list(`PhaseflowEpic="${slug}" AND PhaseflowLevel="phase"`);
        return found.length === expectedPhases.length ? found : undefined;
      });
      assert.deepEqual(phases, expectedPhases);
      for (const id of phases) assert.match(id, new RegExp(`^epic/${slug}/(first|second)/p-[a-z]+/[a-z]+$`));
      assert.deepEqual(
        await list(`PhaseflowEpic="${slug}" AND PhaseflowLevel="plan"`),
        Object.entries(plans)
          .flatMap(([r, ps]) => ps.map((p) => ids.plan(slug, r, p)))
          .sort(),
      );
      assert.deepEqual(await list(`PhaseflowEpic="${slug}" AND PhaseflowLevel="roadmap"`), [
        ids.roadmap(slug, 'first'),
        ids.roadmap(slug, 'second'),
      ]);
      assert.deepEqual(await list(`PhaseflowEpic="${slug}" AND PhaseflowLevel="epic"`), [ids.epic(slug)]);
      assert.deepEqual(await list(`PhaseflowPlan="p-gamma" AND PhaseflowPhase="verify" AND PhaseflowEpic="${slug}"`), [
        ids.phase(slug, 'second', 'p-gamma', 'verify'),
      ]);
      // Final statuses are upserted: everything ends "completed".
      const completed = await waitFor('final statuses in visibility', async () => {
        const found = await list(`PhaseflowEpic="${slug}" AND PhaseflowStatus="completed"`);
        return found.length === 1 + 2 + 3 + 5 ? found : undefined;
      });
      assert.equal(completed.length, 11);
    });
  });
});
