/**
 * CCASP state files read into plans: PROGRESS.json in every shape CCASP writes or documents
 * (phase-plan files, the generator's v3.0 shape, the template, camelCase and wiki variants),
 * ROADMAP.json (with phases, or with phase_dev_plan_refs to PROGRESS files), EPIC.json with the
 * roadmaps it names, and `.claude/orchestrator/state.json` as progress hints only.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type ParseError, parse as parseJsonc, printParseErrorCode } from 'jsonc-parser';
import type { PhaseDraft, PlanDraft, TaskDraft } from './draft';
import { mirrorPaths } from '../domain/paths';
import { ImportError, type ImportWarning, normaliseStatus, slugify, taskId } from './model';

export type CcaspKind = 'epic' | 'roadmap' | 'progress' | 'state' | 'foreign-state' | 'sidecar';

const isObj = (v: unknown): v is Record<string, any> => !!v && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v.trim() : undefined);

export function readJson(file: string): unknown {
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    // JSON.parse does not always say where; jsonc-parser's strict scan gives the offset of the first error.
    const errors: ParseError[] = [];
    parseJsonc(text, errors, { allowTrailingComma: false, disallowComments: true });
    const offset = errors[0]?.offset;
    const at = offset !== undefined ? text.slice(0, offset).split('\n') : undefined;
    const where = at ? `line ${at.length}, column ${at[at.length - 1].length + 1}` : undefined;
    const what = errors[0] ? printParseErrorCode(errors[0].error) : (e as Error).message;
    throw new ImportError(file, where, `not valid JSON: ${what}`);
  }
}

/** Which CCASP file this is, by its fields; undefined for JSON that is none of them. */
export function ccaspKind(data: unknown): CcaspKind | undefined {
  if (!isObj(data)) return undefined;
  if (Array.isArray(data.roadmaps)) return 'epic';
  if (Array.isArray(data.phase_dev_plan_refs)) return 'roadmap';
  if (Array.isArray(data.phases)) return data.roadmap_id !== undefined || str(data.slug) ? 'roadmap' : 'progress';
  if (Array.isArray(data.completedTasks) || Array.isArray(data.pendingTasks) || data.planId !== undefined)
    return 'state';
  if (Array.isArray(data.completedRoadmaps) || Array.isArray(data.activeRoadmaps)) return 'state';
  if (Array.isArray(data.objectives) && data.phase !== undefined) return 'sidecar';
  if (Array.isArray(data.features) || data.current_task !== undefined || Array.isArray(data.completed_tasks))
    return 'foreign-state';
  return undefined;
}

/** Relative paths in CCASP files are relative to the repository: tried from the file's directory upwards. */
function resolveRef(from: string, ref: string): string | undefined {
  if (path.isAbsolute(ref)) return existsSync(ref) ? ref : undefined;
  for (let d = path.dirname(path.resolve(from)); ; d = path.dirname(d)) {
    const p = path.join(d, ref);
    if (existsSync(p)) return p;
    if (path.dirname(d) === d) return undefined;
  }
}

export interface CcaspRead {
  plans: PlanDraft[];
  epic?: { slug: string; title: string; description?: string; extra?: Record<string, unknown> };
  files: string[];
}

/** Reads one CCASP file (and the files it names). */
export function importCcaspFile(file: string, data: unknown, warnings: ImportWarning[]): CcaspRead {
  const kind = ccaspKind(data);
  const d = data as Record<string, any>;
  switch (kind) {
    case 'epic':
      return readEpic(file, d, warnings);
    case 'roadmap':
      return readRoadmap(file, d, warnings, []);
    case 'progress':
      return { plans: [readProgress(file, d, warnings)], files: [file] };
    case 'state':
      throw new ImportError(
        file,
        undefined,
        'a CCASP orchestrator state file holds progress hints only, not a plan: import the .claude directory it belongs to',
      );
    case 'sidecar':
      throw new ImportError(
        file,
        undefined,
        'a per-phase progress sidecar of a Markdown plan, not a plan: import the plan directory instead',
      );
    case 'foreign-state':
      throw new ImportError(
        file,
        undefined,
        "not a CCASP file: another tool's orchestrator state (fields features/current_task), which phaseflow does not read",
      );
    default:
      throw new ImportError(
        file,
        undefined,
        'unknown format: expected a CCASP EPIC.json (roadmaps[]), ROADMAP.json or PROGRESS.json (phases[])',
      );
  }
}

