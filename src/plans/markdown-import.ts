/**
 * Structure-Level Markdown plans: a Level-0 file, a Level-1 directory (main plan + phase files)
 * or a Level-2 tree (phase directories with stage files), read into a PlanDraft.
 *
 * What is on disk settles the level (the metadata's `Structure Level` only earns a warning when it
 * disagrees); the main plan's phase number settles a phase file's number; a phase file's status
 * beats the main plan's heading marker; a phase directory beats a flat file of the same number.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { PhaseDraft, PlanDraft } from './draft';
import { parseMarkdown, type ParsedFile } from './markdown-parse';
import { type ImportWarning, slugify } from './model';

const PHASE_FILE = /^phase_(\d+(?:_\d+)?)_.*\.md$/i;
const PHASE_DIR = /^phase_(\d+(?:_\d+)?)_/i;
const STAGE_FILE = /^stage_(\d+(?:_\d+)?)_.*\.md$/i;

export interface MarkdownPlanResult {
  plan: PlanDraft;
  /** The files read for it. */
  files: string[];
  /** The level found on disk. */
  level: 0 | 1 | 2;
}

const read = (f: string) => readFileSync(f, 'utf8');
const num = (s: string) => s.replace('_', '.');

/**
 * The plan whose main file is `main`; phase files are searched in `phaseDir` (the plan's own
 * directory, or the directory of the main file when phase files sit beside it).
 */
export function importMarkdownPlan(main: string, warnings: ImportWarning[], phaseDir?: string): MarkdownPlanResult {
  const parsed = parseMarkdown(main, read(main), warnings);
  const files = [main];
  const base = path.basename(main, '.md');
  const plan: PlanDraft = {
    slug: slugify(base),
    title: parsed.title || base,
    phases: parsed.phases,
    file: main,
    ...(parsed.extra ? readPlanExtra(parsed.extra) : {}),
  };
  const objective = parsed.meta.get('feature') ?? parsed.meta.get('objective');
  if (objective && !plan.description) plan.description = objective.value;
  if (parsed.self) {
    warnings.push({
      file: main,
      at: `line ${parsed.self.line}`,
      message: `a ${parsed.self.kind} file imported on its own: it becomes a plan with one phase`,
    });
  }
  let level: 0 | 1 | 2 = 0;
  if (phaseDir) {
    const entries = readdirSync(phaseDir).sort();
    const used = new Set<string>([path.basename(main)]);
    for (const phase of plan.phases) {
      const key = phase.label.replace('.', '_');
      const dirs = entries.filter(
        (e) => PHASE_DIR.exec(e)?.[1] === key && statSync(path.join(phaseDir, e)).isDirectory(),
      );
      const flat = entries.filter((e) => PHASE_FILE.exec(e)?.[1] === key && !dirs.includes(e));
      if (dirs.length) {
        const dir = path.join(phaseDir, dirs[0]);
        used.add(dirs[0]);
        for (const f of flat) {
          used.add(f);
          warnings.push({
            file: path.join(phaseDir, f),
            message: `phase ${phase.label} is also the directory ${dirs[0]}/: the directory (Level 2) wins, this file is ignored`,
          });
        }
        if (readPhaseDir(phase, dir, warnings, files)) level = 2;
        else level = Math.max(level, 1) as 1;
      } else if (flat.length) {
        used.add(flat[0]);
        for (const f of flat.slice(1)) {
          used.add(f);
          warnings.push({
            file: path.join(phaseDir, f),
            message: `a second file for phase ${phase.label} (${flat[0]} is read): ignored`,
          });
        }
        mergePhaseFile(phase, path.join(phaseDir, flat[0]), warnings, files);
        level = Math.max(level, 1) as 1;
      }
    }
    for (const e of entries) {
      if (used.has(e) || !(PHASE_FILE.test(e) || PHASE_DIR.test(e))) continue;
      warnings.push({
        file: path.join(phaseDir, e),
        message: `no phase ${num(PHASE_DIR.exec(e)![1])} in ${path.basename(main)}: ignored`,
      });
    }
  }
  checkLevel(parsed, level, plan.phases, warnings);
  return { plan, files, level };
}

function readPlanExtra(extra: Record<string, unknown>): Partial<PlanDraft> {
  const { plan, roadmap, epic } = extra as {
    plan?: Record<string, unknown>;
    roadmap?: PlanDraft['roadmap'];
    epic?: Record<string, unknown>;
  };
  return {
    ...(plan ? { extra: plan } : {}),
    ...(roadmap ? { roadmap } : {}),
    ...(epic ? { epic } : {}),
    ...(typeof (extra as any).slug === 'string' ? { slug: (extra as any).slug } : {}),
  };
}

