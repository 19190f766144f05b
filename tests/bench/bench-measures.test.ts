/**
 * The bench's measuring code on a real run: spans read off histories, the visibility listing, the
 * in-process baseline, and the figures' verdicts and results file. (`npm run bench` itself takes
 * minutes; this checks that what it reads is what happened.)
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promiseAllBaseline } from '../../bench/baseline';
import {
  activities,
  activitySpan,
  childSpan,
  fetchHistories,
  fetchHistory,
  fetchWorkflowRuns,
  listEpicRuns,
  workflowSpanMs,
} from '../../bench/history';
import { figure, type Machine, readResults, table, writeResults } from '../../bench/report';
import {
  benchEpic,
  type EpicOptions,
  parseShape,
  phaseId,
  planId,
  resultKey,
  SCALES,
  type Shape,
  workflowCount,
} from '../../bench/specs';
import type { TaskRunInput } from '../../src/domain/types';
import { startEpic, tempWorkspace, testClient, uniqueName, withWorker } from '../support/worker-harness';

/** Runs a bench epic to completion on an in-process worker; returns its slug. */
async function runBenchEpic(
  prefix: string,
  shape: Shape,
  opts: Pick<EpicOptions, 'durationMs' | 'settings'>,
): Promise<string> {
  const slug = uniqueName(prefix);
  const taskQueue = uniqueName(`tq-${prefix}`);
  const spec = benchEpic({ slug, workspace: tempWorkspace(), shape, ...opts });
  await withWorker(taskQueue, async () => (await startEpic(taskQueue, spec)).result());
  return slug;
}