function readEpic(file: string, d: Record<string, any>, warnings: ImportWarning[]): CcaspRead {
  const slug = slugOf(d.slug ?? d.epic_id ?? d.title, file, 'slug', warnings);
  const out: CcaspRead = {
    plans: [],
    files: [file],
    epic: {
      slug,
      title: str(d.title) ?? slug,
      description: str(d.description),
      // Written by `phaseflow export`: the epic's fields CCASP has no place for.
      ...(isObj(d.phaseflow_epic) ? { extra: omit(d.phaseflow_epic, ['slug', 'title']) } : {}),
    },
  };
  (d.roadmaps as unknown[]).forEach((r, i) => {
    if (!isObj(r)) throw new ImportError(file, `roadmaps[${i}]`, 'expected an object');
    if (Array.isArray(r.phases) || Array.isArray(r.phase_dev_plan_refs)) {
      const got = readRoadmap(file, r, warnings, []);
      out.plans.push(...got.plans);
      return;
    }
    // phaseflow's own EPIC.json names roadmaps by slug, at their mirror path.
    const ref = str(r.path) ?? (str(r.roadmap_slug) ? mirrorPaths.roadmap(slugify(r.roadmap_slug, 63)) : undefined);
    if (!ref) throw new ImportError(file, `roadmaps[${i}].path`, 'expected the path of the ROADMAP.json');
    const target = resolveRef(file, ref);
    if (!target) throw new ImportError(file, `roadmaps[${i}].path`, `no such file: ${ref}`);
    const got = readRoadmap(target, readJson(target) as Record<string, any>, warnings, []);
    out.plans.push(...got.plans);
    out.files.push(...got.files);
  });
  return out;
}

function readRoadmap(file: string, d: Record<string, any>, warnings: ImportWarning[], _seen: string[]): CcaspRead {
  const slug = slugOf(d.slug ?? d.roadmap_id ?? d.title, file, 'slug', warnings);
  const roadmap = {
    slug,
    title: str(d.title) ?? slug,
    ...(isObj(d.phaseflow_roadmap) ? { extra: d.phaseflow_roadmap } : {}),
  };
  const rstatus = statusOf(d.status, file, 'status', warnings);
  const refs = Array.isArray(d.phase_dev_plan_refs) ? d.phase_dev_plan_refs : [];
  if (Array.isArray(d.phases) && refs.length === 0) {
    const plan = readProgress(file, d, warnings);
    plan.roadmap = roadmap;
    if (rstatus === 'completed' && plan.phases.some((p) => p.status !== 'completed' && p.status !== 'skipped'))
      warnings.push({
        file,
        at: 'status',
        message: `the roadmap says ${String(d.status)} but ${plan.phases.filter((p) => p.status !== 'completed').length} of its ${plan.phases.length} phases are not: a level's status is never pushed down, the phases keep theirs`,
      });
    return { plans: [plan], files: [file] };
  }
  const out: CcaspRead = { plans: [], files: [file] };
  (refs as unknown[]).forEach((r, i) => {
    // phaseflow's own ROADMAP.json names plans by id, at their mirror path.
    const ref = isObj(r)
      ? (str(r.path) ?? (str(r.plan_id) ? mirrorPaths.progress(slugify(r.plan_id, 63)) : undefined))
      : undefined;
    if (!ref)
      throw new ImportError(file, `phase_dev_plan_refs[${i}].path`, 'expected the path of the plan PROGRESS.json');
    const target = resolveRef(file, ref);
    if (!target) throw new ImportError(file, `phase_dev_plan_refs[${i}].path`, `no such file: ${ref}`);
    const plan = readProgress(target, readJson(target) as Record<string, any>, warnings);
    plan.roadmap = roadmap;
    out.plans.push(plan);
    out.files.push(target);
  });
  if (out.plans.length === 0) throw new ImportError(file, 'phase_dev_plan_refs', 'the roadmap names no plans');
  return out;
}

