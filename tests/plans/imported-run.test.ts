/**
 * An imported epic with completed work, started on the real Temporal server: only what is not
 * done runs. Completed phases start no workflow, completed tasks start no activity, and both show
 * completed with "imported" as their source (status query, Web UI details, PROGRESS.json).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importPlans } from '../../src/plans/import';
import { statusQuery } from '../../src/workflows/messages';
import { EpicSpec } from '../../src/domain/spec';
import { phaseflow } from '../cli/run-cli';
import { ccaspProblems } from '../support/ccasp';
import { testTemporal } from '../support/temporal-server';
import {
  activityRuns,
  epicSpec,
  FAST_SETTINGS,
  ids,
  mirrorFile,
  readJson,
  startEpic,
  taskIdOf,
  tempWorkspace,
  testClient,
  uniqueName,
  withWorker,
  workflowExists,
} from '../support/worker-harness';

describe('an imported epic runs only what is not done (real server)', function () {
  this.timeout(90_000);

  it('completed phases and tasks do not run and show completed, source imported; the rest runs', async () => {
    const imported = importPlans([path.join(__dirname, 'fixtures', 'md-l0', '001_widget_cleanup.md')]).spec as any;
    const slug = uniqueName('imported');
    const taskQueue = uniqueName('tq-imported');
    const ws = tempWorkspace();
    const spec = epicSpec({ ...imported, slug, workspace: ws, settings: FAST_SETTINGS });
    const [rm, plan] = [spec.roadmaps[0].slug, spec.roadmaps[0].plans[0].slug];
    const phaseSlugs = spec.roadmaps[0].plans[0].phases.map((p) => p.slug);
    const phaseId = (i: number) => ids.phase(slug, rm, plan, phaseSlugs[i]);

    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      const result: any = await handle.result();
      assert.deepEqual([result.status, result.tasksCompleted, result.tasksTotal], ['completed', 9, 9]);

      // Phases 1 and 3 were imported completed: no workflow ever ran for them.
      assert.deepEqual(await Promise.all([0, 1, 2, 3].map((i) => workflowExists(phaseId(i)))), [
        false,
        true,
        false,
        true,
      ]);
      // Phase 2: 2.1 was checked, so only 2.2 and 2.3 ran (2.3 after 2.2); then its gate.
      const p2 = await activityRuns(phaseId(1));
      assert.deepEqual(p2.map(taskIdOf).filter(Boolean), ['2.2', '2.3']);
      assert.ok(
        p2.some((r) => r.type === 'runGate'),
        'the gate of phase 2 ran',
      );
      const p4 = await activityRuns(phaseId(3));
      assert.deepEqual(p4.map(taskIdOf).filter(Boolean).sort(), ['4.1', '4.2']);

      const client = await testClient();
      const planNode = await client.workflow.getHandle(ids.plan(slug, rm, plan)).query(statusQuery);
      assert.deepEqual(
        planNode.children!.map((c) => [c.status, c.source ?? '-']),
        [
          ['completed', 'imported'],
          ['completed', '-'],
          ['completed', 'imported'],
          ['completed', '-'],
        ],
      );
    });

    const progress = readJson(mirrorFile.progress(ws, plan));
    assert.deepEqual(ccaspProblems('progress', progress), [], 'PROGRESS.json validates against CCASP');
    const tasks = progress.phases.flatMap((p: any) => p.tasks);
    assert.deepEqual(
      tasks.filter((t: any) => t.source === 'imported').map((t: any) => [t.id, t.status, t.attempts]),
      [
        ['1.1', 'completed', 0],
        ['1.2', 'completed', 0],
        ['2.1', 'completed', 0],
        ['3.1', 'completed', 0],
        ['3.2', 'completed', 0],
      ],
    );
    assert.deepEqual(
      progress.phases.map((p: any) => p.source ?? '-'),
      ['imported', '-', 'imported', '-'],
    );

    // `phaseflow export <run id>`: the run's spec with its live status; importing it gives a spec
    // in which every task (all ran) is completed.
    const out = mkdtempSync(path.join(os.tmpdir(), 'pf-export-run-'));
    const { address, namespace } = testTemporal();
    const env = { TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace };
    const r = await phaseflow(['export', slug, out, '--to', 'markdown', '--level', '1'], env);
    assert.equal(r.code, 0, r.stderr);
    const back = EpicSpec.parse(importPlans([out]).spec);
    const backTasks = back.roadmaps[0].plans[0].phases.flatMap((p) => p.tasks);
    assert.deepEqual(
      backTasks.map((t) => [t.id, t.status]),
      ['1.1', '1.2', '2.1', '2.2', '2.3', '3.1', '3.2', '4.1', '4.2'].map((id) => [id, 'completed']),
    );
  });
});
