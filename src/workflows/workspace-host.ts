/**
 * Which task queue this workflow run's workspace activities go to. An epic pinned to a host
 * (`host` in its spec) passes the host down to every level, and each level's workflow function
 * pins itself at its start; the activity options of files, commands, agents, gates and mirrors
 * then carry the host's queue. Unpinned epics keep the workflow's own queue (no `taskQueue`
 * option at all, so their commands are unchanged). Module state is per workflow run in the
 * Temporal sandbox, so two epics on one worker never see each other's host.
 */
import type { ActivityOptions } from '@temporalio/workflow';
import { workflowInfo } from '@temporalio/workflow';
import { hostTaskQueue } from '../domain/hosts';

let host: string | undefined;

export function pinToHost(name: string | undefined): void {
  host = name;
}

/** `opts` with the host's task queue when this run is pinned to a host. */
export function onWorkspaceHost<T extends ActivityOptions>(opts: T): T {
  return host ? { ...opts, taskQueue: hostTaskQueue(workflowInfo().taskQueue, host) } : opts;
}
