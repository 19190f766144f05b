/**
 * The operating commands when no worker runs (a real server, the worker stopped while a question
 * waits): they say a worker is missing and which task queue wants one, fail fast instead of
 * waiting out query time limits, and what they send (pause, cancel) takes effect once a worker
 * starts again; so does an answer whose `decide` update no worker took in time.
 */
import { strict as assert } from 'node:assert';
import { WorkflowFailedError } from '@temporalio/client';
import {
  agentTask,
  epicSpec,
  FAST_SETTINGS,
  ids,
  startEpic,
  tempWorkspace,
  testClient,
  uniqueName,
  waitFor,
  withWorker,
} from '../support/worker-harness';
import { sendDecision } from '../../src/cli/answer';
import { phaseflow, shown } from './run-cli';
import { pendingQuery } from '../../src/workflows/messages';

/** The CLI calls a worker gone after this many seconds without a poll (70 in production). */
const SILENT_SECONDS = 2;
const ENV = { PHASEFLOW_WORKER_SILENT_SECONDS: String(SILENT_SECONDS) };

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Runs `phaseflow …` with the short worker-silence limit; returns the run and how long it took. */
async function timed(args: string[]) {
  const t = Date.now();
  const r = await phaseflow(args, ENV);
  return { ...r, ms: Date.now() - t };
}

