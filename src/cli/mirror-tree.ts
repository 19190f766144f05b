/**
 * The status tree of an epic read from its mirror files (EPIC.json → ROADMAP.json → PROGRESS.json),
 * for `status` when no worker answers a query: a finished epic with no worker up, or a run whose
 * worker has stopped. The workspace comes from the epic's start event (no worker needed).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { DecisionRecord, PendingDecision } from '../domain/decisions';
import { mirrorPaths } from '../domain/paths';
import { ZERO_USAGE, type Usage } from '../domain/types';
import type { StatusNode } from '../workflows/messages';

/** The slug and `workspace` of an epic's input, from its first history event. */
export async function epicInput(
  client: Client,
  workflowId: string,
): Promise<{ slug: string; workspace: string } | undefined> {
  const res = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId },
    maximumPageSize: 1,
  });
  const payload = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) return undefined;
  const input = client.options.loadedDataConverter.payloadConverter.fromPayload(payload) as {
    slug?: unknown;
    workspace?: unknown;
  };
  return typeof input?.workspace === 'string' && typeof input.slug === 'string'
    ? { slug: input.slug, workspace: path.resolve(input.workspace) }
    : undefined;
}

function read(file: string): any {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function usageOf(doc: any): Usage {
  if (!doc) return ZERO_USAGE;
  return {
    inputTokens: doc.input_tokens ?? 0,
    outputTokens: doc.output_tokens ?? 0,
    cacheWriteTokens: doc.cache_write_tokens ?? 0,
    cacheReadTokens: doc.cache_read_tokens ?? 0,
    costUsd: doc.cost_usd ?? 0,
    ...(doc.simulated ? { simulated: true as const } : {}),
  };
}

/** A level's node from its mirror (phaseflow's own status and counts, not CCASP's narrower words). */
function levelNode(level: StatusNode['level'], slug: string, doc: any, title: string): StatusNode {
  return {
    level,
    slug,
    title: doc?.title ?? doc?.project_name ?? title,
    status: doc?.phaseflow?.status ?? 'pending',
    tasksTotal: doc?.phaseflow?.tasks_total ?? 0,
    tasksCompleted: doc?.phaseflow?.tasks_completed ?? 0,
    usage: usageOf(doc?.phaseflow?.usage),
    ...(doc?.failure_reason ? { failureReason: doc.failure_reason } : {}),
    ...(doc?.phaseflow?.workflow_id ? { workflowId: doc.phaseflow.workflow_id } : {}),
  };
}

function phaseNode(p: any): StatusNode {
  const tasks: any[] = p.tasks ?? [];
  return {
    level: 'phase',
    slug: p.slug,
    title: p.name ?? p.slug,
    status: p.phaseflow_status ?? p.status,
    tasksTotal: tasks.length,
    tasksCompleted: tasks.filter((t) => t.status === 'completed').length,
    usage: usageOf(p.usage),
    ...(p.failure_reason ? { failureReason: p.failure_reason } : {}),
  };
}

/** The tree of epic `epicSlug` from the mirrors in `workspace`; undefined when EPIC.json is not there. */
export function treeFromMirrors(workspace: string, epicSlug: string): StatusNode | undefined {
  const epic = read(path.join(workspace, mirrorPaths.epic(epicSlug)));
  if (!epic) return undefined;
  const roadmaps = (epic.roadmaps ?? []).map((r: any) => {
    const doc = read(path.join(workspace, mirrorPaths.roadmap(r.roadmap_slug)));
    const plans = (doc?.phase_dev_plan_refs ?? []).map((ref: any) => {
      const progress = read(path.join(workspace, mirrorPaths.progress(ref.plan_id)));
      const pending = progress?.waiting_for as PendingDecision | undefined;
      return {
        ...levelNode('plan', ref.plan_id, progress, ref.title),
        ...(pending ? { pending: [pending] } : {}),
        decisions: (progress?.decisions ?? []) as DecisionRecord[],
        children: (progress?.phases ?? []).map(phaseNode),
      };
    });
    return { ...levelNode('roadmap', r.roadmap_slug, doc, r.title), children: plans };
  });
  return { ...levelNode('epic', epicSlug, epic, epicSlug), children: roadmaps };
}
