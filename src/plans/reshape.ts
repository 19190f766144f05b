/**
 * Expanding and collapsing Markdown plans between Levels 0, 1 and 2, as pure operations (the
 * dry-run specialists). Between 0 and 1 they are text operations: a phase's section in the main
 * plan moves into `phase_N_<name>.md` with its headings lifted, or back. Between 1 and 2 a phase
 * file becomes a phase directory (overview + `stage_M_*.md`, one stage per dependency wave, as the
 * Level-2 export writes it) or back, rebuilt from the imported phase so every task keeps its id,
 * dependencies and status. The metadata's `Structure Level` and `Expanded Phases` follow what is
 * on disk. Headings are found with markdown-it, so `#` lines in code fences stay code.
 */
import type { PhaseSpec } from '../domain/spec';
import { phaseFile, stagesOf, writePhaseDir } from './markdown-export';
import { blocks, readHeading } from './markdown-parse';
import { slugify } from './model';

/** A plan's files, keyed by their path relative to the plan's parent directory. */
export type PlanTree = Map<string, string>;

export interface Section {
  number: string;
  title: string;
  depth: number;
  /** 0-based line range [start, end) in the main plan, the heading included. */
  start: number;
  end: number;
  headingText: string;
}

export function sections(text: string): Section[] {
  const bs = blocks(text);
  const heads = bs.filter((b) => b.kind === 'heading') as { depth: number; text: string; line: number }[];
  const phaseHeads = heads.filter((h) => h.depth >= 2 && readHeading(h.text));
  if (!phaseHeads.length) return [];
  const depth = Math.min(...phaseHeads.map((h) => h.depth));
  const total = text.split('\n').length;
  return phaseHeads
    .filter((h) => h.depth === depth)
    .map((h) => {
      const next = heads.find((x) => x.line > h.line && x.depth <= depth);
      const info = readHeading(h.text)!;
      return {
        number: info.number,
        title: info.title,
        depth,
        start: h.line - 1,
        end: next ? next.line - 1 : total,
        headingText: h.text,
      };
    });
}

