/**
 * The status tree of a run as one StatusNode: each workflow's `status` query answers for itself
 * and its direct children, so the CLI queries down the tree and nests the answers.
 */
import type { Client } from '@temporalio/client';
import type { DecisionRecord, PendingDecision } from '../domain/decisions';
import { workflowIds } from '../domain/ids';
import type { StatusNode } from '../workflows/messages';
import { CLOSED_QUERY_TIMEOUT_MS, QUERY_TIMEOUT_MS, queryStatus } from './target';

/** Statuses of a node that has ended. */
export const CLOSED_STATUSES = new Set(['completed', 'failed', 'cancelled', 'skipped', 'blocked']);
/** Statuses of a child that has not started or has ended (nothing live to ask it). */
export const SETTLED_STATUSES = new Set(['pending', 'not_started', ...CLOSED_STATUSES]);

/**
 * `active`: only the running chain (epic → roadmap → plan → phase), what a live view polls.
 * `started`: every child that has started, for `status` (decisions of finished plans too).
 */
export type TreeMode = 'active' | 'started';

export interface TreeQuery {
  mode?: TreeMode;
  /** Limit of each query (default QUERY_TIMEOUT_MS): a closed run is answered only while some worker replays it. */
  timeoutMs?: number;
  /** Limit of each child's query, if lower: a child that does not answer keeps the summary its parent gave. */
  childTimeoutMs?: number;
  /** No query runs past this time (epoch ms): the levels are asked one after another, so per-query limits add up. */
  deadline?: number;
  /**
   * Workflows a live view saw open in its last poll. One that has closed since is asked once
   * more in `active` mode, so its last state and its children's reach the view (without it, a
   * roadmap that finished between two polls would hide how its last plan and phase ended).
   */
  wasOpen?: ReadonlySet<string>;
}

export async function fetchTree(client: Client, workflowId: string, q: TreeQuery = {}): Promise<StatusNode> {
  const opts = {
    mode: q.mode ?? 'active',
    wasOpen: q.wasOpen ?? new Set<string>(),
    timeoutMs: q.timeoutMs ?? QUERY_TIMEOUT_MS,
    childTimeoutMs: q.childTimeoutMs,
    deadline: q.deadline,
  };
  return expand(client, await queryStatus(client, workflowId, within(opts.timeoutMs, opts.deadline)), workflowId, opts);
}

type ExpandOptions = Required<Pick<TreeQuery, 'mode' | 'wasOpen' | 'timeoutMs'>> &
  Pick<TreeQuery, 'childTimeoutMs' | 'deadline'>;

/** A query's limit cut to what is left before the deadline (at least a moment, for the root's own error). */
const within = (timeoutMs: number, deadline?: number) =>
  deadline === undefined ? timeoutMs : Math.max(1, Math.min(timeoutMs, deadline - Date.now()));

async function expand(client: Client, node: StatusNode, workflowId: string, opts: ExpandOptions): Promise<StatusNode> {
  const children = await Promise.all(
    (node.children ?? []).map(async (child) => {
      const childId = child.workflowId ?? workflowIds.child(workflowId, child.slug);
      const justClosed = opts.wasOpen.has(childId) && CLOSED_STATUSES.has(child.status);
      const wanted =
        opts.mode === 'active'
          ? !SETTLED_STATUSES.has(child.status) || justClosed
          : child.status !== 'pending' && child.status !== 'not_started';
      if (!wanted || child.source) return child; // an imported phase ran no workflow
      if (opts.deadline !== undefined && Date.now() >= opts.deadline) return { ...child, workflowId: childId };
      // A closed workflow is answered only by a worker replaying it: do not wait long for none.
      const limit = Math.min(
        opts.timeoutMs,
        opts.childTimeoutMs ?? Infinity,
        justClosed ? CLOSED_QUERY_TIMEOUT_MS : Infinity,
      );
      // A child that is gone or whose worker does not answer keeps the summary its parent gave.
      const sub = await queryStatus(client, childId, within(limit, opts.deadline)).catch(() => undefined);
      return sub ? expand(client, sub, childId, opts) : { ...child, workflowId: childId };
    }),
  );
  return { ...node, workflowId: node.workflowId ?? workflowId, ...(node.children ? { children } : {}) };
}

/** The workflow ids of the nodes still open (not settled) in a tree. */
export function openWorkflows(tree: StatusNode): Set<string> {
  return new Set(
    flatten(tree)
      .filter(({ node }) => node.workflowId && !SETTLED_STATUSES.has(node.status))
      .map(({ node }) => node.workflowId!),
  );
}

/** Every node, parents before children. */
export function flatten(
  node: StatusNode,
  depth = 0,
  out: { node: StatusNode; depth: number }[] = [],
): { node: StatusNode; depth: number }[] {
  out.push({ node, depth });
  for (const c of node.children ?? []) flatten(c, depth + 1, out);
  return out;
}

/** The questions waiting anywhere in the tree, once each (a question is carried up every level). */
export function pendingIn(tree: StatusNode): PendingDecision[] {
  return uniqueById(flatten(tree).flatMap(({ node }) => node.pending ?? []));
}

/** The decisions taken anywhere in the tree, once each, oldest first. */
export function decisionsIn(tree: StatusNode): DecisionRecord[] {
  return uniqueById(flatten(tree).flatMap(({ node }) => node.decisions ?? [])).sort((a, b) =>
    a.decidedAt.localeCompare(b.decidedAt),
  );
}

function uniqueById<T extends { id: string }>(items: T[]): T[] {
  const seen = new Map<string, T>();
  for (const i of items) if (!seen.has(i.id)) seen.set(i.id, i);
  return [...seen.values()];
}
