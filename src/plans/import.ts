/**
 * `phaseflow import PATH...`: CCASP files, Markdown plans, or directories holding either, into
 * one epic spec. Pure reading: nothing is written here (the CLI writes the result).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ccaspKind, importCcaspFile, readJson, stateHints } from './ccasp-import';
import { buildEpic, type EpicDraft, type ImportResult, type PlanDraft } from './draft';
import { findMarkdownPlans, importMarkdownPlan, isMainPlanName } from './markdown-import';
import { formatWarning, ImportError, type ImportWarning, slugify } from './model';

export { ImportError, type ImportWarning, formatWarning } from './model';

export interface ImportOptions {
  strict?: boolean;
  agentMode?: 'dry-run' | 'claude';
  workspace?: string;
}

/** JSON files a CCASP directory keeps its plans in: malformed ones are errors, other JSON is skipped. */
const CCASP_NAME = /(^|[\\/])(EPIC|ROADMAP|PROGRESS)\.json$|[\\/](phase-plans|roadmaps|epics|phase-dev)[\\/]/;

export function importPlans(paths: string[], opts: ImportOptions = {}): ImportResult {
  if (paths.length === 0) throw new ImportError('import', undefined, 'expected at least one PATH');
  const warnings: ImportWarning[] = [];
  const sources: string[] = [];
  const plans: PlanDraft[] = [];
  let epic: EpicDraft | undefined;
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new ImportError(p, undefined, 'no such file or directory');
    }
    const got = st.isDirectory() ? importDir(p, warnings) : importFile(p, warnings);
    plans.push(...got.plans);
    sources.push(...got.files);
    if (got.epic && !epic)
      epic = {
        slug: got.epic.slug,
        title: got.epic.title,
        ...(got.epic.description ? { description: got.epic.description } : {}),
        ...(got.epic.extra ? { extra: got.epic.extra } : {}),
        plans: [],
      };
  }
  const first = plans[0];
  const written = first?.epic; // the epic's fields, as `phaseflow export` wrote them
  if (!epic && written && typeof written.slug === 'string')
    epic = {
      slug: written.slug,
      title: String(written.title ?? written.slug),
      extra: Object.fromEntries(Object.entries(written).filter(([k]) => k !== 'slug' && k !== 'title')),
      plans: [],
    };
  const draft: EpicDraft = epic ?? {
    slug:
      plans.length === 1 || new Set(plans.map((x) => x.roadmap?.slug ?? x.slug)).size === 1
        ? (first?.roadmap?.slug ?? first?.slug ?? 'imported')
        : slugify(path.basename(path.resolve(paths[0])), 63),
    title:
      plans.length === 1
        ? (first?.roadmap?.title ?? first?.title ?? 'Imported')
        : path.basename(path.resolve(paths[0])),
    plans: [],
  };
  draft.plans = plans;
  draft.extra = {
    ...(draft.extra ?? {}),
    ...(draft.description ? { description: draft.description } : {}),
    ...(opts.agentMode ? { agentMode: opts.agentMode } : {}),
    ...(opts.workspace ? { workspace: opts.workspace } : {}),
  };
  const spec = buildEpic(draft, warnings, paths.join(' '));
  if (opts.strict && warnings.length > 0) {
    const w = warnings[0];
    throw new ImportError(
      w.file,
      w.at,
      `${w.message} (--strict: ${warnings.length} warning(s) are errors${warnings.length > 1 ? `; the others:\n  ${warnings.slice(1).map(formatWarning).join('\n  ')}` : ''})`,
    );
  }
  return { spec, warnings, sources };
}

interface Got {
  plans: PlanDraft[];
  files: string[];
  epic?: Omit<EpicDraft, 'plans'>;
}

function importFile(file: string, warnings: ImportWarning[]): Got {
  const name = path.basename(file);
  if (/\.json$/i.test(name)) {
    const got = importCcaspFile(file, readJson(file), warnings);
    return { plans: got.plans, files: got.files, ...(got.epic ? { epic: got.epic } : {}) };
  }
  if (/\.md$/i.test(name)) {
    const dir = path.dirname(file);
    const siblings = readdirSync(dir);
    const ownDir = path.basename(dir) === path.basename(file, '.md');
    const mains = siblings.filter(isMainPlanName);
    const hasPhases = siblings.some((e) => /^phase_\d/i.test(e));
    const got = importMarkdownPlan(file, warnings, ownDir || (hasPhases && mains.length === 1) ? dir : undefined);
    if (got.plan.phases.length === 0)
      throw new ImportError(file, undefined, 'the plan has no phases (expected headings such as "### Phase 1: …")');
    return { plans: [got.plan], files: got.files };
  }
  if (/\.ya?ml$/i.test(name))
    throw new ImportError(file, undefined, 'already a phaseflow spec: check it with `phaseflow validate` instead');
  throw new ImportError(
    file,
    undefined,
    `unknown format "${path.extname(name) || name}": expected CCASP JSON (EPIC/ROADMAP/PROGRESS.json), a Markdown plan (.md) or a directory`,
  );
}

function jsonFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d).sort()) {
      if (e === 'node_modules' || e === '.git') continue;
      const full = path.join(d, e);
      if (statSync(full).isDirectory()) walk(full);
      else if (e.endsWith('.json')) out.push(full);
    }
  };
  walk(dir);
  return out;
}

function importDir(dir: string, warnings: ImportWarning[]): Got {
  const got: Got = { plans: [], files: [] };
  const epics: string[] = [];
  const roadmaps: { file: string; data: any }[] = [];
  const progress: { file: string; data: any }[] = [];
  const hints = new Set<string>();
  for (const file of jsonFiles(dir)) {
    const isState = /[\\/]orchestrator[\\/]state\.json$/.test(file);
    let data: unknown;
    try {
      data = readJson(file);
    } catch (e) {
      if (CCASP_NAME.test(file) && !isState) throw e;
      warnings.push({ file, message: `${(e as ImportError).detail}: skipped` });
      continue;
    }
    if (isState) {
      for (const id of stateHints(file, data, warnings)) hints.add(id);
      continue;
    }
    const kind = ccaspKind(data);
    if (kind === 'epic') epics.push(file);
    else if (kind === 'roadmap') roadmaps.push({ file, data });
    else if (kind === 'progress') progress.push({ file, data });
    else if (kind && CCASP_NAME.test(file)) warnings.push({ file, message: `${kind} file: not a plan, skipped` });
    else if (kind === 'sidecar') warnings.push({ file, message: 'progress sidecar of a Markdown plan: not read' });
  }
  if (epics.length) {
    for (const e of epics.slice(1))
      warnings.push({ file: e, message: `a second EPIC.json (${epics[0]} is read): ignored` });
    const r = importCcaspFile(epics[0], readJson(epics[0]), warnings);
    got.plans.push(...r.plans);
    got.files.push(...r.files);
    if (r.epic) got.epic = r.epic;
  } else {
    const merged = new Set<string>();
    for (const rm of roadmaps) {
      const r = importCcaspFile(rm.file, rm.data, warnings);
      for (const plan of r.plans) mergePhasePlans(plan, progress, merged, warnings);
      got.plans.push(...r.plans);
      got.files.push(...r.files);
    }
    for (const pr of progress) {
      if (merged.has(pr.file)) continue;
      const r = importCcaspFile(pr.file, pr.data, warnings);
      got.plans.push(...r.plans);
      got.files.push(...r.files);
    }
  }
  for (const md of findMarkdownPlans(dir, warnings)) {
    got.plans.push(md.plan);
    got.files.push(...md.files);
  }
  applyHints(got.plans, hints, warnings);
  if (got.plans.length === 0)
    throw new ImportError(dir, undefined, 'no plan found (no CCASP JSON plans, no Markdown plans with phases)');
  return got;
}

/** Phase-plan PROGRESS files (`phase_id`, `roadmap_slug`) give their roadmap's phase its tasks. */
function mergePhasePlans(
  plan: PlanDraft,
  progress: { file: string; data: any }[],
  merged: Set<string>,
  warnings: ImportWarning[],
): void {
  const slug = plan.roadmap?.slug;
  for (const pr of progress) {
    const d = pr.data;
    if (!slug || slugify(String(d.roadmap_slug ?? d.roadmap_id ?? ''), 63) !== slug || !d.phase_id) continue;
    const r = importCcaspFile(pr.file, d, warnings).plans[0];
    const detail = r.phases[0];
    const target = plan.phases.find((p) => p.label === detail.label);
    if (!target) continue;
    merged.add(pr.file);
    if (detail.status && target.status && detail.status !== target.status)
      warnings.push({
        file: pr.file,
        at: 'status',
        message: `phase ${detail.label} is ${detail.status} here but ${target.status} in ${path.basename(plan.file)}: the roadmap's status wins`,
      });
    if (detail.tasks.length) {
      const before = new Map(target.tasks.map((t) => [t.id, t.checked]));
      target.tasks = detail.tasks.map((t) => ({ ...t, checked: t.checked || before.get(t.id) === true }));
    }
    if (detail.successCriteria.length) target.successCriteria = detail.successCriteria;
    if (detail.description && !target.description) target.description = detail.description;
  }
}

function applyHints(plans: PlanDraft[], hints: Set<string>, warnings: ImportWarning[]): void {
  if (hints.size === 0) return;
  for (const plan of plans)
    for (const phase of plan.phases)
      for (const t of phase.tasks)
        if (!t.checked && hints.has(t.id)) {
          t.checked = true;
          warnings.push({
            file: phase.file,
            at: t.from,
            message: `task ${t.id}: orchestrator state.json lists it completed; taken as done`,
          });
        }
}
