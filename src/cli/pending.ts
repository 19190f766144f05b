/**
 * `phaseflow pending [ID]`: every question waiting on a person, in one epic or in all running
 * epics (found by their search attributes, then asked with the `pending` query).
 */
import type { Client } from '@temporalio/client';
import type { PendingDecision } from '../domain/decisions';
import { CliError } from './errors';
import { pendingTable } from './render';
import { queryPending, resolveTarget, withClient } from './target';

export const RUNNING_EPICS = 'PhaseflowLevel="epic" AND ExecutionStatus="Running"';

export interface PendingRow {
  epicId: string;
  pending: PendingDecision;
}

export async function pendingCommand(id: string | undefined, opts: { json?: boolean }): Promise<void> {
  await withClient(async (client) => {
    const { rows, problems } = id ? await pendingOf(client, id) : await pendingEverywhere(client);
    for (const p of problems) console.error(`warning: ${p}`);
    if (opts.json) console.log(JSON.stringify(rows, null, 2));
    else for (const line of pendingTable(rows, Date.now())) console.log(line);
    // Nothing could be asked at all: say so with the exit code too.
    if (problems.length > 0 && rows.length === 0) throw new CliError('', 1);
  });
}

async function pendingOf(client: Client, id: string): Promise<{ rows: PendingRow[]; problems: string[] }> {
  const target = await resolveTarget(client, id);
  if (target.status !== 'RUNNING') return { rows: [], problems: [`${target.workflowId} is ${target.status.toLowerCase()}; nothing waits in it`] };
  const pending = await queryPending(client, target.workflowId);
  return { rows: pending.map((p) => ({ epicId: target.epicId, pending: p })), problems: [] };
}

async function pendingEverywhere(client: Client): Promise<{ rows: PendingRow[]; problems: string[] }> {
  const epics: string[] = [];
  for await (const wf of client.workflow.list({ query: RUNNING_EPICS })) epics.push(wf.workflowId);
  const rows: PendingRow[] = [];
  const problems: string[] = [];
  // One epic at a time keeps a slow worker from being asked dozens of queries at once.
  for (const epicId of epics.sort()) {
    try {
      for (const p of await queryPending(client, epicId)) rows.push({ epicId, pending: p });
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  rows.sort((a, b) => a.pending.defaultAt.localeCompare(b.pending.defaultAt));
  return { rows, problems };
}
