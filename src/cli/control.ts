/**
 * `phaseflow pause | resume | cancel`. Pause and resume are the `control` signal (a level applies
 * it and passes it down to its running child); cancel is Temporal's own cancellation of the epic,
 * which the workflows turn into `cancelled` mirrors before they close.
 */
import type { Client } from '@temporalio/client';
import type { ControlMessage } from '../domain/decisions';
import { controlSignal } from '../workflows/messages';
import { CliError } from './errors';
import { duration } from './render';
import {
  idleTaskQueue,
  noWorkerText,
  operator,
  queryStatus,
  requireRunning,
  resolveTarget,
  withClient,
} from './target';

/** How long pause/resume wait to see the new state in the `status` query before saying so. */
const CONFIRM_MS = 10_000;

export async function pauseCommand(id: string, paused: boolean): Promise<void> {
  await withClient(async (client) => {
    const target = await resolveTarget(client, id);
    requireRunning(target, paused ? 'pause' : 'resume');
    const msg: ControlMessage = { paused, by: operator() };
    // No worker: nothing can answer the status query; the signal waits in the history for one.
    const tq = await idleTaskQueue(client, target.workflowId);
    if (tq) {
      await client.workflow.getHandle(target.workflowId).signal(controlSignal, msg);
      console.log(
        `${paused ? 'Pause' : 'Resume'} sent to ${target.workflowId} (signal control ${JSON.stringify(msg)}); no worker is running, so it takes effect when one starts`,
      );
      console.log(`  ${noWorkerText(tq)}`);
      return;
    }
    // Nothing to do when it already is: say so instead of sending a signal that changes nothing.
    // (Without an answer from a worker the signal goes anyway; it is harmless.)
    const now = await queryStatus(client, target.workflowId).catch(() => undefined);
    if (now && Boolean(now.paused) === paused) {
      console.log(
        paused
          ? `${target.workflowId} is already paused; nothing sent (\`phaseflow resume ${target.given}\` resumes it)`
          : `${target.workflowId} is not paused; nothing sent`,
      );
      return;
    }
    await client.workflow.getHandle(target.workflowId).signal(controlSignal, msg);
    const seen = await confirm(client, target.workflowId, (n) => n.paused === paused);
    const what = paused ? 'Paused' : 'Resumed';
    console.log(`${what} ${target.workflowId} (signal control ${JSON.stringify(msg)})`);
    if (seen)
      console.log(
        paused
          ? '  no new task starts until `phaseflow resume`; tasks already running finish their attempt'
          : '  tasks start again',
      );
    // The signal is in the history either way; a worker that comes back applies it.
    else
      console.error(
        `warning: its status did not show ${paused ? 'paused' : 'resumed'} within ${CONFIRM_MS / 1000} s (is a worker running?)`,
      );
  });
}

async function confirm(client: Client, workflowId: string, ok: (n: { paused?: boolean }) => boolean): Promise<boolean> {
  const deadline = Date.now() + CONFIRM_MS;
  while (Date.now() < deadline) {
    const node = await queryStatus(client, workflowId).catch(() => undefined);
    if (node && ok(node)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

export async function cancelCommand(id: string, opts: { waitSeconds: number }): Promise<void> {
  await withClient(async (client) => {
    const target = await resolveTarget(client, id);
    const epicId = target.epicId;
    const handle = client.workflow.getHandle(epicId);
    const before = epicId === target.workflowId ? target.status : (await handle.describe()).status.name;
    if (before !== 'RUNNING') throw new CliError(`cannot cancel ${epicId}: it is ${before.toLowerCase()}, not running`);
    const tq = await idleTaskQueue(client, epicId);
    const started = Date.now();
    await handle.cancel();
    console.log(
      `Requested cancellation of ${epicId}${epicId !== target.workflowId ? ` (the epic of ${target.workflowId})` : ''} by ${operator()}`,
    );
    if (tq) {
      // Nothing runs to stop: the request waits in the history, and the next worker ends the run.
      console.log('  cancellation requested; no worker is running, so the run ends when one starts');
      console.log(`  ${noWorkerText(tq)}`);
      return;
    }
    const closed = await Promise.race([
      handle.result().then(
        () => true,
        () => true,
      ),
      new Promise<false>((r) => setTimeout(() => r(false), opts.waitSeconds * 1000)),
    ]);
    const status = (await handle.describe()).status.name;
    if (!closed) {
      throw new CliError(
        `${epicId} is still ${status.toLowerCase()} ${opts.waitSeconds} s after the cancellation request (running tasks are being stopped); follow it with \`phaseflow watch ${epicId}\``,
      );
    }
    console.log(`${epicId} is ${status.toLowerCase()} after ${duration(Date.now() - started)}`);
    if (status !== 'CANCELLED')
      throw new CliError(
        `${epicId} ended ${status.toLowerCase()}, not cancelled (it finished before the request reached it)`,
      );
  });
}
