/**
 * Roadmap and epic state: the progress their children reported, rolled up, and how it renders
 * into ROADMAP.json, EPIC.json and the status tree. Pure functions.
 */
import type { Limit } from '../domain/budget';
import { workflowIds } from '../domain/ids';
import type { EpicDoc, RoadmapDoc } from '../domain/mirrors';
import type { EpicSpec, RoadmapSpec } from '../domain/spec';
import { addUsage, totalTokens, type Usage, ZERO_USAGE } from '../domain/types';
import { ccaspStatus, type RunStatus, shownStatus } from '../domain/status';
import type { ChildProgress, StatusNode } from './messages';
import { mirrorMeta, percent } from './plan-state';

export interface LevelState {
  slug: string;
  title: string;
  workflowId: string;
  status: RunStatus;
  created: string;
  updated: string;
  failureReason?: string;
  children: (ChildProgress & { title: string; description: string })[];
  /** This level's own budget (raised by people as the run goes). */
  limit: Limit;
  paused: boolean;
}

/** A level that has not started; `now` and `workflowId` come from the workflow. */
export function initialLevelState(args: {
  slug: string;
  title: string;
  workflowId: string;
  now: string;
  limit?: Limit;
  children: Parameters<typeof initialChildren>[0];
}): LevelState {
  return {
    limit: { ...args.limit },
    paused: false,
    slug: args.slug,
    title: args.title,
    workflowId: args.workflowId,
    status: 'pending',
    created: args.now,
    updated: args.now,
    children: initialChildren(args.children),
  };
}

export function initialChildren(
  items: { slug: string; title: string; description: string; tasks: number; phases: number }[],
): LevelState['children'] {
  return items.map((i) => ({
    slug: i.slug,
    title: i.title,
    description: i.description,
    status: 'pending',
    tasksTotal: i.tasks,
    tasksCompleted: 0,
    phasesTotal: i.phases,
    phasesCompleted: 0,
    usage: ZERO_USAGE,
  }));
}

export const planSizes = (r: RoadmapSpec) =>
  r.plans.map((p) => ({
    slug: p.slug,
    title: p.title,
    description: p.description,
    phases: p.phases.length,
    tasks: p.phases.reduce((n, ph) => n + ph.tasks.length, 0),
  }));

export const roadmapSizes = (e: EpicSpec) =>
  e.roadmaps.map((r) => {
    const plans = planSizes(r);
    return {
      slug: r.slug,
      title: r.title,
      description: r.description,
      phases: plans.reduce((n, p) => n + p.phases, 0),
      tasks: plans.reduce((n, p) => n + p.tasks, 0),
    };
  });

/** Merges a child's report; reports never take a child backwards. */
export function applyChildProgress(level: LevelState, p: ChildProgress, at: string): boolean {
  const child = level.children.find((c) => c.slug === p.slug);
  if (!child) return false;
  if (
    p.tasksCompleted < child.tasksCompleted &&
    p.status === child.status &&
    !p.pending?.length === !child.pending?.length
  )
    return false;
  const { raisedLimits: _raised, ...report } = p;
  Object.assign(child, { ...report, title: child.title, description: child.description });
  level.updated = at;
  return true;
}

export function rollup(level: LevelState): ChildProgress {
  const sum = (f: (c: ChildProgress) => number) => level.children.reduce((n, c) => n + f(c), 0);
  const current = level.children.find((c) => c.status === 'active');
  return {
    slug: level.slug,
    status: level.status,
    tasksTotal: sum((c) => c.tasksTotal),
    tasksCompleted: sum((c) => c.tasksCompleted),
    phasesTotal: sum((c) => c.phasesTotal),
    phasesCompleted: sum((c) => c.phasesCompleted),
    usage: level.children.reduce((u: Usage, c) => addUsage(u, c.usage), ZERO_USAGE),
    ...(current ? { current: current.title } : {}),
    ...(level.failureReason ? { failureReason: level.failureReason } : {}),
    pending: pendingBelow(level),
    paused: level.paused,
  };
}

export const pendingBelow = (level: LevelState) =>
  level.status === 'active' ? level.children.flatMap((c) => (c.status === 'active' ? (c.pending ?? []) : [])) : [];

/** What the mirror, the Web UI and the search attribute show. */
export const shownLevelStatus = (level: LevelState) =>
  shownStatus(level.status, { waiting: pendingBelow(level).length > 0, paused: level.paused });

