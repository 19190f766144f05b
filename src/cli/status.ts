/** `phaseflow status ID`: the tree of a run, what it waits on, and the decisions taken so far. */
import { type Client, WorkflowFailedError } from '@temporalio/client';
import { decisionLine, pendingLines, treeLines } from './render';
import { epicInput, treeFromMirrors } from './mirror-tree';
import { CLOSED_QUERY_TIMEOUT_MS, idleTaskQueue, noWorkerText, resolveTarget, withClient } from './target';
import { decisionsIn, fetchTree, pendingIn, SETTLED_STATUSES } from './tree';
import { failureReason } from './watch';
import { epicHostReport, hostLine } from './hosts';
import { temporalConfig } from '../temporal/config';
import type { StatusNode } from '../workflows/messages';

export async function statusCommand(id: string, opts: { json?: boolean }): Promise<void> {
  await withClient(async (client) => {
    const target = await resolveTarget(client, id);
    let tree: StatusNode | undefined;
    let problem: string | undefined;
    // No worker polls: no query can be answered, so none is sent (it would only wait).
    const idle = await idleTaskQueue(client, target.workflowId);
    if (idle) problem = `query "status" on ${target.workflowId} failed: ${noWorkerText(idle)}`;
    else
      try {
        // A closed run answers only while a worker is up to replay it: do not wait long for none.
        tree = await fetchTree(client, target.workflowId, {
          mode: 'started',
          timeoutMs: target.status === 'RUNNING' ? STATUS_QUERY_TIMEOUT_MS : CLOSED_QUERY_TIMEOUT_MS,
        });
      } catch (err) {
        problem = (err as Error).message;
      }
    // Without a worker the epic's mirror files still tell its tree (the workspace is on this machine).
    const fromMirrors = tree ? undefined : await mirrorTree(client, target);
    if (fromMirrors) tree = fromMirrors.tree;
    // A closed run waits for nobody, whatever a closed phase still reports.
    const pending = tree && target.status === 'RUNNING' ? pendingIn(tree) : [];
    const decisions = tree ? decisionsIn(tree) : [];
    // No tree to say why a closed run ended (it failed before it could answer, or no worker
    // replays it): its close event says.
    const failure =
      (!tree || fromMirrors) && target.status !== 'RUNNING' ? await closeFailure(client, target.workflowId) : undefined;
    // A pinned epic's activities run only on its host: whether that host is up matters while it runs.
    const host =
      target.status === 'RUNNING' ? await epicHostReport(client, target.epicId, temporalConfig().taskQueue) : undefined;
    if (opts.json) {
      console.log(
        JSON.stringify(
          {
            workflowId: target.workflowId,
            epicId: target.epicId,
            status: target.status,
            tree,
            ...(fromMirrors ? { treeSource: 'mirrors', workspace: fromMirrors.workspace, problem } : {}),
            ...(failure ? { failure } : {}),
            ...(host ? { host } : {}),
            pending,
            decisions,
          },
          null,
          2,
        ),
      );
      return;
    }
    if (!tree) {
      // Exit 0 as for any run that status can describe, failed or not.
      console.log(`${target.workflowId}: workflow ${target.status.toLowerCase()}`);
      if (host) console.log(`  ${hostLine(host)}`);
      if (failure) for (const line of failure.split('\n')) console.log(`  ${line}`);
      console.log(`  (no status tree: ${problem})`);
      return;
    }
    console.log(`${target.workflowId}: ${headline(tree, target.status)}`);
    if (host) console.log(`  ${hostLine(host)}`);
    if (fromMirrors) console.log(`  (from the mirror files in ${fromMirrors.workspace}: ${problem})`);
    for (const line of treeLines(tree)) console.log(`  ${line}`);
    if (failure && fromMirrors) for (const line of failure.split('\n')) console.log(`  ${line}`);
    const now = Date.now();
    if (pending.length) {
      console.log(`Waiting for ${pending.length === 1 ? 'a decision' : `${pending.length} decisions`}:`);
      for (const p of pending) for (const line of pendingLines(p, now, '  ', { explain: true })) console.log(line);
    }
    if (decisions.length) {
      console.log('Decisions so far:');
      for (const d of decisions) console.log(`  ${decisionLine(d)}`);
    }
  });
}

/** A running run's query limit for `status`: a live worker answers in milliseconds. */
const STATUS_QUERY_TIMEOUT_MS = 5_000;

/** The epic's tree from its mirrors, when `target` is an epic whose workspace is readable here. */
async function mirrorTree(
  client: Client,
  target: { workflowId: string; epicId: string },
): Promise<{ tree: StatusNode; workspace: string } | undefined> {
  if (target.workflowId !== target.epicId) return undefined;
  const input = await epicInput(client, target.workflowId).catch(() => undefined);
  const tree = input && treeFromMirrors(input.workspace, input.slug);
  return tree ? { tree, workspace: input.workspace } : undefined;
}

/**
 * What the tree says (`phase failed`), and the Temporal execution status when it says something
 * else: a phase whose tasks failed still completes its workflow, handing the outcome to its plan.
 */
export function headline(tree: StatusNode, workflowStatus: string): string {
  const workflow = workflowStatus.toLowerCase();
  const same = workflow === tree.status || (workflow === 'running' && !SETTLED_STATUSES.has(tree.status));
  return `${tree.level} ${tree.status}${same ? '' : ` (workflow ${workflow})`}`;
}

/**
 * How a closed workflow failed, from its close event (no worker needed): the failure that says
 * why (an epic's input check lists every field path); undefined if it completed.
 */
async function closeFailure(client: Client, workflowId: string): Promise<string | undefined> {
  try {
    await client.connection.withDeadline(Date.now() + CLOSED_QUERY_TIMEOUT_MS, () =>
      client.workflow.getHandle(workflowId).result(),
    );
    return undefined;
  } catch (err) {
    return err instanceof WorkflowFailedError ? failureReason(err) : undefined;
  }
}
