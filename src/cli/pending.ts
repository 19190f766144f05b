/**
 * `phaseflow pending [ID]`: every question waiting on a person, in one epic or in all running
 * epics (found by their search attributes, then asked with the `pending` query).
 */
import type { Client } from '@temporalio/client';
import type { PendingDecision } from '../domain/decisions';
import { CliError } from './errors';
import { pendingTable } from './render';
import { SA } from '../domain/search-attributes';
import {
  NoWorker,
  noWorkerText,
  QueryTimedOut,
  queryPending,
  rememberTaskQueue,
  resolveTarget,
  withClient,
} from './target';

export const RUNNING_EPICS = 'PhaseflowLevel="epic" AND ExecutionStatus="Running"';

export interface PendingRow {
  epicId: string;
  pending: PendingDecision;
}

/** An epic that could not be asked, and what the server knows of it without a worker. */
export interface UnaskedEpic {
  epicId: string;
  /** Its PhaseflowStatus search attribute says a question waits. */
  waiting: boolean;
  why: string;
}

export async function pendingCommand(id: string | undefined, opts: { json?: boolean }): Promise<void> {
  await withClient(async (client) => {
    const { rows, problems, unasked } = id ? await pendingOf(client, id) : await pendingEverywhere(client);
    for (const p of problems) console.error(`warning: ${p}`);
    if (opts.json) console.log(JSON.stringify(rows, null, 2));
    // "Nothing pending" only when every epic answered.
    else if (rows.length > 0 || (problems.length === 0 && unasked.length === 0))
      for (const line of pendingTable(rows, Date.now())) console.log(line);
    const waiting = unasked.filter((u) => u.waiting);
    if (waiting.length > 0) {
      // With --json, stdout stays the JSON rows.
      const say = opts.json ? console.error : console.log;
      say(`${rows.length && !opts.json ? '\n' : ''}Waiting on a question (details need a running worker):`);
      for (const u of waiting) say(`  ${u.epicId}: ${u.why}`);
    }
    for (const u of unasked.filter((x) => !x.waiting))
      console.error(`warning: ${u.epicId} not asked (${u.why}); its PhaseflowStatus does not say waiting`);
    // Some epics could not be asked: the list is incomplete, and the exit code says so.
    if (problems.length > 0 || unasked.length > 0) throw new CliError('', 1);
  });
}

interface Found {
  rows: PendingRow[];
  problems: string[];
  unasked: UnaskedEpic[];
}

async function pendingOf(client: Client, id: string): Promise<Found> {
  const target = await resolveTarget(client, id);
  if (target.status !== 'RUNNING')
    return {
      rows: [],
      problems: [`${target.workflowId} is ${target.status.toLowerCase()}; nothing waits in it`],
      unasked: [],
    };
  try {
    const pending = await queryPending(client, target.workflowId);
    return { rows: pending.map((p) => ({ epicId: target.epicId, pending: p })), problems: [], unasked: [] };
  } catch (err) {
    if (!(err instanceof NoWorker || err instanceof QueryTimedOut)) throw err;
    const waiting = target.description.typedSearchAttributes.get(SA.status) === 'waiting';
    const why = err instanceof NoWorker ? noWorkerText(err.taskQueue) : err.message;
    return { rows: [], problems: [], unasked: [{ epicId: target.workflowId, waiting, why }] };
  }
}

async function pendingEverywhere(client: Client): Promise<Found> {
  const epics: { id: string; taskQueue: string }[] = [];
  for await (const wf of client.workflow.list({ query: RUNNING_EPICS })) {
    epics.push({ id: wf.workflowId, taskQueue: wf.taskQueue });
    rememberTaskQueue(client, wf.workflowId, wf.taskQueue);
  }
  const found: Found = { rows: [], problems: [], unasked: [] };
  // A task queue no worker answers on: the other epics there are not asked (15 s each otherwise).
  const down = new Map<string, string>();
  // One epic at a time keeps a slow worker from being asked dozens of queries at once.
  for (const { id: epicId, taskQueue } of epics.sort((a, b) => a.id.localeCompare(b.id))) {
    const known = down.get(taskQueue);
    if (known) {
      found.unasked.push({ epicId, waiting: false, why: known });
      continue;
    }
    try {
      for (const p of await queryPending(client, epicId)) found.rows.push({ epicId, pending: p });
    } catch (err) {
      if (err instanceof NoWorker) down.set(taskQueue, noWorkerText(taskQueue));
      else if (err instanceof QueryTimedOut) down.set(taskQueue, `no worker answered on task queue ${taskQueue}`);
      else {
        found.problems.push((err as Error).message);
        continue;
      }
      found.unasked.push({ epicId, waiting: false, why: down.get(taskQueue)! });
    }
  }
  // What the server knows without a worker: the epics' PhaseflowStatus search attribute.
  if (found.unasked.length > 0) {
    const waiting = new Set<string>();
    for await (const wf of client.workflow.list({ query: `${RUNNING_EPICS} AND ${SA.status.name}="waiting"` }))
      waiting.add(wf.workflowId);
    for (const u of found.unasked) u.waiting = waiting.has(u.epicId);
  }
  found.rows.sort((a, b) => a.pending.defaultAt.localeCompare(b.pending.defaultAt));
  return found;
}