/** `Structure Level` and `Expanded Phases` against what is on disk. */
function checkLevel(parsed: ParsedFile, level: number, phases: PhaseDraft[], warnings: ImportWarning[]): void {
  const said = parsed.meta.get('structure level');
  if (said) {
    const n = Number(/\d/.exec(said.value)?.[0]);
    if (n !== level)
      warnings.push({
        file: parsed.file,
        at: `line ${said.line}`,
        message: `metadata says Structure Level ${said.value} but the files on disk are Level ${level}: read as Level ${level}`,
      });
  }
  const expanded = parsed.meta.get('expanded phases');
  if (expanded && level > 0) {
    const saidList = (expanded.value.match(/\d+(?:\.\d+)?/g) ?? []).sort().join(', ');
    const onDisk = phases
      .filter((p) => (p.extra as any)?.__expanded)
      .map((p) => p.label)
      .sort()
      .join(', ');
    if (saidList !== onDisk)
      warnings.push({
        file: parsed.file,
        at: `line ${expanded.line}`,
        message: `metadata says Expanded Phases [${saidList}] but phase files exist for [${onDisk}]: the files are read`,
      });
  }
  for (const p of phases) if (p.extra) delete (p.extra as any).__expanded;
  for (const p of phases) if (p.extra && Object.keys(p.extra).length === 0) delete p.extra;
}

/** A phase file's content replaces the main plan's inline summary of that phase. */
function mergePhaseFile(phase: PhaseDraft, file: string, warnings: ImportWarning[], files: string[]): void {
  files.push(file);
  const parsed = parseMarkdown(file, read(file), warnings);
  const own = parsed.phases[0];
  phase.extra = { ...(phase.extra ?? {}), __expanded: true };
  if (!own) {
    warnings.push({ file, message: `no phase found in the file; phase ${phase.label} keeps the main plan's content` });
    return;
  }
  if (parsed.self && parsed.self.heading.number !== phase.label) {
    warnings.push({
      file,
      at: `line ${parsed.self.line}`,
      message: `heading says Phase ${parsed.self.heading.number} but the file is phase ${phase.label} of the main plan: read as phase ${phase.label}`,
    });
  }
  if (!parsed.self) {
    warnings.push({
      file,
      at: `line ${parsed.titleLine}`,
      message: `the first heading is not "Phase N: …"; read as phase ${phase.label}`,
    });
  }
  if (own.status && phase.status && own.status !== phase.status) {
    warnings.push({
      file,
      at: own.from,
      message: `phase file says ${own.status}, the main plan's heading says ${phase.status}: the phase file wins`,
    });
  }
  phase.status = own.status ?? phase.status;
  if (own.extra) phase.extra = { ...(phase.extra ?? {}), ...own.extra };
  if (own.tasks.length) {
    // Task ids follow the main plan's phase number, not a drifted one in the file's heading.
    const prefix = `${own.label}.`;
    phase.tasks = own.tasks.map((t) => ({
      ...t,
      id: own.label !== phase.label && t.id.startsWith(prefix) ? `${phase.label}.${t.id.slice(prefix.length)}` : t.id,
      from: `${path.basename(file)}:${t.from.replace('line ', '')}`,
    }));
  }
  if (own.gate.length) phase.gate = own.gate;
  if (own.successCriteria.length) phase.successCriteria = own.successCriteria;
  phase.description = own.description ?? phase.description;
  phase.complexity = own.complexity ?? phase.complexity;
  if (parsed.self?.heading.title && parsed.self.heading.title !== `Phase ${parsed.self.heading.number}`)
    phase.title = parsed.self.heading.title;
}

