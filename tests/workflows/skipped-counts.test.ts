/**
 * A phase skipped after its task failed: its tasks never ran, so no level may count them as
 * completed. The plan's result carries its real counts up; the roadmap and epic take them (not
 * their totals), in the status query, the result and every mirror file, also when the roadmap and
 * epic continued as new after the skipped plan (their carried state keeps the real counts).
 */
import { strict as assert } from 'node:assert';
import { statusQuery, type StatusNode } from '../../src/workflows/messages';
import { ccaspProblems } from '../support/ccasp';
import {
  agentTask,
  epicSpec,
  FAST_SETTINGS,
  ids,
  mirrorFile,
  readJson,
  startEpic,
  tempWorkspace,
  testClient,
  uniqueName,
  withWorker,
} from '../support/worker-harness';

/** Settings of the report's run: a failed phase is skipped when nobody answers within 1 s. */
const SKIPPING = {
  ...FAST_SETTINGS,
  maxParallel: 1,
  decisionTimeoutSeconds: 1,
  reminderBeforeSeconds: 0,
  escalationDefault: 'skip',
};

/** Phase `slow`: `s` fails its only attempt, q1 and q2 wait for it (never run); phase `fast`: one task that completes. */
const skippedThenDone = (prefix: string) => [
  {
    slug: 'slow',
    title: 'Slow',
    tasks: [
      agentTask(`${prefix}s`, 20, { settings: { attempts: 1 }, dryRun: { durationMs: 20, failAttempts: 1 } }),
      agentTask(`${prefix}q1`, 20, { dependsOn: [`${prefix}s`] }),
      agentTask(`${prefix}q2`, 20, { dependsOn: [`${prefix}s`] }),
    ],
  },
  { slug: 'fast', title: 'Fast', tasks: [agentTask(`${prefix}f`, 20)] },
];

const onePhase = (id: string) => [{ slug: 'only', title: 'Only', tasks: [agentTask(id, 20)] }];

/** Counts as "done/total" at a level of the status tree, found by slug path. */
function countsAt(node: StatusNode, ...path: string[]): string {
  let n = node;
  for (const slug of path) n = n.children!.find((c) => c.slug === slug)!;
  return `${n.tasksCompleted}/${n.tasksTotal}`;
}

function checkCcasp(kind: 'epic' | 'roadmap' | 'progress', doc: unknown): void {
  assert.deepEqual(ccaspProblems(kind, doc), [], `${kind} mirror validates against CCASP`);
}