/** PROGRESS.json (any variant) or a ROADMAP's phases: one plan. */
export function readProgress(file: string, d: Record<string, any>, warnings: ImportWarning[]): PlanDraft {
  const project = isObj(d.project) ? d.project : {};
  const title =
    str(d.project_name) ??
    str(d.projectName) ??
    str(project.name) ??
    str(d.title) ??
    (typeof d.project === 'string' ? d.project : undefined) ??
    path.basename(file, '.json');
  const slugSource = d.plan_id ?? d.slug ?? project.slug ?? d.project_slug ?? d.projectId ?? title;
  const slug = slugOf(slugSource, file, d.plan_id ? 'plan_id' : 'slug', warnings);
  if (!Array.isArray(d.phases) || d.phases.length === 0)
    throw new ImportError(file, 'phases', 'the plan has no phases');
  const testCommand =
    str(d.testing_config?.ralph_loop?.testCommand) ??
    str(d.testing_strategy?.test_command) ??
    str(d.testing_config?.test_command);
  const onePhasePlan = d.phases.length === 1 && str(d.phase_id) && !isObj(d.phaseflow);
  const phases = (d.phases as unknown[]).map((p, i) => {
    if (!isObj(p)) throw new ImportError(file, `phases[${i}]`, 'expected an object');
    const phase = readPhase(file, p, i, warnings);
    if (onePhasePlan) {
      const label = String(d.phase_id).replace(/^phase[-_ ]?/i, '');
      if (label !== phase.label)
        warnings.push({
          file,
          at: `phases[0].id`,
          message: `phase id ${phase.label} but the file is phase_id "${d.phase_id}": read as phase ${label}`,
        });
      phase.label = label;
      if (!phase.status) phase.status = statusOf(d.status, file, 'status', warnings);
    }
    if (phase.gate.length === 0 && testCommand) phase.gate.push(testCommand);
    return phase;
  });
  const objective = str(d.description) ?? str(project.description);
  return {
    slug,
    title,
    ...(objective ? { description: objective } : {}),
    phases,
    file,
    ...(isObj(d.phaseflow_plan) ? { extra: d.phaseflow_plan } : {}),
  };
}