/** A Level-2 phase directory: its overview file and its stage files. True when it has stages. */
function readPhaseDir(phase: PhaseDraft, dir: string, warnings: ImportWarning[], files: string[]): boolean {
  const entries = readdirSync(dir).sort();
  const name = path.basename(dir);
  const key = phase.label.replace('.', '_');
  const overview =
    entries.find((e) => e === `${name}.md`) ??
    entries.find((e) => e === `phase_${key}_overview.md`) ??
    entries.find((e) => PHASE_FILE.exec(e)?.[1] === key);
  if (overview) mergePhaseFile(phase, path.join(dir, overview), warnings, files);
  else phase.extra = { ...(phase.extra ?? {}), __expanded: true };
  const stages = entries.filter((e) => STAGE_FILE.test(e));
  const seen = new Map<string, string>();
  let stageTasks = 0;
  const phaseDone = phase.status === 'completed';
  for (const s of stages) {
    const file = path.join(dir, s);
    const n = num(STAGE_FILE.exec(s)![1]);
    if (seen.has(n))
      warnings.push({ file, message: `a second stage ${n} (after ${seen.get(n)}): both are read, in file order` });
    seen.set(n, s);
    files.push(file);
    const parsed = parseMarkdown(file, read(file), warnings);
    const stage = parsed.phases[0];
    if (!stage) continue;
    if (parsed.self && parsed.self.heading.number !== n)
      warnings.push({
        file,
        at: `line ${parsed.self.line}`,
        message: `heading says Stage ${parsed.self.heading.number}, the file name says stage ${n}: read as stage ${n}`,
      });
    if (stage.status === 'completed' && !phaseDone && stage.tasks.some((t) => !t.checked))
      warnings.push({
        file,
        at: stage.from,
        message: `stage ${n} is marked completed with unchecked tasks: its tasks count as done`,
      });
    if (phaseDone && stage.status && stage.status !== 'completed')
      warnings.push({
        file,
        at: stage.from,
        message: `stage ${n} says ${stage.status} but phase ${phase.label} is marked completed: the phase's mark wins`,
      });
    const tasks = stage.tasks.length
      ? stage.tasks
      : [
          {
            id: `${phase.label}.s${n}`,
            description: `Stage ${n}: ${stage.title}${stage.description ? `\n\n${stage.description}` : ''}`,
            checked: false,
            from: stage.from,
          },
        ];
    for (const t of tasks) {
      stageTasks++;
      phase.tasks.push({
        ...t,
        ...(t.fixedId ? {} : { id: `${phase.label}.s${n}.${t.id.split('.').pop()}`, dependsOn: undefined }),
        checked: t.checked || stage.status === 'completed',
        from: `${s}:${t.from.replace('line ', '')}`,
      });
    }
  }
  for (const e of entries) {
    if (e === overview || STAGE_FILE.test(e)) continue;
    warnings.push({ file: path.join(dir, e), message: 'not the phase overview nor a stage file: ignored' });
  }
  return stageTasks > 0 || stages.length > 0;
}

/** Is this Markdown file a plan's main file (not a phase or stage file, not a backup)? */
export function isMainPlanName(name: string): boolean {
  return name.endsWith('.md') && !PHASE_FILE.test(name) && !STAGE_FILE.test(name) && !/^readme\.md$/i.test(name);
}

/**
 * Every Markdown plan under `dir`: a directory `X/` holding `X.md` is a Level-1/2 plan; other
 * `*.md` files with phases are Level-0 plans, and phase files beside a lone main plan are its own.
 */
export function findMarkdownPlans(dir: string, warnings: ImportWarning[]): MarkdownPlanResult[] {
  const out: MarkdownPlanResult[] = [];
  const walk = (d: string) => {
    const entries = readdirSync(d).sort();
    const own = path.join(d, `${path.basename(d)}.md`);
    if (existsSync(own)) {
      out.push(importMarkdownPlan(own, warnings, d));
      return;
    }
    const mains = entries.filter((e) => isMainPlanName(e) && statSync(path.join(d, e)).isFile());
    const hasPhaseFiles = entries.some((e) => PHASE_FILE.test(e) || PHASE_DIR.test(e));
    const planMains = mains.filter((m) => {
      const p = parseMarkdown(path.join(d, m), read(path.join(d, m)), []);
      return p.phases.length > 0 && !p.self;
    });
    for (const m of planMains)
      out.push(importMarkdownPlan(path.join(d, m), warnings, hasPhaseFiles && planMains.length === 1 ? d : undefined));
    if (hasPhaseFiles && planMains.length !== 1)
      warnings.push({
        file: d,
        message: `phase files here but ${planMains.length} main plans: the phase files are not read`,
      });
    for (const e of entries) {
      const full = path.join(d, e);
      if (e === 'node_modules' || e === '.git') continue;
      if (statSync(full).isDirectory() && !(hasPhaseFiles && planMains.length === 1 && PHASE_DIR.test(e))) walk(full);
    }
  };
  walk(dir);
  return out;
}
