/**
 * A question's time limit is its own (asked time + decisionTimeoutSeconds), on a real server:
 * when no worker runs while the reminder is due and a worker returns after the limit, the
 * default is taken at once — not `reminderBeforeSeconds` after the worker's return.
 */
import { strict as assert } from 'node:assert';
import type { DecisionRecord, PendingDecision } from '../../src/domain/decisions';
import { pendingQuery } from '../../src/workflows/messages';
import { ccaspProblems } from '../support/ccasp';
import {
  agentTask,
  epicSpec,
  eventTimeMs,
  eventTypeName,
  FAST_SETTINGS,
  fetchEvents,
  ids,
  mirrorFile,
  readJson,
  startEpic,
  tempWorkspace,
  tryReadJson,
  uniqueName,
  waitFor,
  withWorker,
} from '../support/worker-harness';

const R = 'delivery';
const P = 'core';

describe('decision limit while no worker runs (real server)', function () {
  this.timeout(120_000);

  it('a worker that returns after the limit takes the default at once, exactly once', async () => {
    const slug = uniqueName('deadline');
    // Phase a fails its only attempt and asks; nobody answers, so its default (skip) lets b run.
    const failingPhase = {
      slug: 'a',
      title: 'A',
      tasks: [agentTask('1.1', 20, { settings: { attempts: 1 }, dryRun: { durationMs: 20, outcome: 'failure' } })],
    };
    const taskQueue = uniqueName('tq-deadline');
    const ws = tempWorkspace();
    const spec = epicSpec({
      slug,
      title: 'Deadline',
      workspace: ws,
      // Reminder 2 s after the question, default at 6 s.
      settings: { ...FAST_SETTINGS, decisionTimeoutSeconds: 6, reminderBeforeSeconds: 4, escalationDefault: 'skip' },
      roadmaps: [
        {
          slug: R,
          title: 'Delivery',
          plans: [
            {
              slug: P,
              title: 'Core',
              phases: [failingPhase, { slug: 'b', title: 'B', tasks: [agentTask('2.1', 20)] }],
            },
          ],
        },
      ],
    });
    const phaseId = ids.phase(slug, R, P, 'a');

    // First worker: runs until the question is asked, then stops (before the reminder is due).
    const { handle, q } = await withWorker(taskQueue, async () => {
      const h = await startEpic(taskQueue, spec);
      const pending = await waitFor(
        'the escalation question',
        async () => ((await h.query(pendingQuery)) as PendingDecision[])[0],
        30_000,
        100,
      );
      return { handle: h, q: pending };
    });
    assert.equal(q.defaultAction, 'skip');
    const defaultAtMs = Date.parse(q.defaultAt);
    assert.equal(defaultAtMs - Date.parse(q.askedAt), 6000);
    assert.ok(Date.now() < Date.parse(q.remindAt!), 'the worker stopped before the reminder was due');

    // No worker while the reminder timer fires and the limit passes; the fired timer's workflow
    // task waits for a worker (on the normal queue once the stopped worker's sticky queue times out).
    const reminderFired = await waitFor(
      'the reminder timer to fire with no worker',
      async () => (await fetchEvents(phaseId)).find((e) => eventTypeName(e) === 'EVENT_TYPE_TIMER_FIRED'),
      20_000,
    );
    assert.ok(eventTimeMs(reminderFired) < defaultAtMs);
    const stickyTimedOut = async () => {
      const events = await fetchEvents(phaseId);
      const fired = events.findIndex((e) => eventTypeName(e) === 'EVENT_TYPE_TIMER_FIRED');
      return events.slice(fired).some((e) => eventTypeName(e) === 'EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT');
    };
    const stickyTimeout = await waitFor(
      "the stopped worker's workflow task to time out (sticky queue)",
      stickyTimedOut,
      15_000,
    ).catch(() => false);
    await waitFor('the limit to pass', () => Date.now() > defaultAtMs + 500, 20_000, 100);

    // Second worker, after the limit: the default comes at once.
    const progressFile = mirrorFile.progress(ws, P);
    const back = Date.now();
    let tookMs = -1;
    await withWorker(taskQueue, async () => {
      await waitFor(
        'the default to be recorded',
        () => (tryReadJson(progressFile)?.decisions ?? []).length > 0,
        20_000,
        50,
      );
      tookMs = Date.now() - back;
      await handle.result();
    });
    console.log(
      `      worker back ${Math.round((back - defaultAtMs) / 1000)} s after the limit (sticky timeout seen: ${Boolean(stickyTimeout)}) → default recorded in ${tookMs} ms`,
    );
    assert.ok(
      tookMs < 2500,
      `the default came ${tookMs} ms after the worker returned (expected at once, not reminderBeforeSeconds later)`,
    );

    const progress = readJson(progressFile);
    assert.deepEqual(ccaspProblems('progress', progress), []);
    assert.deepEqual(
      progress.decisions.map((d: DecisionRecord) => [d.id, d.action, d.source]),
      [[q.id, 'skip', 'default']],
      'the default, exactly once',
    );
    assert.equal(progress.status, 'completed');
    assert.equal(progress.phases[0].phaseflow_status, 'skipped');

    // History: only the reminder timer; no second timer started after the worker returned.
    const events = await fetchEvents(phaseId);
    assert.equal(
      events.filter((e) => eventTypeName(e) === 'EVENT_TYPE_TIMER_STARTED').length,
      1,
      'one timer (the reminder), none after the limit',
    );
  });
});
