/**
 * What the readers produce before it becomes an epic spec: plans, phases and tasks as the source
 * said them, with where each came from. `buildEpic` applies the completion rule (README,
 * "How imported status is settled") and validates the result against the epic spec.
 */
import type { EpicSpecInput } from '../domain/spec';
import { EpicSpec } from '../domain/spec';
import { ImportError, type ImportedStatus, type ImportWarning, slugify, unique } from './model';

export interface TaskDraft {
  id: string;
  description: string;
  checked: boolean;
  files?: string[];
  dependsOn?: string[];
  agent?: string;
  /** Fields written by `phaseflow export` that Markdown or CCASP cannot show (kind, command, settings …). */
  extra?: Record<string, unknown>;
  /** `file:line` or `file: field`. */
  from: string;
  /** The id was written by `phaseflow export`: kept as it is (no renumbering into stages). */
  fixedId?: boolean;
}

export interface PhaseDraft {
  /** The phase's number or id as the source has it ("3", "2.5", "discovery"). */
  label: string;
  title: string;
  description?: string;
  /** What the phase's own marker or status field says. */
  status?: ImportedStatus;
  complexity?: string;
  tasks: TaskDraft[];
  gate: string[];
  successCriteria: string[];
  extra?: Record<string, unknown>;
  from: string;
  file: string;
  slug?: string;
}

export interface PlanDraft {
  slug: string;
  title: string;
  description?: string;
  status?: ImportedStatus;
  phases: PhaseDraft[];
  file: string;
  extra?: Record<string, unknown>;
  /** Roadmap it belongs to, when the source names one. */
  roadmap?: { slug: string; title: string; extra?: Record<string, unknown> };
  /** The epic's fields, when `phaseflow export` wrote them. */
  epic?: Record<string, unknown>;
}

export interface EpicDraft {
  slug: string;
  title: string;
  description?: string;
  plans: PlanDraft[];
  extra?: Record<string, unknown>;
}

export interface ImportResult {
  spec: EpicSpecInput;
  warnings: ImportWarning[];
  /** What each source file became. */
  sources: string[];
}

/** Settles statuses, fills what a spec needs, and validates; an invalid result is an ImportError. */
export function buildEpic(draft: EpicDraft, warnings: ImportWarning[], file: string): EpicSpecInput {
  if (draft.plans.length === 0) throw new ImportError(file, undefined, 'no plan found (expected phases)');
  const roadmaps: any[] = [];
  const byRoadmap = new Map<string, any>();
  const planSlugs = new Set<string>();
  for (const plan of draft.plans) {
    if (plan.phases.length === 0) throw new ImportError(plan.file, undefined, `plan "${plan.title}" has no phases`);
    const rm = plan.roadmap ?? { slug: draft.slug, title: draft.title };
    let roadmap = byRoadmap.get(rm.slug);
    if (!roadmap) {
      roadmap = { slug: rm.slug, title: rm.title, ...(rm.extra ?? {}), plans: [] };
      byRoadmap.set(rm.slug, roadmap);
      roadmaps.push(roadmap);
    }
    roadmap.plans.push(buildPlan(plan, warnings, planSlugs));
  }
  const spec: any = {
    slug: draft.slug,
    title: draft.title,
    ...(draft.description ? { description: draft.description } : {}),
    workspace: '.',
    agentMode: 'dry-run',
    ...(draft.extra ?? {}),
    roadmaps,
  };
  const parsed = EpicSpec.safeParse(spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('');
    throw new ImportError(file, at.replace(/^\./, '') || undefined, issue.message);
  }
  return spec;
}