describe('bench measurements', function () {
  this.timeout(90_000);

  it('reads task spans, phase spans and the epic’s workflows off a real run, and replays its calls in-process', async () => {
    const shape = { roadmaps: 1, plans: 1, phases: 2, tasks: 3 };
    const slug = await runBenchEpic('bench', shape, { durationMs: 300, settings: { maxParallel: 3 } });
    const client = await testClient();

    const phase1 = await fetchHistory(client, phaseId(slug, 1, 1, 1));
    const span = activitySpan(phase1, 'runAgentTask');
    assert.equal(span.count, 3);
    assert.equal(span.maxConcurrent, 3, 'three tasks under a cap of 3 overlap');
    assert.ok(span.ms >= 300 && span.ms < 3000, `task span ${span.ms} ms for parallel 300 ms tasks`);
    assert.ok(workflowSpanMs(phase1) >= span.ms);

    const plan = childSpan(await fetchHistory(client, planId(slug, 1, 1)));
    assert.equal(plan.count, 2);
    assert.ok(plan.ms >= 600, `two sequential phases of 300 ms took ${plan.ms} ms`);

    const runs = await listEpicRuns(client, slug, workflowCount(shape));
    assert.deepEqual(
      runs.map((r) => r.workflowId).sort(),
      [`epic/${slug}`, `epic/${slug}/r01`, planId(slug, 1, 1), phaseId(slug, 1, 1, 1), phaseId(slug, 1, 1, 2)].sort(),
    );
    const histories = await fetchHistories(client, runs, 2);
    assert.ok(histories.every((h) => h.bytes > 0 && h.events.length > 0 && h.runId));
    const epicRuns = await fetchWorkflowRuns(client, `epic/${slug}`);
    assert.equal(epicRuns.length, 1);
    assert.ok(workflowSpanMs(epicRuns) >= plan.ms);

    const inputs = activities(phase1)
      .filter((a) => a.type === 'runAgentTask')
      .map((a) => a.input as TaskRunInput);
    const baselineWs = tempWorkspace();
    const ms = await promiseAllBaseline(inputs, baselineWs);
    assert.ok(ms >= 300 && ms < 1500, `three concurrent 300 ms calls took ${ms} ms in-process`);
    assert.equal(
      fs.readdirSync(path.join(baselineWs, '.claude/cache/agent-outputs')).length,
      3,
      'the baseline ran the real activity (details files written)',
    );
  });

  it('measures an epic that continued as new from its first run to its last', async () => {
    const shape = { roadmaps: 3, plans: 1, phases: 1, tasks: 1 };
    // The smallest history limit makes the epic continue as new between roadmaps.
    const slug = await runBenchEpic('bench-can', shape, { durationMs: 0, settings: { historyEventsLimit: 20 } });
    const client = await testClient();

    const runs = await listEpicRuns(client, slug, workflowCount(shape));
    const epicRuns = await fetchHistories(
      client,
      runs.filter((r) => r.workflowId === `epic/${slug}`),
    );
    assert.ok(epicRuns.length > 1, `the epic ran ${epicRuns.length} time(s)`);
    assert.deepEqual(
      (await fetchWorkflowRuns(client, `epic/${slug}`)).map((h) => h.runId).sort(),
      epicRuns.map((h) => h.runId).sort(),
    );
    const whole = workflowSpanMs(epicRuns);
    const last = workflowSpanMs(
      epicRuns.filter((h) => h.events[h.events.length - 1].workflowExecutionCompletedEventAttributes),
    );
    assert.ok(whole > last, `whole chain ${whole} ms, last run ${last} ms`);
    assert.throws(
      () =>
        workflowSpanMs(
          epicRuns.filter((h) => !h.events[h.events.length - 1].workflowExecutionCompletedEventAttributes),
        ),
      /0 of its \d+ run\(s\) completed/,
    );
  });

  it('judges figures against targets', () => {
    assert.equal(
      figure({ key: 'a', label: 'a', value: 0.99, unit: '', target: { op: '>=', value: 0.985 }, basis: '' }).pass,
      true,
    );
    assert.equal(
      figure({ key: 'b', label: 'b', value: 11, unit: 'ms', target: { op: '<=', value: 10 }, basis: '' }).pass,
      false,
    );
    assert.equal(
      figure({ key: 'c', label: 'c', value: 400, unit: 'MB', target: { op: '<', value: 400 }, basis: '' }).pass,
      false,
    );
    assert.equal(figure({ key: 'd', label: 'd', value: 1, unit: '', basis: '' }).pass, undefined);
    assert.throws(() => figure({ key: 'e', label: 'e', value: NaN, unit: '', basis: '' }), /figure e: not a number/);
    assert.match(
      table([
        figure({ key: 'b', label: 'per task', value: 11, unit: 'ms', target: { op: '<=', value: 10 }, basis: '' }),
      ]),
      /per task\s+11 ms\s+<= 10 ms\s+FAIL/,
    );
  });

  it('keeps entries not re-run in the results file, and a scale epic of another shape beside the full one', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-results-')), 'results.json');
    const entry = (scenario: string, v: number, options: Record<string, unknown> = {}) => ({
      scenario,
      options,
      figures: [],
      details: { v },
      measuredAt: 'now',
      durationS: 1,
      loadAverage: { before: [], after: [] },
    });
    const machine = (commit: string) => ({ gitCommit: commit, date: `date-${commit}` }) as unknown as Machine;
    const full = resultKey('scale', parseShape('full'));
    writeResults(file, {
      machine: machine('one'),
      options: { only: ['parallel', 'scale'] },
      entries: { [resultKey('parallel', SCALES.full)]: entry('parallel', 1), [full]: entry('scale', 2) },
    });
    // `--only scale --scale small`: its own entry; the full-scale one stays.
    const small = resultKey('scale', parseShape('small'));
    writeResults(file, {
      machine: machine('two'),
      options: { only: ['scale'] },
      entries: { [small]: entry('scale', 3) },
    });
    // `--only parallel --scale small`: the scale option does not touch the parallel key.
    writeResults(file, {
      machine: machine('three'),
      options: { only: ['parallel'] },
      entries: { [resultKey('parallel', SCALES.small)]: entry('parallel', 4) },
    });

    const out = readResults(file)!;
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), out);
    assert.deepEqual(Object.keys(out.scenarios), ['parallel', 'scale', 'scale@2x2x2x10']);
    assert.deepEqual(
      [out.scenarios.scale.details, out.scenarios.scale.machine.gitCommit],
      [{ v: 2 }, 'one'],
      'the full-scale entry kept, with where it was measured',
    );
    assert.deepEqual(
      [out.scenarios['scale@2x2x2x10'].details, out.scenarios['scale@2x2x2x10'].machine.gitCommit],
      [{ v: 3 }, 'two'],
    );
    assert.deepEqual([out.scenarios.parallel.details, out.scenarios.parallel.machine.gitCommit], [{ v: 4 }, 'three']);
    assert.deepEqual(
      out.lastRun,
      { date: 'date-three', gitCommit: 'three', wrote: ['parallel'], options: { only: ['parallel'] } },
      'the top level speaks only for the last run',
    );
    assert.equal('machine' in out, false);
    assert.equal(
      resultKey('scale', parseShape('10x10x10x10')),
      'scale',
      'the full shape spelled out is the full entry',
    );

    // A file whose entries could not be kept is refused, not silently replaced.
    fs.writeFileSync(file, '{"machine": {}, "options": {}, "scenarios": {}}');
    assert.throws(() => readResults(file), /not a bench results file of this layout \(no "lastRun"\)/);
    fs.writeFileSync(file, 'nope');
    assert.throws(() => readResults(file), /results\.json: not JSON/);
    assert.equal(readResults(path.join(path.dirname(file), 'none.json')), undefined);
  });

  it('the committed bench/results.json reads in this layout, with the full-scale epic under "scale"', () => {
    const committed = readResults(path.resolve(__dirname, '../../bench/results.json'))!;
    assert.deepEqual(committed.scenarios.scale.options, { scale: { name: 'full', shape: '10x10x10x10' } });
    assert.ok(
      Object.values(committed.scenarios).every((e) => e.machine.gitCommit && e.figures.length),
      'every entry says where it was measured',
    );
  });

  it('parses --scale shapes and rejects bad ones', () => {
    assert.deepEqual(parseShape('2x3x4x5'), { roadmaps: 2, plans: 3, phases: 4, tasks: 5 });
    assert.deepEqual(parseShape('full'), { roadmaps: 10, plans: 10, phases: 10, tasks: 10 });
    assert.deepEqual(parseShape('small'), { roadmaps: 2, plans: 2, phases: 2, tasks: 10 });
    assert.throws(() => parseShape('toString'), /--scale: expected/);
    assert.throws(() => parseShape('2x2'), /--scale: expected "small", "full" or RxPxHxT/);
    assert.throws(() => parseShape('0x1x1x1'), /every count must be at least 1/);
  });
});
