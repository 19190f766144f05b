/**
 * Tasks of one phase that declare the same path in `files` never run at the same time (real
 * server, dry-run agents): they wait for each other as if one depended on the other, while tasks
 * without a shared path still run in parallel.
 */
import { strict as assert } from 'node:assert';
import {
  activityRuns,
  agentTask,
  epicSpec,
  FAST_SETTINGS,
  ids,
  startEpic,
  taskIdOf,
  tempWorkspace,
  uniqueName,
  withWorker,
} from '../support/worker-harness';
import { tasksSharingFiles } from '../../src/domain/shared-files';

describe('tasks sharing a declared file (real server)', function () {
  this.timeout(60_000);

  it('never overlap; the others still run in parallel', async () => {
    const slug = uniqueName('shared');
    const taskQueue = uniqueName('tq-shared');
    const ws = tempWorkspace();
    const tasks = [
      agentTask('1.1', 800, { files: ['src/app.ts'] }),
      agentTask('1.2', 800, { files: ['./src/app.ts', 'docs/x.md'] }),
      agentTask('1.3', 800, { files: ['src/other.ts'] }),
      agentTask('1.4', 800, { files: ['docs//x.md'] }),
      agentTask('1.5', 800),
    ];
    const spec = epicSpec({
      slug,
      title: `Epic ${slug}`,
      workspace: ws,
      settings: { ...FAST_SETTINGS, maxParallel: 5 },
      roadmaps: [
        {
          slug: 'r',
          title: 'R',
          plans: [{ slug: 'p', title: 'P', phases: [{ slug: 'one', title: 'One', tasks }] as any }],
        },
      ],
    });
    await withWorker(taskQueue, async () => {
      await (await startEpic(taskQueue, spec)).result();
    });
    const runs = (await activityRuns(ids.phase(slug, 'r', 'p', 'one'))).filter((r) => r.type === 'runAgentTask');
    const at = (id: string) => runs.find((r) => taskIdOf(r) === id)!;
    const overlaps = (a: string, b: string) => at(a).startedAt! < at(b).closedAt! && at(b).startedAt! < at(a).closedAt!;
    for (const id of ['1.1', '1.2', '1.3', '1.4', '1.5']) assert.equal(at(id).outcome, 'completed', id);
    // 1.1 and 1.2 share src/app.ts; 1.2 and 1.4 share docs/x.md (spelt differently).
    assert.ok(!overlaps('1.1', '1.2'), '1.1 and 1.2 overlapped');
    assert.ok(!overlaps('1.2', '1.4'), '1.2 and 1.4 overlapped');
    assert.ok(at('1.2').scheduledAt >= at('1.1').closedAt!, '1.2 waited for 1.1, as if it depended on it');
    // The rest ran beside 1.1.
    assert.ok(overlaps('1.1', '1.3') && overlaps('1.1', '1.5') && overlaps('1.1', '1.4'));
  });

  it('which tasks share a path, however it is spelt', () => {
    const m = tasksSharingFiles([
      { id: 'a', files: ['src/x.ts', 'y'] },
      { id: 'b', files: ['./src//x.ts'] },
      { id: 'c', files: ['src/x.ts/'] },
      { id: 'd', files: ['z'] },
    ]);
    assert.deepEqual([...m.get('a')!].sort(), ['b', 'c']);
    assert.deepEqual([...m.get('b')!].sort(), ['a', 'c']);
    assert.equal(m.has('d'), false);
  });
});
