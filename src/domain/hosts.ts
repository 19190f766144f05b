/**
 * Worker hosts: an epic whose `host` is set runs its workspace activities (files, commands,
 * agents, gates, mirrors) only on workers of that host, through the host's own task queue
 * (Temporal's worker-specific task queue pattern). Its workflows still run on any worker.
 * Shared by the workflows, the worker and the CLI, so all three spell the queue the same way.
 */

/** A host name: what `phaseflow worker --host` and `phaseflow start --host` take. */
export const HOST_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const HOST_NAME_RULE = 'lowercase letters, digits and dashes, starting with a letter or digit (at most 63)';

/** The task queue of a host's workspace activities, beside the shared queue its workflows use. */
export function hostTaskQueue(sharedQueue: string, host: string): string {
  return `${sharedQueue}-host-${host}`;
}

/** Worker identities name their host, so history events (ActivityTaskStarted) show where an activity ran. */
export function hostWorkerIdentity(host: string, pid: number, machine: string): string {
  return `${pid}@${machine} host=${host}`;
}

/** The host named in a worker identity made by hostWorkerIdentity, if any. */
export function hostOfIdentity(identity: string): string | undefined {
  return / host=([a-z0-9][a-z0-9-]*)$/.exec(identity)?.[1];
}
