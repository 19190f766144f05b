/**
 * Re-planning a running plan: which phases may change and what a new version of the plan
 * changes. Pure (workflow-safe): the plan workflow checks a `replan` update with it against its
 * live state, and the CLI shows the same verdict before it sends anything.
 *
 * The rule: a phase that has started (running, waiting, completed, failed, skipped) never
 * changes, nor does any phase before it; phases after the last started one may be replaced,
 * removed, reordered or added to. A completed phase imported back from an exported plan
 * (`status: completed`, `source: imported`) counts as unchanged when the rest is the same.
 */
import type { PhaseSpec, PlanSpec } from './spec';

export interface ReplanChange {
  planSlug: string;
  /** Phases that stay as they are because they have started (or come before one that has). */
  kept: string[];
  added: string[];
  replaced: string[];
  removed: string[];
  /** Phases of the plan after the change. */
  phasesTotal: number;
}

/** What the plan knows of each phase: its slug and whether it has started (anything but pending). */
export interface LivePhase {
  slug: string;
  status: string;
}

export type ReplanVerdict = { ok: true; change: ReplanChange } | { ok: false; problem: string };

export function judgeReplan(planStatus: string, live: PlanSpec, states: LivePhase[], next: PlanSpec): ReplanVerdict {
  const where = `plan ${live.slug}`;
  if (!['pending', 'active'].includes(planStatus))
    return { ok: false, problem: `${where} has ended (${planStatus}): only a running plan can be re-planned` };
  if (next.slug !== live.slug)
    return { ok: false, problem: `${where}: the new plan's slug is "${next.slug}"; a replan keeps the plan's slug` };
  const fixed = states.reduce((n, s, i) => (s.status !== 'pending' ? i + 1 : n), 0);
  for (let i = 0; i < fixed; i++) {
    const was = live.phases[i];
    const now = next.phases[i];
    const status = states[i].status;
    const why = `phase ${i + 1} (${was.slug}) is ${status}${status === 'pending' ? ` and comes before phase ${fixed}, which has started` : ''}: completed and running phases never change`;
    if (!now) return { ok: false, problem: `${where}: the new plan has no phase ${i + 1}; ${why}` };
    if (now.slug !== was.slug)
      return { ok: false, problem: `${where}: phase ${i + 1} would become "${now.slug}"; ${why}` };
    const diff = firstDifference(comparable(was), comparable(now));
    if (diff) return { ok: false, problem: `${where}: phases[${i}]${diff} would change; ${why}` };
  }
  const before = new Map(live.phases.slice(fixed).map((p) => [p.slug, p]));
  const after = next.phases.slice(fixed);
  const added = after.filter((p) => !before.has(p.slug)).map((p) => p.slug);
  const replaced = after
    .filter((p) => before.has(p.slug) && firstDifference(comparable(before.get(p.slug)!), comparable(p)) !== undefined)
    .map((p) => p.slug);
  const removed = [...before.keys()].filter((s) => !after.some((p) => p.slug === s));
  const reordered = after.some((p, k) => live.phases[fixed + k]?.slug !== p.slug);
  if (!added.length && !replaced.length && !removed.length && !reordered)
    return { ok: false, problem: `${where}: the new plan changes nothing that has not started` };
  return {
    ok: true,
    change: {
      planSlug: live.slug,
      kept: live.phases.slice(0, fixed).map((p) => p.slug),
      added,
      replaced,
      removed,
      phasesTotal: next.phases.length,
    },
  };
}

export function describeChange(c: ReplanChange): string {
  const parts = [
    c.added.length ? `added ${c.added.join(', ')}` : '',
    c.replaced.length ? `replaced ${c.replaced.join(', ')}` : '',
    c.removed.length ? `removed ${c.removed.join(', ')}` : '',
  ].filter(Boolean);
  return `${parts.join('; ') || 'reordered the phases that have not started'} (now ${c.phasesTotal} phases)`;
}

/** A phase as compared: without the run-status fields an exported plan adds to finished work. */
function comparable(p: PhaseSpec): unknown {
  const { status: _s, source: _src, ...rest } = p;
  return { ...rest, tasks: p.tasks.map(({ status: _ts, source: _tsrc, ...t }) => t) };
}

/** The path of the first difference (`.tasks[1].description`), or undefined when equal. */
function firstDifference(a: unknown, b: unknown, at = ''): string | undefined {
  if (a === b) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return at || '(value)';
  if (Array.isArray(a) !== Array.isArray(b)) return at;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const va = (a as Record<string, unknown>)[k];
    const vb = (b as Record<string, unknown>)[k];
    if (va === undefined && vb === undefined) continue;
    const d = firstDifference(va, vb, Array.isArray(a) ? `${at}[${k}]` : `${at}.${k}`);
    if (d !== undefined) return d;
  }
  return undefined;
}

/** Where two versions of a plan differ (`.phases[1].tasks[0].description`), ignoring run status; undefined when the same. */
export function planDifference(a: PlanSpec, b: PlanSpec): string | undefined {
  const strip = (p: PlanSpec) => ({ ...p, phases: p.phases.map(comparable) });
  return firstDifference(strip(a), strip(b));
}
