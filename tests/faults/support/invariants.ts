/**
 * What every fault run must show, whatever the fault: (a) the epic completed; (b) no task that
 * had completed ran again; (c) every mirror version read during the run was valid and none went
 * backwards; (d) the final mirrors equal the undisturbed run's, apart from timings, attempts,
 * durations, usage, revisions and ids. Also: no worker died unless the test killed it.
 */
import { strict as assert } from 'node:assert';
import { reRunViolations } from './evidence';
import type { FaultOutcome } from './fault-run';

export function assertSurvived(run: FaultOutcome, undisturbed: FaultOutcome): void {
  assert.equal(run.result?.status, 'completed', `(a) the epic completed: ${JSON.stringify(run.result)}`);
  assert.deepEqual(run.pool.unexpectedExits(), [], 'no worker exited unless the test killed it');
  assert.deepEqual(reRunViolations(run.executions, run.commandFiles), [], '(b) no completed task ran again');
  assert.deepEqual(run.watch.violations, [], '(c) every mirror version read was valid and none went backwards');
  // The watcher saw the files change many times (it was watching, not only reading the end state).
  assert.ok(run.watch.versionsSeen >= 20, `(c) the watcher saw ${run.watch.versionsSeen} mirror versions`);
  assert.deepEqual(Object.keys(run.mirrors), Object.keys(undisturbed.mirrors), '(d) the same mirror files');
  for (const file of Object.keys(undisturbed.mirrors)) {
    assert.deepEqual(
      run.mirrors[file],
      undisturbed.mirrors[file],
      `(d) ${file} equals the undisturbed run's (normalised)`,
    );
  }
}

/** One line of figures for the test log. */
export function describeRun(label: string, run: FaultOutcome): string {
  const retried = new Set(run.executions.filter((x) => !x.succeeded).map((x) => `${x.plan}/${x.task}`));
  return (
    `${label}: ${(run.durationMs / 1000).toFixed(1)} s, ${run.executions.length} task executions ` +
    `(${run.executions.filter((x) => x.outcome === 'timedOut').length} timed out, ${retried.size} tasks retried), ` +
    `${run.watch.versionsSeen} mirror versions checked, ${run.pool.all.length} worker process(es), ` +
    `timeouts and retries: ${
      Object.entries(run.timeouts)
        .map(([k, n]) => `${n} ${k}`)
        .join(', ') || 'none'
    }`
  );
}
