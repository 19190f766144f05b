/**
 * A worker host (`phaseflow worker --host NAME`): besides the shared task queue (workflows, and
 * the activities of epics pinned to no host), its workers poll the host's own task queue, where
 * the workflows of epics pinned to NAME send every file, command, agent, gate and mirror
 * activity. Run several workers with the same NAME on one machine to share its load; a host that
 * is down holds its epics' activities in its queue until a worker of that host polls again.
 */
import * as os from 'node:os';
import { type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import * as activities from './activities';
import { WORKSPACE_ROOT_ENV } from './activities/workspace-root';
import { HOST_NAME, HOST_NAME_RULE, hostTaskQueue, hostWorkerIdentity } from './domain/hosts';

export interface HostOptions {
  host: string;
  /** Workspaces this host holds; an epic's workspace elsewhere is refused (activities/workspace-root.ts). */
  workspaceRoot?: string;
}

/** Checks the options and sets what the activities read; returns the identity the host's workers poll with. */
export function hostSetUp(opts: HostOptions): string {
  if (!HOST_NAME.test(opts.host)) throw new Error(`--host ${JSON.stringify(opts.host)}: expected ${HOST_NAME_RULE}`);
  if (opts.workspaceRoot) process.env[WORKSPACE_ROOT_ENV] = opts.workspaceRoot;
  return hostWorkerIdentity(opts.host, process.pid, os.hostname());
}

/** The activity-only worker on the host's task queue. */
export function createHostWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  sharedQueue: string;
  host: string;
  identity: string;
  maxConcurrentActivities?: number;
  /** The shared worker's heartbeat throttle (worker.ts), so a cancel reaches host activities as fast. */
  heartbeatThrottle: Pick<WorkerOptions, 'maxHeartbeatThrottleInterval' | 'defaultHeartbeatThrottleInterval'>;
}): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: hostTaskQueue(opts.sharedQueue, opts.host),
    activities,
    identity: opts.identity,
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? 100,
    ...opts.heartbeatThrottle,
  });
}

/** Runs the shared worker and the host worker together; either one stopping (a signal, a fatal error) stops both. */
export async function runTogether(shared: Worker, host: Worker): Promise<void> {
  const runs = [shared.run(), host.run()];
  try {
    await Promise.race(runs);
  } finally {
    for (const w of [shared, host]) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.allSettled(runs);
  }
  await Promise.all(runs);
}