describe('phaseflow commands with no worker running (real server)', function () {
  this.timeout(180_000);

  it('pending says which epics wait (search attribute) and exits 1; status and answers name the missing worker; pause and cancel apply when a worker starts', async () => {
    const slug = uniqueName('nowk');
    const taskQueue = uniqueName('tq-nowk');
    const epicId = ids.epic(slug);
    const spec = epicSpec({
      slug,
      title: 'No worker',
      workspace: tempWorkspace(),
      settings: { ...FAST_SETTINGS, decisionTimeoutSeconds: 600 },
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
                  slug: 'f',
                  title: 'F',
                  tasks: [
                    agentTask('1.1', 30, { settings: { attempts: 1 }, dryRun: { durationMs: 30, outcome: 'failure' } }),
                  ],
                },
              ],
            },
          ],
        },
      ],
    });
    const client = await testClient();
    const { handle, question } = await withWorker(taskQueue, async () => {
      const h = await startEpic(taskQueue, spec);
      const [q] = await waitFor(
        'an escalation in the epic',
        async () => {
          const pending = await h.query(pendingQuery);
          return pending.length > 0 ? pending : undefined;
        },
        30_000,
      );
      return { handle: h, question: q };
    });
    // The worker is gone; once its last poll is older than the limit, the CLI says so.
    await new Promise((r) => setTimeout(r, (SILENT_SECONDS + 1) * 1000));
    const noWorker = new RegExp(
      `no worker is polling task queue ${escape(taskQueue)} \\(start one with \`PHASEFLOW_TASK_QUEUE=${escape(taskQueue)} phaseflow worker\`\\)`,
    );

    const all = await timed(['pending']);
    assert.equal(all.code, 1, shown(all));
    assert.ok(all.ms < 10_000, `pending took ${all.ms} ms\n${shown(all)}`);
    assert.doesNotMatch(all.stdout, /No decisions are pending/);
    assert.match(
      all.stdout,
      new RegExp(
        `^Waiting on a question \\(details need a running worker\\):$[^]*^  ${escape(epicId)}: ${noWorker.source}$`,
        'm',
      ),
    );

    const one = await timed(['pending', slug]);
    assert.equal(one.code, 1, shown(one));
    assert.ok(one.ms < 10_000, `pending ${slug} took ${one.ms} ms`);
    assert.match(
      one.stdout,
      new RegExp(
        `^Waiting on a question \\(details need a running worker\\):\\n  ${escape(epicId)}: ${noWorker.source}$`,
        'm',
      ),
    );

    const json = await timed(['pending', slug, '--json']);
    assert.equal(json.code, 1, shown(json));
    assert.deepEqual(JSON.parse(json.stdout), []);
    assert.match(json.stderr, new RegExp(`^  ${escape(epicId)}: ${noWorker.source}$`, 'm'));

    const status = await timed(['status', slug]);
    assert.match(
      status.stdout + status.stderr,
      new RegExp(`query "status" on ${escape(epicId)} failed: ${noWorker.source}`),
      shown(status),
    );
    assert.ok(status.ms < 10_000, `status took ${status.ms} ms`);

    // Without the poller check (a limit longer than the silence), the query runs into the
    // server's own answer, in the SDK error's cause chain: FAILED_PRECONDITION "no poller seen"
    // (the server's choice once the queue was silent long enough), else DEADLINE_EXCEEDED.
    const asked = await phaseflow(['status', slug], { PHASEFLOW_WORKER_SILENT_SECONDS: '100000' });
    // status asks a running run for 5 s (a live worker answers in milliseconds).
    const timedOut = `no worker answered within 5 s \\(is \`phaseflow worker\` running on task queue ${escape(taskQueue)}\\?\\)`;
    assert.match(
      asked.stdout,
      new RegExp(`query "status" on ${escape(epicId)} failed: (${noWorker.source}|${timedOut})`),
      shown(asked),
    );

    const answer = await timed(['resolve', slug, 'skip']);
    assert.equal(answer.code, 1, shown(answer));
    assert.match(answer.stderr, new RegExp(`query "pending" on ${escape(epicId)} failed: ${noWorker.source}`));
    assert.ok(answer.ms < 10_000, `resolve took ${answer.ms} ms`);

    // The answer as the CLI sends it (a worker gone between its query and its update): a time
    // limit, and the update stays on the server until a worker takes it (checked below).
    const t = Date.now();
    await assert.rejects(
      sendDecision(client, question, { action: 'retry', note: 'sent with no worker' }, 3_000),
      (err: Error) => {
        assert.equal(
          err.message,
          `no answer from a worker within 3 s for "retry" on decision ${question.id} of ${question.workflowId}; the update stays queued on the server and will be applied when a worker runs (check with \`phaseflow pending\`)`,
        );
        return true;
      },
    );
    assert.ok(Date.now() - t < 8_000, `the update waited ${Date.now() - t} ms`);

    const pause = await timed(['pause', slug]);
    assert.equal(pause.code, 0, shown(pause));
    assert.match(
      pause.stdout,
      new RegExp(
        `^Pause sent to ${escape(epicId)} \\(signal control .*\\); no worker is running, so it takes effect when one starts\\n  ${noWorker.source}$`,
        'm',
      ),
    );
    assert.ok(pause.ms < 10_000, `pause took ${pause.ms} ms`);

    const cancel = await timed(['cancel', slug]);
    assert.equal(cancel.code, 0, shown(cancel));
    assert.match(
      cancel.stdout,
      new RegExp(
        `^  cancellation requested; no worker is running, so the run ends when one starts\\n  ${noWorker.source}$`,
        'm',
      ),
    );
    assert.doesNotMatch(cancel.stdout + cancel.stderr, /being stopped/);
    assert.ok(cancel.ms < 10_000, `cancel took ${cancel.ms} ms`);
    assert.equal((await handle.describe()).status.name, 'RUNNING');

    // A worker again: the signal and the cancellation sent meanwhile are applied.
    await withWorker(taskQueue, async () => {
      await assert.rejects(
        handle.result(),
        (err) => err instanceof WorkflowFailedError && /cancel/i.test(String(err.cause?.message ?? err.message)),
      );
    });
    const events = (await handle.fetchHistory()).events ?? [];
    assert.ok(
      events.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'control'),
      'the pause signal is in the history',
    );
    assert.equal((await client.workflow.getHandle(epicId).describe()).status.name, 'CANCELLED');
    // The update sent with no worker was taken by the new one and accepted (a refused one leaves no event).
    const phaseEvents = (await client.workflow.getHandle(question.workflowId).fetchHistory()).events ?? [];
    assert.ok(
      phaseEvents.some(
        (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'decide',
      ),
      'the decide update was accepted after the worker came back',
    );
    assert.ok(
      phaseEvents.some((e) => e.workflowExecutionUpdateCompletedEventAttributes),
      'and completed',
    );
  });
});