/** A child as its parent's file shows it: the same rule as the child's own file (waiting beats paused). */
const shownChildStatus = (level: LevelState, c: LevelState['children'][number]) =>
  shownStatus(c.status, { waiting: (c.pending?.length ?? 0) > 0, paused: level.paused });

function meta(level: LevelState, revision: number) {
  const r = rollup(level);
  return mirrorMeta(level.workflowId, revision, shownLevelStatus(level), r.usage, r.tasksTotal, r.tasksCompleted);
}

export function roadmapDoc(
  level: LevelState,
  args: { epicSlug: string; description: string; order: number },
  revision: number,
): RoadmapDoc {
  const r = rollup(level);
  return {
    roadmap_id: level.slug,
    title: level.title,
    description: args.description,
    epic_slug: args.epicSlug,
    status: ccaspStatus('roadmap', shownLevelStatus(level)),
    order: args.order,
    // All phases of all its plans (EPIC.json's estimated_phases for this roadmap says the same).
    estimated_phases: r.phasesTotal,
    completion_percentage: percent(r.tasksCompleted, r.tasksTotal, level.status === 'completed'),
    created: level.created,
    updated: level.updated,
    ...(level.failureReason ? { failure_reason: level.failureReason } : {}),
    phase_dev_plan_refs: level.children.map((c) => ({
      plan_id: c.slug,
      title: c.title,
      status: shownChildStatus(level, c),
      completion_percentage: percent(c.tasksCompleted, c.tasksTotal, c.status === 'completed'),
    })),
    // CCASP's roadmap "phases" are the high-level steps; in phaseflow each is one plan.
    phases: level.children.map((c, i) => ({
      id: i + 1,
      name: c.title,
      description: c.description,
      estimated_tasks: c.tasksTotal,
      status: ccaspStatus('roadmapStep', c.status),
      plan_id: c.slug,
    })),
    token_allocation: {
      used: totalTokens(r.usage),
      ...(level.limit.tokens !== undefined ? { limit: level.limit.tokens } : {}),
      ...(level.limit.usd !== undefined ? { limit_usd: level.limit.usd } : {}),
      ...(r.usage.simulated ? { simulated: true } : {}),
    },
    waiting_for: pendingBelow(level),
    phaseflow: meta(level, revision),
  };
}

export function epicDoc(level: LevelState, args: { description: string; tags: string[] }, revision: number): EpicDoc {
  const r = rollup(level);
  return {
    epic_id: level.slug,
    title: level.title,
    description: args.description,
    status: ccaspStatus('epic', shownLevelStatus(level)),
    completion_percentage: percent(r.tasksCompleted, r.tasksTotal, level.status === 'completed'),
    created: level.created,
    updated: level.updated,
    tags: args.tags,
    ...(level.failureReason ? { failure_reason: level.failureReason } : {}),
    roadmaps: level.children.map((c, i) => ({
      roadmap_slug: c.slug,
      title: c.title,
      order: i + 1,
      status: ccaspStatus('epicRoadmap', shownChildStatus(level, c)),
      completion_percentage: percent(c.tasksCompleted, c.tasksTotal, c.status === 'completed'),
      estimated_phases: c.phasesTotal,
    })),
    token_budget: {
      tokens: level.limit.tokens ?? null,
      usd: level.limit.usd ?? null,
      used_tokens: totalTokens(r.usage),
      used_usd: r.usage.costUsd,
      ...(r.usage.simulated ? { simulated: true } : {}),
    },
    waiting_for: pendingBelow(level),
    phaseflow: meta(level, revision),
  };
}

export function levelStatusNode(
  kind: 'epic' | 'roadmap',
  level: LevelState,
  childKind: 'roadmap' | 'plan',
): StatusNode {
  const r = rollup(level);
  return {
    level: kind,
    slug: level.slug,
    title: level.title,
    status: shownLevelStatus(level),
    tasksTotal: r.tasksTotal,
    tasksCompleted: r.tasksCompleted,
    usage: r.usage,
    failureReason: level.failureReason,
    paused: level.paused,
    pending: pendingBelow(level),
    budget: { limit: level.limit, usedTokens: totalTokens(r.usage), usedUsd: r.usage.costUsd },
    workflowId: level.workflowId,
    children: level.children.map((c) => ({
      level: childKind,
      slug: c.slug,
      title: c.title,
      status: c.status,
      tasksTotal: c.tasksTotal,
      tasksCompleted: c.tasksCompleted,
      usage: c.usage,
      failureReason: c.failureReason,
      pending: c.pending ?? [],
      paused: c.paused,
      workflowId: workflowIds.child(level.workflowId, c.slug),
    })),
  };
}