describe('counts after a skipped phase', function () {
  this.timeout(90_000);

  it('a skipped phase leaves 1/4 tasks and 25 % at every level (query, result, EPIC/ROADMAP/PROGRESS.json)', async () => {
    const slug = uniqueName('skipcount');
    const taskQueue = uniqueName('tq-skipcount');
    const ws = tempWorkspace();
    const spec = epicSpec({
      slug,
      title: 'Ladder',
      workspace: ws,
      settings: SKIPPING,
      roadmaps: [{ slug: 'r', title: 'R', plans: [{ slug: 'p', title: 'P', phases: skippedThenDone('') }] }],
    });
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      const result: any = await handle.result();
      assert.deepEqual(
        [result.status, result.tasksCompleted, result.tasksTotal, result.phasesCompleted, result.phasesTotal],
        ['completed', 1, 4, 2, 2],
        'the epic result: 1 of 4 tasks; both phases done (one completed, one skipped), as PROGRESS.json counts them',
      );
      // What `phaseflow status` and the end of `watch` print: the status query of each level.
      const client = await testClient();
      const epicNode = await handle.query(statusQuery);
      assert.equal(epicNode.status, 'completed');
      assert.deepEqual([countsAt(epicNode), countsAt(epicNode, 'r')], ['1/4', '1/4'], 'epic tree: epic and roadmap r');
      const roadmapNode = await client.workflow.getHandle(ids.roadmap(slug, 'r')).query(statusQuery);
      assert.deepEqual(
        [countsAt(roadmapNode), countsAt(roadmapNode, 'p')],
        ['1/4', '1/4'],
        'roadmap tree: roadmap and plan p',
      );
      const planNode = await client.workflow.getHandle(ids.plan(slug, 'r', 'p')).query(statusQuery);
      assert.deepEqual(
        [countsAt(planNode), countsAt(planNode, 'slow'), countsAt(planNode, 'fast')],
        ['1/4', '0/3', '1/1'],
      );
      assert.equal(planNode.children!.find((c) => c.slug === 'slow')!.status, 'skipped');
    });

    const epic = readJson(mirrorFile.epic(ws, slug));
    const roadmap = readJson(mirrorFile.roadmap(ws, 'r'));
    const progress = readJson(mirrorFile.progress(ws, 'p'));
    checkCcasp('epic', epic);
    checkCcasp('roadmap', roadmap);
    checkCcasp('progress', progress);
    assert.deepEqual(
      [epic.status, epic.completion_percentage, epic.phaseflow.tasks_completed, epic.phaseflow.tasks_total],
      ['completed', 25, 1, 4],
      'EPIC.json',
    );
    assert.deepEqual(
      [epic.roadmaps[0].status, epic.roadmaps[0].completion_percentage],
      ['completed', 25],
      'EPIC.json roadmaps[0]',
    );
    assert.deepEqual(
      [roadmap.status, roadmap.completion_percentage, roadmap.phaseflow.tasks_completed, roadmap.phaseflow.tasks_total],
      ['completed', 25, 1, 4],
      'ROADMAP.json',
    );
    assert.deepEqual(
      [roadmap.phase_dev_plan_refs[0].status, roadmap.phase_dev_plan_refs[0].completion_percentage],
      ['completed', 25],
      'ROADMAP.json plan ref',
    );
    assert.deepEqual(
      [
        progress.status,
        progress.completion_percentage,
        progress.phaseflow.tasks_completed,
        progress.phaseflow.tasks_total,
      ],
      ['completed', 25, 1, 4],
      'PROGRESS.json',
    );
    const slow = progress.phases.find((p: any) => p.slug === 'slow');
    assert.deepEqual(
      [slow.status, slow.skipped, slow.phaseflow_status, slow.completion_percentage],
      ['completed', true, 'skipped', 0],
      'the skipped phase in PROGRESS.json',
    );
    assert.deepEqual(
      slow.tasks.map((t: any) => [t.id, t.status, t.completed]),
      [
        ['s', 'failed', false],
        ['q1', 'not_started', false],
        ['q2', 'not_started', false],
      ],
    );
  });

  it('the roadmap and epic keep the real counts across continue-as-new after the skipped plan', async () => {
    const slug = uniqueName('skipcan');
    const taskQueue = uniqueName('tq-skipcan');
    const ws = tempWorkspace();
    // r1: plan a (1 of 4 tasks, its first phase skipped), plan b (1/1); r2: plan c (1/1).
    const spec = epicSpec({
      slug,
      title: 'Ladder, long',
      workspace: ws,
      settings: { ...SKIPPING, historyEventsLimit: 20 },
      roadmaps: [
        {
          slug: 'r1',
          title: 'R1',
          plans: [
            { slug: 'a', title: 'A', phases: skippedThenDone('a-') },
            { slug: 'b', title: 'B', phases: onePhase('b-1') },
          ],
        },
        { slug: 'r2', title: 'R2', plans: [{ slug: 'c', title: 'C', phases: onePhase('c-1') }] },
      ],
    });
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      const result: any = await handle.result();
      assert.deepEqual(
        [result.status, result.tasksCompleted, result.tasksTotal, result.phasesCompleted, result.phasesTotal],
        ['completed', 3, 6, 4, 4],
      );
      const client = await testClient();
      // The runs that matter continued as new after the skipped plan: r1 between a and b, the epic between r1 and r2.
      for (const id of [ids.epic(slug), ids.roadmap(slug, 'r1')]) {
        const runs: string[] = [];
        for await (const w of client.workflow.list({ query: `WorkflowId="${id}"` })) runs.push(w.status.name);
        assert.ok(runs.includes('CONTINUED_AS_NEW'), `${id} continued as new (runs: ${runs.join(', ')})`);
      }
      const epicNode = await handle.query(statusQuery);
      assert.deepEqual([countsAt(epicNode), countsAt(epicNode, 'r1'), countsAt(epicNode, 'r2')], ['3/6', '2/5', '1/1']);
      const r1 = await client.workflow.getHandle(ids.roadmap(slug, 'r1')).query(statusQuery);
      assert.deepEqual([countsAt(r1), countsAt(r1, 'a'), countsAt(r1, 'b')], ['2/5', '1/4', '1/1']);
    });
    const epic = readJson(mirrorFile.epic(ws, slug));
    const r1 = readJson(mirrorFile.roadmap(ws, 'r1'));
    const a = readJson(mirrorFile.progress(ws, 'a'));
    checkCcasp('epic', epic);
    checkCcasp('roadmap', r1);
    checkCcasp('progress', a);
    assert.deepEqual(
      [
        epic.completion_percentage,
        epic.phaseflow.tasks_completed,
        epic.roadmaps.map((r: any) => r.completion_percentage),
      ],
      [50, 3, [40, 100]],
      'EPIC.json',
    );
    assert.deepEqual(
      [
        r1.completion_percentage,
        r1.phaseflow.tasks_completed,
        r1.phase_dev_plan_refs.map((p: any) => p.completion_percentage),
      ],
      [40, 2, [25, 100]],
      'ROADMAP.json of r1',
    );
    assert.deepEqual([a.completion_percentage, a.phaseflow.tasks_completed], [25, 1], 'PROGRESS.json of a');
  });
});