function buildPlan(plan: PlanDraft, warnings: ImportWarning[], planSlugs: Set<string>): any {
  const phaseSlugs = new Set<string>();
  const taskIds = new Set<string>();
  const everyId = new Set(plan.phases.flatMap((p) => p.tasks.map((t) => t.id)));
  const phases = plan.phases.map((ph) => {
    const slug = unique(ph.slug ?? slugify(`phase-${ph.label}-${ph.title}`), phaseSlugs);
    const allChecked = ph.tasks.length > 0 && ph.tasks.every((t) => t.checked);
    const phaseDone = ph.status === 'completed' || ph.status === 'skipped';
    if (phaseDone) {
      const unchecked = ph.tasks.filter((t) => !t.checked).length;
      if (unchecked > 0)
        warnings.push({
          file: ph.file,
          at: ph.from,
          message: `phase ${ph.label} is marked ${ph.status} but ${unchecked} of its ${ph.tasks.length} tasks are unchecked: ${ph.status === 'skipped' ? "the phase's mark wins, none of its tasks runs" : "the phase's mark wins, all its tasks count as done"}`,
        });
    } else if (allChecked && ph.status === 'blocked') {
      warnings.push({
        file: ph.file,
        at: ph.from,
        message: `phase ${ph.label} is marked blocked but every task is checked: the tasks stay done, the phase's gate runs again`,
      });
    }
    let tasks = ph.tasks;
    if (tasks.length === 0) {
      tasks = [
        {
          id: `${ph.label}.1`,
          description: [`Phase ${ph.label}: ${ph.title}`, ph.description].filter(Boolean).join('\n\n'),
          checked: phaseDone,
          from: ph.from,
        },
      ];
      warnings.push({
        file: ph.file,
        at: ph.from,
        message: `phase ${ph.label} lists no tasks: imported as one task that carries the phase's title and objective`,
      });
    }
    // The phase's stated Complexity picks its tasks' model class (an exported task's own value wins).
    const taskComplexity = complexityOf(ph.complexity);
    const ids = new Map<string, string>();
    const built = tasks.map((t) => {
      const id = unique(t.id, taskIds);
      if (id !== t.id)
        warnings.push({ file: ph.file, at: t.from, message: `task id "${t.id}" repeats; renamed "${id}"` });
      ids.set(t.id, id);
      return { t, id };
    });
    const localIds = new Set(built.map((b) => b.id));
    return {
      slug,
      title: ph.title,
      ...(ph.description ? { description: ph.description } : {}),
      ...(phaseDone ? { status: ph.status === 'skipped' ? 'skipped' : 'completed', source: 'imported' } : {}),
      ...(ph.extra ?? {}),
      tasks: built.map(({ t, id }) => {
        const deps = (t.dependsOn ?? [])
          .map((d) => ids.get(d) ?? d)
          .filter((d) => {
            if (localIds.has(d) && d !== id) return true;
            if (!everyId.has(d) && !localIds.has(d))
              throw new ImportError(
                ph.file,
                t.from,
                `task ${t.id} depends on "${d}", but the plan has no task with that id`,
              );
            warnings.push({
              file: ph.file,
              at: t.from,
              message: `task ${id} depends on "${d}", which is not a task of phase ${ph.label}: dependency dropped (phases already run in order)`,
            });
            return false;
          });
        return {
          id,
          description: t.description || `Task ${id}`,
          ...(taskComplexity ? { complexity: taskComplexity } : {}),
          ...(t.agent ? { agent: t.agent } : {}),
          ...(t.files?.length ? { files: t.files } : {}),
          ...(deps.length ? { dependsOn: deps } : {}),
          ...omitKeys(t.extra ?? {}, ['fixedId']),
          // A skipped (cancelled, superseded) phase's unchecked tasks stay undone: the phase does not run at all.
          ...(t.checked || ph.status === 'completed' ? { status: 'completed', source: 'imported' } : {}),
        };
      }),
      ...(ph.gate.length || ph.successCriteria.length || (ph.extra as any)?.gate
        ? { gate: (ph.extra as any)?.gate ?? { commands: ph.gate, successCriteria: ph.successCriteria } }
        : {}),
    };
  });
  return {
    slug: unique(plan.slug, planSlugs),
    title: plan.title,
    ...(plan.description ? { description: plan.description } : {}),
    ...(plan.extra ?? {}),
    phases,
  };
}

function omitKeys(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
}

/** A plan's Complexity field (`Low`, `High`, `8/10`, CCASP's `S`/`M`/`L`) as a task complexity; undefined: default. */
export function complexityOf(text: string | undefined): 'simple' | 'complex' | undefined {
  if (!text) return undefined;
  const t = text.trim().toLowerCase();
  const score = /^(\d+(?:\.\d+)?)\s*(?:\/\s*10)?\b/.exec(t);
  if (score && Number(score[1]) <= 10)
    return Number(score[1]) >= 7 ? 'complex' : Number(score[1]) <= 3 ? 'simple' : undefined;
  if (/^(very low|low|simple|easy|trivial|s|xs)\b/.test(t)) return 'simple';
  if (/^(very high|high|complex|hard|critical|l|xl)\b/.test(t)) return 'complex';
  return undefined;
}
