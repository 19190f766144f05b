/**
 * Worker hosts as the server sees them: which hosts have workers polling (their identities name
 * the host, domain/hosts.ts), how many epics each runs, which one `start` pins a new epic to (the
 * least loaded), and the line `status` shows for a pinned epic whose host is down.
 */
import type { Client } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { HOST_NAME, HOST_NAME_RULE, hostOfIdentity, hostTaskQueue } from '../domain/hosts';
import { SA } from '../domain/search-attributes';
import { CliError } from './errors';

/**
 * An idle worker's poll ends after the server's long-poll interval (a minute by default, 10 s on
 * `phaseflow stack`) and it polls again at once; a host not seen polling for longer than this is
 * down (the server keeps listing a dead poller for minutes). PHASEFLOW_HOST_LIVE_SECONDS sets it
 * (25 is safe on the stack).
 */
export function hostLiveMs(env = process.env): number {
  const s = Number(env.PHASEFLOW_HOST_LIVE_SECONDS);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 75_000;
}

export interface HostReport {
  host: string;
  queue: string;
  /** Workers of the host seen polling its queue recently. */
  liveWorkers: number;
  /** When a worker of the host last polled its queue (ms since epoch), if ever. */
  lastSeen?: number;
  runningEpics: number;
}

async function pollers(client: Client, queue: string): Promise<{ identity: string; at: number }[]> {
  const r = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: queue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  return (r.pollers ?? []).map((p) => ({ identity: p.identity ?? '', at: optionalTsToMs(p.lastAccessTime) ?? 0 }));
}

/** Hosts whose workers the server has seen on the shared queue (a host worker polls it too). */
async function hostNames(client: Client, sharedQueue: string): Promise<string[]> {
  const names = new Set<string>();
  for (const p of await pollers(client, sharedQueue)) {
    const h = hostOfIdentity(p.identity);
    if (h) names.add(h);
  }
  return [...names].sort();
}

export async function hostReport(
  client: Client,
  sharedQueue: string,
  host: string,
  now = Date.now(),
): Promise<HostReport> {
  const queue = hostTaskQueue(sharedQueue, host);
  const seen = await pollers(client, queue);
  const lastSeen = seen.length ? Math.max(...seen.map((p) => p.at)) : undefined;
  const { count } = await client.workflow.count(
    `${SA.host.name}="${host}" AND ${SA.level.name}="epic" AND ExecutionStatus="Running"`,
  );
  return {
    host,
    queue,
    liveWorkers: seen.filter((p) => now - p.at < hostLiveMs()).length,
    lastSeen,
    runningEpics: count,
  };
}

export async function hostReports(client: Client, sharedQueue: string): Promise<HostReport[]> {
  const now = Date.now();
  return Promise.all((await hostNames(client, sharedQueue)).map((h) => hostReport(client, sharedQueue, h, now)));
}

/**
 * The host a new epic is pinned to: `wanted` if given (checked), else the live host running the
 * fewest epics (ties by name), else none when no host workers run (the epic then runs anywhere).
 */
export async function chooseHost(
  client: Client,
  sharedQueue: string,
  wanted: string | undefined,
): Promise<{ host?: string; why: string }> {
  if (wanted !== undefined) {
    if (!HOST_NAME.test(wanted)) throw new CliError(`--host ${JSON.stringify(wanted)}: expected ${HOST_NAME_RULE}`);
    const r = await hostReport(client, sharedQueue, wanted);
    return {
      host: wanted,
      why: r.liveWorkers
        ? `host ${wanted} (${r.liveWorkers} worker(s) polling ${r.queue})`
        : `host ${wanted}: no worker of it polls ${r.queue} now; the epic waits until one does`,
    };
  }
  const live = (await hostReports(client, sharedQueue)).filter((r) => r.liveWorkers > 0);
  if (!live.length) return { why: 'no host workers run: any worker may run it' };
  const loads = live.map((r) => `${r.host} ${r.runningEpics}`).join(', ');
  live.sort((a, b) => a.runningEpics - b.runningEpics || a.host.localeCompare(b.host));
  return { host: live[0].host, why: `host ${live[0].host}, the least loaded (running epics: ${loads})` };
}

/** What `status` says about the host of a pinned epic; the worst case first: nobody runs its activities. */
export function hostLine(r: HostReport, now = Date.now()): string {
  if (r.liveWorkers > 0) return `host ${r.host}: ${r.liveWorkers} worker(s) polling ${r.queue}`;
  const since = r.lastSeen
    ? `since ${new Date(r.lastSeen).toISOString()} (${Math.round((now - r.lastSeen) / 1000)} s)`
    : 'ever';
  return (
    `host ${r.host} is DOWN: no worker has polled ${r.queue} ${since}. ` +
    `The epic's activities wait in that queue and resume when a worker of host ${r.host} starts (phaseflow worker --host ${r.host})`
  );
}

/** `phaseflow hosts`: every host seen, its workers and its running epics. */
export async function hostsCommand(client: Client, sharedQueue: string, opts: { json?: boolean }): Promise<void> {
  const reports = await hostReports(client, sharedQueue);
  if (opts.json) {
    console.log(JSON.stringify(reports, null, 2));
    return;
  }
  if (!reports.length) {
    console.log(`no host workers seen on task queue ${sharedQueue} (start one with phaseflow worker --host NAME)`);
    return;
  }
  for (const r of reports) console.log(`${hostLine(r)}; ${r.runningEpics} running epic(s)`);
}

/** The host report of the epic `epicId` is pinned to, or undefined for an epic pinned to none. */
export async function epicHostReport(
  client: Client,
  epicId: string,
  sharedQueue: string,
): Promise<HostReport | undefined> {
  const d = await client.workflow
    .getHandle(epicId)
    .describe()
    .catch(() => undefined);
  const host = d?.typedSearchAttributes.get(SA.host);
  return host ? hostReport(client, d?.taskQueue ?? sharedQueue, host) : undefined;
}