function readPhase(file: string, p: Record<string, any>, i: number, warnings: ImportWarning[]): PhaseDraft {
  const at = `phases[${i}]`;
  const rawLabel = p.id ?? p.phase_number ?? p.number ?? p.phase_id ?? p.phase ?? i + 1;
  const label = String(rawLabel).replace(/^phase[-_ ]?/i, '') || String(i + 1);
  const title =
    str(p.name) ?? str(p.title) ?? str(p.phase_title) ?? str(p.phase_name) ?? str(p.phase) ?? `Phase ${label}`;
  const phase: PhaseDraft = {
    label,
    title,
    tasks: [],
    gate: [],
    successCriteria: [],
    from: at,
    file,
    ...(typeof p.slug === 'string' ? { slug: slugify(p.slug, 63) } : {}),
  };
  const description = str(p.description) ?? str(p.objective) ?? str(p.goal);
  if (description) phase.description = description;
  const status = statusOf(p.phaseflow_status ?? p.status, file, `${at}.status`, warnings);
  if (isObj(p.phaseflow_phase)) phase.extra = p.phaseflow_phase;
  if (status) phase.status = status;
  if (p.complexity !== undefined) phase.complexity = String(p.complexity);
  const skipped = new Set<string>();
  const tasks = Array.isArray(p.tasks) ? p.tasks : [];
  tasks.forEach((t: unknown, j: number) => {
    const tat = `${at}.tasks[${j}]`;
    if (!isObj(t)) {
      if (typeof t === 'string' && t.trim())
        phase.tasks.push({ id: `${label}.${j + 1}`, description: t.trim(), checked: false, from: tat });
      return;
    }
    const id = taskId(t.id ?? t.task_id, `${label}.${j + 1}`);
    if (t.task_type === 'system' || t.task_type === 'orchestration') {
      // CCASP's injected context checks, batch planning, compaction and gate steps: phaseflow does these itself.
      skipped.add(id);
      return;
    }
    const text = str(t.description) ?? str(t.title) ?? str(t.name) ?? str(t.content) ?? str(t.subject) ?? `Task ${id}`;
    const details = str(t.details);
    const tstatus = t.status !== undefined ? statusOf(t.status, file, `${tat}.status`, warnings) : undefined;
    const files = [
      ...(Array.isArray(t.files) ? t.files : []),
      ...(Array.isArray(t.files_to_modify) ? t.files_to_modify : []),
    ]
      .map((f: unknown) => (typeof f === 'string' ? f : isObj(f) ? str(f.path) : undefined))
      .filter((f): f is string => !!f);
    const deps = t.dependencies ?? t.depends_on ?? t.dependsOn;
    const task: TaskDraft = {
      id,
      description: details && details !== text ? `${text}\n\n${details}` : text,
      checked: t.completed === true || t.done === true || tstatus === 'completed',
      from: tat,
      ...(files.length ? { files } : {}),
      ...(Array.isArray(deps) ? { dependsOn: deps.map(String) } : {}),
      ...((str(t.agent) ?? str(t.assigned_agent)) ? { agent: str(t.agent) ?? str(t.assigned_agent) } : {}),
      ...(isObj(t.phaseflow_task) ? { extra: t.phaseflow_task } : {}),
    };
    if (isObj(t.testing) && str(t.testing.command) && !phase.gate.includes(t.testing.command))
      phase.gate.push(t.testing.command);
    phase.tasks.push(task);
  });
  if (skipped.size)
    warnings.push({
      file,
      at: `${at}.tasks`,
      message: `${skipped.size} CCASP system task(s) (${[...skipped].join(', ')}) not imported: phaseflow does context checks, batching, compaction and gates itself`,
    });
  for (const t of phase.tasks) if (t.dependsOn) t.dependsOn = t.dependsOn.filter((x) => !skipped.has(x));
  const criteria = [
    ...(Array.isArray(p.success_criteria) ? p.success_criteria : []),
    ...(Array.isArray(p.successCriteria) ? p.successCriteria : []),
    ...(Array.isArray(p.validation?.criteria) ? p.validation.criteria : []),
  ].filter((c: unknown): c is string => typeof c === 'string' && c.trim() !== '');
  phase.successCriteria = criteria;
  return phase;
}

function statusOf(v: unknown, file: string, at: string, warnings: ImportWarning[]) {
  if (v === undefined || v === null) return undefined;
  const s = typeof v === 'string' ? normaliseStatus(v.split('|')[0]) : undefined;
  if (!s) warnings.push({ file, at, message: `status ${JSON.stringify(v)} is not a status word; taken as pending` });
  return s;
}

function slugOf(v: unknown, file: string, at: string, warnings: ImportWarning[]): string {
  const raw = typeof v === 'string' || typeof v === 'number' ? String(v) : '';
  if (/\{\{|\{[a-z-]+\}/i.test(raw))
    warnings.push({ file, at, message: `${JSON.stringify(raw)} is a template placeholder; slug made from it` });
  return slugify(raw || path.basename(file, '.json'), 63);
}

/** `.claude/orchestrator/state.json`: task ids it lists as completed (hints only). */
export function stateHints(file: string, data: unknown, warnings: ImportWarning[]): Set<string> {
  const kind = ccaspKind(data);
  if (kind !== 'state') {
    warnings.push({ file, message: "not CCASP's orchestrator state (another tool's format): ignored" });
    return new Set();
  }
  const done = (data as any).completedTasks;
  return new Set(Array.isArray(done) ? done.map(String) : []);
}

function omit(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
}
