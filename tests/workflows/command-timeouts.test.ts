/**
 * A command task's attempts follow the timeout ladder, and the command is killed a little before
 * each attempt's start-to-close timeout (0.5 s, or a quarter of a shorter limit) so the activity
 * reports the kill itself. The summary says both figures, so "killed at 1.5 s" under a 2 s
 * ladder step is not a surprise. On a real server: `sleep 10` under 1 s, 2 s and 4 s attempts.
 */
import { strict as assert } from 'node:assert';
import { commandKillAtMs, timedOutHead } from '../../src/activities/command-task';
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
  uniqueName,
  withWorker,
} from '../support/worker-harness';

describe('command task timeouts', function () {
  this.timeout(60_000);

  it('kills 0.5 s before the limit, a quarter of it below 2 s, and says so', () => {
    assert.deepEqual(
      [1000, 1500, 2000, 3000, 4500, 120_000].map(commandKillAtMs),
      [750, 1125, 1500, 2500, 4000, 119_500],
    );
    assert.equal(
      timedOutHead(4500, 4000),
      "timed out: killed at 4.0 s of the attempt's 4.5 s limit (0.5 s kept to report)",
    );
    assert.equal(
      timedOutHead(1500, 1125),
      "timed out: killed at 1.13 s of the attempt's 1.5 s limit (0.38 s kept to report)",
    );
  });

  it('every attempt of `sleep 10` is killed before its ladder step and reports it (1 s, 2 s, 4 s)', async () => {
    const slug = uniqueName('cmdtimeout');
    const taskQueue = uniqueName('tq-cmdtimeout');
    const ws = tempWorkspace();
    const spec = epicSpec({
      slug,
      title: 'Ladder',
      workspace: ws,
      settings: { ...FAST_SETTINGS, timeoutBaseSeconds: 1, timeoutFactor: 2, attempts: 3 },
      roadmaps: [
        {
          slug: 'r',
          title: 'R',
          plans: [
            {
              slug: 'p',
              title: 'P',
              phases: [
                {
                  slug: 'slow',
                  title: 'Slow',
                  tasks: [{ id: 's', description: 'too slow', kind: 'command', command: 'sleep 10' }],
                },
              ],
            },
          ],
        },
      ],
    });
    const failure = await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      return handle.result().then(
        () => assert.fail('the epic should fail: its only task times out on every attempt'),
        (err: Error) => String((err as { cause?: Error }).cause?.message ?? err.message),
      );
    });
    const runs = (await activityRuns(ids.phase(slug, 'r', 'p', 'slow'))).filter((r) => taskIdOf(r) === 's');
    assert.deepEqual(
      runs.map((r) => r.startToCloseTimeoutMs),
      [1000, 2000, 4000],
      'the ladder in history',
    );
    // The activity itself completed each attempt (a Temporal timeout would have lost the report).
    assert.deepEqual(
      runs.map((r) => r.outcome),
      ['completed', 'completed', 'completed'],
    );
    const expected = [
      "timed out: killed at 0.75 s of the attempt's 1.0 s limit (0.25 s kept to report)",
      "timed out: killed at 1.5 s of the attempt's 2.0 s limit (0.5 s kept to report)",
      "timed out: killed at 3.5 s of the attempt's 4.0 s limit (0.5 s kept to report)",
    ];
    assert.deepEqual(
      runs.map((r) => r.result.summary),
      expected,
    );
    for (const [i, r] of runs.entries()) {
      const killAt = commandKillAtMs(r.startToCloseTimeoutMs!);
      assert.ok(
        r.result.durationMs >= killAt - 20 && r.result.durationMs < r.startToCloseTimeoutMs!,
        `attempt ${i + 1} ran ${r.result.durationMs} ms; killed at ${killAt} ms`,
      );
    }
    assert.match(failure, /task s failed after 3 attempt\(s\)/);
    assert.ok(failure.includes(expected[2]), `the failure names the last kill: ${failure}`);
    const task = readJson(mirrorFile.progress(ws, 'p')).phases[0].tasks[0];
    assert.ok(task.error.includes(expected[2]), `PROGRESS.json's task error: ${task.error}`);
  });
});
