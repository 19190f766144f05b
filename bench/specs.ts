/**
 * The bench's epics, built in code and validated exactly as `phaseflow validate` would: dry-run
 * agents (no key, no cost) whose `dryRun.durationMs` is real time spent inside the activity.
 */
import type { EpicSpec, ExecutionSettings } from '../src/domain/spec';
import { validateEpic } from '../src/domain/validate';

export interface Shape {
  roadmaps: number;
  plans: number;
  phases: number;
  tasks: number;
}

export interface EpicOptions {
  slug: string;
  workspace: string;
  shape: Shape;
  /** Simulated work per task. */
  durationMs: number;
  /** Size of each agent's full output (its details file). */
  outputBytes?: number;
  settings?: ExecutionSettings;
  /** `claude`: real agent tasks (against the bench's fake Messages API); default dry-run. */
  agentMode?: 'dry-run' | 'claude';
}

/** Zero-padded, so ids sort and read well in the Web UI. */
const pad = (n: number, width: number) => String(n).padStart(width, '0');
/** Slugs of the r-th roadmap, its p-th plan and a plan's h-th phase (1-based). */
const roadmapSlug = (r: number) => `r${pad(r, 2)}`;
const planSlug = (r: number, p: number) => `${roadmapSlug(r)}-p${pad(p, 2)}`;
export const phaseSlug = (h: number) => `h${pad(h, 2)}`;

export function benchEpic(o: EpicOptions): EpicSpec {
  const { shape } = o;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  return validateEpic(
    {
      slug: o.slug,
      title: `bench ${o.slug}`,
      workspace: o.workspace,
      agentMode: o.agentMode ?? 'dry-run',
      // One attempt: a failure is a bench failure, not something to retry around.
      settings: { attempts: 1, timeoutBaseSeconds: 600, ...o.settings },
      roadmaps: range(shape.roadmaps).map((r) => ({
        slug: roadmapSlug(r),
        title: `roadmap ${r}`,
        plans: range(shape.plans).map((p) => ({
          slug: planSlug(r, p),
          title: `plan ${r}.${p}`,
          phases: range(shape.phases).map((h) => ({
            slug: phaseSlug(h),
            title: `phase ${h}`,
            tasks: range(shape.tasks).map((t) => ({
              id: `${h}.${t}`,
              description: `task ${h}.${t}`,
              ...(o.agentMode === 'claude'
                ? {}
                : {
                    dryRun: {
                      durationMs: o.durationMs,
                      ...(o.outputBytes !== undefined ? { outputBytes: o.outputBytes } : {}),
                    },
                  }),
            })),
          })),
        })),
      })),
    },
    `bench spec ${o.slug}`,
  );
}

export const taskCount = (s: Shape) => s.roadmaps * s.plans * s.phases * s.tasks;
/** Epic + roadmaps + plans + phases. */
export const workflowCount = (s: Shape) => 1 + s.roadmaps + s.roadmaps * s.plans + s.roadmaps * s.plans * s.phases;

/** Phase workflow ids follow the plan's: epic/<slug>/<roadmap>/<plan>/<phase>. */
export function phaseId(epicSlug: string, r: number, p: number, h: number): string {
  return `${planId(epicSlug, r, p)}/${phaseSlug(h)}`;
}
export function planId(epicSlug: string, r: number, p: number): string {
  return `epic/${epicSlug}/${roadmapSlug(r)}/${planSlug(r, p)}`;
}

/** The named scale epics; `full` is the one the targets are set for (10,000 tasks). */
export const SCALES: Record<string, Shape> = {
  full: { roadmaps: 10, plans: 10, phases: 10, tasks: 10 },
  small: { roadmaps: 2, plans: 2, phases: 2, tasks: 10 },
};

/** `full`, `small` or `2x2x2x10` → a shape. */
export function parseShape(text: string): Shape {
  if (Object.hasOwn(SCALES, text)) return SCALES[text];
  const m = /^(\d+)x(\d+)x(\d+)x(\d+)$/.exec(text);
  if (!m) throw new Error(`--scale: expected "small", "full" or RxPxHxT such as 2x2x2x10, got "${text}"`);
  const [roadmaps, plans, phases, tasks] = m.slice(1).map(Number);
  if ([roadmaps, plans, phases, tasks].some((n) => n < 1))
    throw new Error(`--scale ${text}: every count must be at least 1`);
  return { roadmaps, plans, phases, tasks };
}

export const shapeText = (s: Shape) => `${s.roadmaps}x${s.plans}x${s.phases}x${s.tasks}`;

/**
 * A scenario's key in results.json. The scale scenario's figures depend on the epic's shape, so
 * a run at any other shape than `full` gets its own entry (`scale@2x2x2x10`) and never replaces
 * the full-scale one.
 */
export function resultKey(scenario: string, scale: Shape): string {
  return scenario === 'scale' && shapeText(scale) !== shapeText(SCALES.full) ? `scale@${shapeText(scale)}` : scenario;
}