/** Moves every real heading (not `#` lines in code) by `delta` levels, within 1..6. */
function shiftHeadings(text: string, delta: number): string {
  const lines = text.split('\n');
  for (const b of blocks(text)) {
    if (b.kind !== 'heading') continue;
    const i = b.line - 1;
    const m = /^(#{1,6})(\s.*)?$/.exec(lines[i]);
    if (m) lines[i] = `${'#'.repeat(Math.max(1, Math.min(6, m[1].length + delta)))}${m[2] ?? ''}`;
  }
  return lines.join('\n');
}

export const phaseFileName = (s: Pick<Section, 'number' | 'title'>) =>
  `phase_${s.number.replace('.', '_')}_${slugify(s.title, 40).replace(/-/g, '_')}.md`;

/** Expansion of one phase: the phase file's text, and the short section left in the main plan. */
export function expandPhase(main: string, number: string): { file: string; text: string; summary: string } {
  const s = sections(main).find((x) => x.number === number);
  if (!s) throw new Error(`no phase ${number} in the main plan`);
  const lines = main.split('\n');
  const body = lines.slice(s.start + 1, s.end).join('\n');
  const heading = s.headingText.replace(/\s*\[EXPANDED\]/i, '');
  const text = `# ${heading}\n${shiftHeadings(body, 1 - s.depth)}`.replace(/\n*$/, '\n');
  return {
    file: phaseFileName(s),
    text,
    summary: `phase ${number} (${s.title}): ${s.end - s.start} lines moved to ${phaseFileName(s)}`,
  };
}

/** The section a collapsed phase file becomes in the main plan (headings pushed down to the phase level). */
export function collapsePhase(phaseText: string, depth: number): { text: string; summary: string } {
  const lines = phaseText.replace(/\n*$/, '').split('\n');
  const h1 = lines.findIndex((l) => /^#\s/.test(l));
  const heading = (h1 >= 0 ? lines[h1].replace(/^#\s+/, '') : 'Phase').replace(/\s*\[EXPANDED\]/i, '');
  const body = lines.slice(h1 + 1).join('\n');
  return {
    text: `${'#'.repeat(depth)} ${heading}\n${shiftHeadings(body, depth - 1)}\n`,
    summary: `${heading}: ${lines.length} lines merged back`,
  };
}

/** The stub an expanded phase leaves in the main plan: heading, Objective, link. */
function stub(main: string, s: Section, file: string): string {
  const objective = main
    .split('\n')
    .slice(s.start + 1, s.end)
    .find((l) => /^\s*\*\*Objective\*\*\s*:/.test(l));
  const heading = /\[EXPANDED\]/i.test(s.headingText) ? s.headingText : `${s.headingText} [EXPANDED]`;
  return [
    `${'#'.repeat(s.depth)} ${heading}`,
    ...(objective ? ['', objective.trim()] : []),
    '',
    `See [${file}](${file}).`,
    '',
  ].join('\n');
}

/** Sets `Structure Level` and `Expanded Phases` in the Metadata list (adding them when missing). */
export function setStructureMetadata(main: string, level: number, expanded: string[]): string {
  const lines = main.split('\n');
  const set = (key: string, value: string) => {
    const i = lines.findIndex((l) => new RegExp(`^\\s*-\\s*\\*\\*${key}\\*\\*\\s*:`).test(l));
    const line = `- **${key}**: ${value}`;
    if (i >= 0) {
      lines[i] = line;
      return;
    }
    const meta = lines.findIndex((l) => /^#{2,3}\s+Metadata\s*$/i.test(l));
    const levelLine = lines.findIndex((l) => /^\s*-\s*\*\*Structure Level\*\*\s*:/.test(l));
    const title = Math.max(
      0,
      lines.findIndex((l) => /^#\s/.test(l)),
    );
    const at = levelLine >= 0 ? levelLine + 1 : meta >= 0 ? meta + 1 : title + 1;
    lines.splice(at, 0, ...(meta >= 0 || levelLine >= 0 ? [line] : ['', '## Metadata', line]));
  };
  set('Structure Level', String(level));
  set('Expanded Phases', `[${expanded.join(', ')}]`);
  return lines.join('\n');
}

export interface PlanLayout {
  stem: string;
  /** The main plan's path in the tree: `<stem>.md` (Level 0) or `<stem>/<stem>.md`. */
  main: string;
  level: 0 | 1 | 2;
  /** phase number → its phase file's path in the tree (Level 1) */
  phaseFiles: Map<string, string>;
  /** phase number → its phase directory's path in the tree (Level 2), no trailing slash */
  phaseDirs: Map<string, string>;
}

export function layoutOf(tree: PlanTree, stem: string): PlanLayout {
  const inDir = tree.has(`${stem}/${stem}.md`);
  const main = inDir ? `${stem}/${stem}.md` : `${stem}.md`;
  if (!tree.has(main)) throw new Error(`no main plan ${main}`);
  const phaseFiles = new Map<string, string>();
  const phaseDirs = new Map<string, string>();
  let level: 0 | 1 | 2 = 0;
  for (const p of tree.keys()) {
    const m = new RegExp(`^${stem}/(phase_(\\d+(?:_\\d+)?)_[^/]*?)(/|\\.md$)`).exec(p);
    if (!m) continue;
    if (m[3] === '/') level = 2;
    else level = Math.max(level, 1) as 1;
    if (m[3] === '/') phaseDirs.set(m[2].replace('_', '.'), `${stem}/${m[1]}`);
    else phaseFiles.set(m[2].replace('_', '.'), p);
  }
  // A phase directory beats a flat file of the same number (as import reads it).
  for (const n of phaseDirs.keys()) phaseFiles.delete(n);
  return { stem, main, level, phaseFiles, phaseDirs };
}

/**
 * Level 1 → 2: a phase file becomes a phase directory, `<name>/<name>.md` (the overview, with its
 * `Expanded Stages` metadata) and one `stage_M_tasks.md` per dependency wave (the Level-2 export's
 * own writer). Paths are relative to the phase directory.
 */
export function expandToStages(
  phase: PhaseSpec,
  number: string,
  name: string,
): { files: Map<string, string>; summary: string } {
  if (!phase.tasks.length) throw new Error(`phase ${number} has no tasks to split into stages`);
  const files = new Map<string, string>();
  writePhaseDir(files, '', name, phase, number);
  const stages = stagesOf(phase.tasks).length;
  return {
    files,
    summary: `phase ${number} (${phase.title}): ${phase.tasks.length} tasks in ${stages} stage(s) under ${name}/`,
  };
}

/** Level 2 → 1: a phase directory's overview and stages become one phase file again. */
export function collapseStages(phase: PhaseSpec, number: string): { text: string; summary: string } {
  return {
    text: phaseFile(phase, number),
    summary: `phase ${number} (${phase.title}): ${phase.tasks.length} tasks merged back into one phase file`,
  };
}

/** A finished operation: a section's or phase file's text (with its file name), or a phase directory's files. */
export interface DoneOperation {
  phase: string;
  text?: string;
  /** The phase file's name (expand 0 → 1, collapse 2 → 1). */
  file?: string;
  /** Expand 1 → 2: the phase directory's files, relative to it. */
  files?: Map<string, string>;
}

/** Points the main plan's link in section `s` from `from` to `to`. */
function relink(main: string, s: Section, from: string, to: string): string {
  const lines = main.split('\n');
  for (let i = s.start; i < s.end; i++) lines[i] = lines[i].split(`](${from})`).join(`](${to})`);
  return lines.join('\n');
}

/** Applies finished operations: the new tree (the main plan moves into or out of its directory as the level requires). */
export function applyOperations(
  tree: PlanTree,
  stem: string,
  op: 'expand' | 'collapse',
  done: DoneOperation[],
): PlanTree {
  const layout = layoutOf(tree, stem);
  let main = tree.get(layout.main)!;
  const out: PlanTree = new Map([...tree].filter(([p]) => p !== layout.main));
  // Bottom-up, so earlier sections keep their line numbers.
  const ordered = [...done].sort(
    (a, b) =>
      sections(main).findIndex((s) => s.number === b.phase) - sections(main).findIndex((s) => s.number === a.phase),
  );
  for (const d of ordered) {
    const s = sections(main).find((x) => x.number === d.phase);
    if (!s) throw new Error(`no phase ${d.phase} in the main plan`);
    if (op === 'expand' && d.files) {
      // 1 → 2: the phase file gives way to its directory.
      const old = layout.phaseFiles.get(d.phase);
      if (!old) throw new Error(`phase ${d.phase} has no phase file to split into stages`);
      const dir = old.replace(/\.md$/, '');
      const name = dir.slice(dir.lastIndexOf('/') + 1);
      out.delete(old);
      for (const [rel, text] of d.files) out.set(`${dir}/${rel}`, text);
      main = relink(main, s, `${name}.md`, `${name}/${name}.md`);
      continue;
    }
    if (op === 'collapse' && layout.phaseDirs.has(d.phase)) {
      // 2 → 1: the phase directory gives way to one phase file.
      const dir = layout.phaseDirs.get(d.phase)!;
      const name = dir.slice(dir.lastIndexOf('/') + 1);
      for (const p of [...out.keys()]) if (p.startsWith(`${dir}/`)) out.delete(p);
      out.set(`${dir}.md`, d.text!);
      main = relink(main, s, `${name}/${name}.md`, `${name}.md`);
      continue;
    }
    const lines = main.split('\n');
    const replacement = op === 'expand' ? stub(main, s, d.file!) : d.text!;
    main = [...lines.slice(0, s.start), ...replacement.replace(/\n$/, '').split('\n'), '', ...lines.slice(s.end)]
      .join('\n')
      .replace(/\n{3,}/g, '\n\n');
    if (op === 'expand') out.set(`${stem}/${d.file}`, d.text!);
    else out.delete(layout.phaseFiles.get(d.phase)!);
  }
  const probe = layoutOf(new Map([...out, [`${stem}/${stem}.md`, main]]), stem);
  const expanded = [...probe.phaseFiles.keys(), ...probe.phaseDirs.keys()].sort((a, b) => Number(a) - Number(b));
  main = setStructureMetadata(main, probe.level, expanded);
  // A Level-0 plan is one file; from Level 1 on it is a directory holding the main plan.
  const others = [...out.keys()].filter((p) => p.startsWith(`${stem}/`));
  out.set(probe.level === 0 && others.length === 0 ? `${stem}.md` : `${stem}/${stem}.md`, main);
  return out;
}
