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
import { activities, activitySpan, childSpan, fetchHistories, fetchHistory, fetchWorkflowRuns, listEpicRuns, workflowSpanMs } from '../../bench/history';
import { figure, table, writeResults, type ResultsFile } from '../../bench/report';
import { benchEpic, type EpicOptions, parseShape, phaseId, planId, type Shape, workflowCount } from '../../bench/specs';
import type { TaskRunInput } from '../../src/domain/types';
import { startEpic, tempWorkspace, testClient, uniqueName, withWorker } from '../support/worker-harness';

/** Runs a bench epic to completion on an in-process worker; returns its slug. */
async function runBenchEpic(prefix: string, shape: Shape, opts: Pick<EpicOptions, 'durationMs' | 'settings'>): Promise<string> {
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
    assert.deepEqual(runs.map((r) => r.workflowId).sort(), [`epic/${slug}`, `epic/${slug}/r01`, planId(slug, 1, 1), phaseId(slug, 1, 1, 1), phaseId(slug, 1, 1, 2)].sort());
    const histories = await fetchHistories(client, runs, 2);
    assert.ok(histories.every((h) => h.bytes > 0 && h.events.length > 0 && h.runId));
    const epicRuns = await fetchWorkflowRuns(client, `epic/${slug}`);
    assert.equal(epicRuns.length, 1);
    assert.ok(workflowSpanMs(epicRuns) >= plan.ms);

    const inputs = activities(phase1).filter((a) => a.type === 'runAgentTask').map((a) => a.input as TaskRunInput);
    const baselineWs = tempWorkspace();
    const ms = await promiseAllBaseline(inputs, baselineWs);
    assert.ok(ms >= 300 && ms < 1500, `three concurrent 300 ms calls took ${ms} ms in-process`);
    assert.equal(fs.readdirSync(path.join(baselineWs, '.claude/cache/agent-outputs')).length, 3, 'the baseline ran the real activity (details files written)');
  });

  it('measures an epic that continued as new from its first run to its last', async () => {
    const shape = { roadmaps: 3, plans: 1, phases: 1, tasks: 1 };
    // The smallest history limit makes the epic continue as new between roadmaps.
    const slug = await runBenchEpic('bench-can', shape, { durationMs: 0, settings: { historyEventsLimit: 20 } });
    const client = await testClient();

    const runs = await listEpicRuns(client, slug, workflowCount(shape));
    const epicRuns = await fetchHistories(client, runs.filter((r) => r.workflowId === `epic/${slug}`));
    assert.ok(epicRuns.length > 1, `the epic ran ${epicRuns.length} time(s)`);
    assert.deepEqual((await fetchWorkflowRuns(client, `epic/${slug}`)).map((h) => h.runId).sort(), epicRuns.map((h) => h.runId).sort());
    const whole = workflowSpanMs(epicRuns);
    const last = workflowSpanMs(epicRuns.filter((h) => h.events[h.events.length - 1].workflowExecutionCompletedEventAttributes));
    assert.ok(whole > last, `whole chain ${whole} ms, last run ${last} ms`);
    assert.throws(() => workflowSpanMs(epicRuns.filter((h) => !h.events[h.events.length - 1].workflowExecutionCompletedEventAttributes)), /0 of its \d+ run\(s\) completed/);
  });

  it('judges figures against targets and keeps scenarios not rerun in the results file', () => {
    assert.equal(figure({ key: 'a', label: 'a', value: 0.99, unit: '', target: { op: '>=', value: 0.985 }, basis: '' }).pass, true);
    assert.equal(figure({ key: 'b', label: 'b', value: 11, unit: 'ms', target: { op: '<=', value: 10 }, basis: '' }).pass, false);
    assert.equal(figure({ key: 'c', label: 'c', value: 400, unit: 'MB', target: { op: '<', value: 400 }, basis: '' }).pass, false);
    assert.equal(figure({ key: 'd', label: 'd', value: 1, unit: '', basis: '' }).pass, undefined);
    assert.throws(() => figure({ key: 'e', label: 'e', value: NaN, unit: '', basis: '' }), /figure e: not a number/);
    assert.match(table([figure({ key: 'b', label: 'per task', value: 11, unit: 'ms', target: { op: '<=', value: 10 }, basis: '' })]), /per task\s+11 ms\s+<= 10 ms\s+FAIL/);

    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-results-')), 'results.json');
    const scenario = (v: number) => ({ figures: [], details: { v }, measuredAt: 'now', durationS: 1, loadAverage: { before: [], after: [] } });
    const machine = (commit: string) => ({ gitCommit: commit }) as unknown as ResultsFile['machine'];
    writeResults(file, { machine: machine('one'), options: {}, scenarios: { parallel: scenario(1), scale: scenario(2) } });
    writeResults(file, { machine: machine('two'), options: {}, scenarios: { scale: scenario(3) } });
    const out = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.deepEqual(out.scenarios.parallel.details, { v: 1 });
    assert.equal(out.scenarios.parallel.machine.gitCommit, 'one', 'a kept scenario says where it was measured');
    assert.deepEqual(out.scenarios.scale.details, { v: 3 });
    assert.equal(out.scenarios.scale.machine.gitCommit, 'two');
  });

  it('parses --scale shapes and rejects bad ones', () => {
    assert.deepEqual(parseShape('2x3x4x5'), { roadmaps: 2, plans: 3, phases: 4, tasks: 5 });
    assert.throws(() => parseShape('2x2'), /--scale: expected "small", "full" or RxPxHxT/);
    assert.throws(() => parseShape('0x1x1x1'), /every count must be at least 1/);
  });
});
