/**
 * `phaseflow analyze`: each phase's complexity 1-10 with its reason, and what to do about it:
 * expand at 8 or more, collapse at 4 or less (seed 003's thresholds, configurable). Dry-run uses
 * this deterministic heuristic: tasks, files, dependencies and description length.
 */
import type { EpicSpec, PhaseSpec } from '../domain/spec';

export interface Thresholds {
  expandAt: number;
  collapseAt: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { expandAt: 8, collapseAt: 4 };

export type Recommendation = 'expand' | 'collapse' | 'balanced';

export interface PhaseComplexity {
  plan: string;
  /** 1-based position in its plan (the "Phase N" of a Markdown plan). */
  number: number;
  slug: string;
  title: string;
  complexity: number;
  reason: string;
  recommendation: Recommendation;
}

/** Points for one measure: `value / per`, at most `max`. */
const points = (value: number, per: number, max: number) => Math.min(max, Math.floor(value / per));

export function phaseComplexity(phase: PhaseSpec): { complexity: number; reason: string } {
  const tasks = phase.tasks.length;
  // Files named in the tasks, and paths a Markdown task mentions in backticks.
  const mentioned = phase.tasks.flatMap((t) =>
    [...t.description.matchAll(/`([^`\s]+\/[^`\s]*|[^`\s]+\.[a-z]{1,5})`/g)].map((m) => m[1]),
  );
  const files = new Set([...phase.tasks.flatMap((t) => t.files), ...mentioned]).size;
  const deps = phase.tasks.reduce((n, t) => n + t.dependsOn.length, 0);
  const chars = phase.description.length + phase.tasks.reduce((n, t) => n + t.description.length, 0);
  const complex = phase.tasks.filter((t) => t.complexity === 'complex').length;
  const parts: [string, number][] = [
    // Each doubling of the task count adds a point: 4 tasks +1, 8 +2, 16 +3, 32 +4, 64 or more +5.
    [`${tasks} task${tasks === 1 ? '' : 's'}`, Math.max(0, Math.min(5, Math.floor(Math.log2(Math.max(1, tasks))) - 1))],
    [`${files} file${files === 1 ? '' : 's'}`, points(files, 3, 2)],
    [`${deps} dependenc${deps === 1 ? 'y' : 'ies'}`, points(deps, 3, 2)],
    [`${chars} characters of description`, points(chars, 1500, 2)],
    [`${complex} complex task${complex === 1 ? '' : 's'}`, Math.min(1, complex)],
  ];
  const complexity = Math.max(1, Math.min(10, 1 + parts.reduce((n, [, p]) => n + p, 0)));
  return { complexity, reason: parts.map(([what, p]) => `${what} (+${p})`).join(', ') };
}

export function recommend(complexity: number, t: Thresholds = DEFAULT_THRESHOLDS): Recommendation {
  return complexity >= t.expandAt ? 'expand' : complexity <= t.collapseAt ? 'collapse' : 'balanced';
}

export function analyzeSpec(spec: EpicSpec, t: Thresholds = DEFAULT_THRESHOLDS): PhaseComplexity[] {
  return spec.roadmaps.flatMap((r) =>
    r.plans.flatMap((plan) =>
      plan.phases.map((phase, i) => {
        const { complexity, reason } = phaseComplexity(phase);
        return {
          plan: plan.slug,
          number: i + 1,
          slug: phase.slug,
          title: phase.title,
          complexity,
          reason,
          recommendation: recommend(complexity, t),
        };
      }),
    ),
  );
}

/** Seed 003's table: one line per phase, then the recommendations. */
export function analysisTable(rows: PhaseComplexity[], t: Thresholds = DEFAULT_THRESHOLDS): string {
  const rule = '━'.repeat(60);
  const width = Math.max(...rows.map((r) => `Phase ${r.number}: ${r.title}`.length), 10);
  const out: string[] = [];
  for (const plan of [...new Set(rows.map((r) => r.plan))]) {
    const mine = rows.filter((r) => r.plan === plan);
    out.push(`Complexity Analysis Results: ${plan}`, rule);
    for (const r of mine) {
      const label = `Phase ${r.number}: ${r.title}`.padEnd(width);
      const mark = r.recommendation === 'expand' ? '⚠ Expand' : r.recommendation === 'collapse' ? 'Collapse' : '';
      out.push(`${label}  Complexity: ${String(r.complexity).padStart(2)}/10  ${mark}`.trimEnd(), `    ${r.reason}`);
    }
    out.push(rule);
    const exp = mine.filter((r) => r.recommendation === 'expand').map((r) => r.number);
    const col = mine.filter((r) => r.recommendation === 'collapse').map((r) => r.number);
    out.push(
      `Recommendations: ${
        [
          exp.length ? `Expand phase${exp.length > 1 ? 's' : ''} ${exp.join(', ')} (complexity ≥${t.expandAt})` : '',
          col.length
            ? `Collapse phase${col.length > 1 ? 's' : ''} ${col.join(', ')} (complexity ≤${t.collapseAt})`
            : '',
        ]
          .filter(Boolean)
          .join('; ') || 'none (every phase is balanced)'
      }`,
      '',
    );
  }
  return out.join('\n');
}
