/**
 * The activities of `phaseflow expand|collapse`: analyse the plan, checkpoint its files
 * (`.claude/checkpoints/parallel_ops/…`), run one specialist per phase (each writes its own file
 * and returns a path and a short summary), stage the new plan with its diff, then apply it or
 * restore the checkpoint byte for byte.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { createTwoFilesPatch } from 'diff';
import { EpicSpec } from '../domain/spec';
import { analyzeSpec, type Thresholds } from '../plans/analyze';
import { importPlans } from '../plans/import';
import { reshapeWithAgent } from '../plans/reshape-agent';
import {
  applyOperations,
  collapsePhase,
  collapseStages,
  type DoneOperation,
  expandPhase,
  expandToStages,
  layoutOf,
  type PlanTree,
  sections,
} from '../plans/reshape';

export type ReshapeOp = 'expand' | 'collapse';

export interface PlanRef {
  /** Directory holding the plan (`<stem>.md` or `<stem>/`). */
  parent: string;
  stem: string;
}

/** `…/001_x.md` or `…/001_x/` (or its main file `…/001_x/001_x.md`) → parent and stem. */
export function planRef(planPath: string): PlanRef {
  const abs = path.resolve(planPath);
  const base = path.basename(abs);
  if (base.endsWith('.md')) {
    const stem = base.slice(0, -3);
    const dir = path.dirname(abs);
    return path.basename(dir) === stem ? { parent: path.dirname(dir), stem } : { parent: dir, stem };
  }
  return { parent: path.dirname(abs), stem: base };
}

async function readTree(ref: PlanRef): Promise<PlanTree> {
  const tree: PlanTree = new Map();
  const file = path.join(ref.parent, `${ref.stem}.md`);
  if (existsSync(file)) tree.set(`${ref.stem}.md`, await fs.readFile(file, 'utf8'));
  const walk = async (rel: string) => {
    for (const e of await fs.readdir(path.join(ref.parent, rel), { withFileTypes: true })) {
      const r = path.posix.join(rel, e.name);
      if (e.isDirectory()) await walk(r);
      else tree.set(r, await fs.readFile(path.join(ref.parent, r), 'utf8'));
    }
  };
  if (existsSync(path.join(ref.parent, ref.stem))) await walk(ref.stem);
  return tree;
}

async function writeTree(root: string, tree: PlanTree): Promise<void> {
  for (const [rel, text] of tree) {
    await fs.mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await fs.writeFile(path.join(root, rel), text);
  }
}

export interface PhaseInfo {
  number: string;
  title: string;
  complexity: number;
  reason: string;
  /** In a phase file (Level 1) or a phase directory (Level 2). */
  expanded: boolean;
  /** In a phase directory with stage files (Level 2). */
  stages?: boolean;
}

/** The plan's phases with their complexity, and which are expanded into phase files. */
export async function reshapeAnalyze(input: { planPath: string; thresholds: Thresholds }): Promise<{
  ref: PlanRef;
  level: number;
  phases: PhaseInfo[];
}> {
  const ref = planRef(input.planPath);
  const tree = await readTree(ref);
  const layout = layoutOf(tree, ref.stem);
  const spec = EpicSpec.parse(importPlans([path.join(ref.parent, layout.main)]).spec);
  const rows = analyzeSpec(spec, input.thresholds);
  const secs = sections(tree.get(layout.main)!);
  return {
    ref,
    level: layout.level,
    phases: secs.map((s, i) => ({
      number: s.number,
      title: s.title,
      complexity: rows[i]?.complexity ?? 1,
      reason: rows[i]?.reason ?? '',
      expanded: layout.phaseFiles.has(s.number) || layout.phaseDirs.has(s.number),
      ...(layout.phaseDirs.has(s.number) ? { stages: true } : {}),
    })),
  };
}

/** Copies the plan's files into a new checkpoint directory with a manifest (sha256 of each file). */
export async function reshapeCheckpoint(input: { ref: PlanRef; op: ReshapeOp; id: string }): Promise<string> {
  const tree = await readTree(input.ref);
  // Under the repository's .claude/ (the nearest ancestor that has one), else beside the plan.
  let root = input.ref.parent;
  for (let d = input.ref.parent; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, '.claude'))) {
      root = d;
      break;
    }
    if (path.dirname(d) === d) break;
  }
  const dir = path.join(
    root,
    '.claude',
    'checkpoints',
    'parallel_ops',
    `parallel_${input.op}_${input.ref.stem}_${input.id}`,
  );
  await fs.rm(dir, { recursive: true, force: true });
  await writeTree(path.join(dir, 'plan'), tree);
  const files = [...tree].map(([p, text]) => ({ path: p, sha256: sha(text), bytes: Buffer.byteLength(text) }));
  await fs.writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ ...input, files }, null, 2));
  return dir;
}

const sha = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

export interface OperationResult {
  phase: string;
  /** The file this specialist wrote. */
  path: string;
  summary: string;
}

/**
 * One specialist: expands a phase into its phase file, or collapses a phase file back into a
 * section (Levels 0 ↔ 1), or splits a phase file into a phase directory with stage files or merges
 * one back (Levels 1 ↔ 2), reading the checkpointed plan and writing only its own file (its own
 * directory for 1 → 2). Dry-run uses the deterministic split and merge; claude mode asks an agent
 * for the Level 0 ↔ 1 file (one structured call) and keeps it only if the plan with it imports
 * cleanly and keeps every task; Levels 1 ↔ 2 are deterministic in both modes.
 * `simulateFailure` is dry-run's way to show a failing specialist (as dryRun.outcome is for tasks).
 */
export async function reshapeOperation(input: {
  checkpoint: string;
  ref: PlanRef;
  op: ReshapeOp;
  phase: string;
  simulateFailure?: boolean;
  mode?: 'dry-run' | 'claude';
}): Promise<OperationResult> {
  if (input.simulateFailure)
    throw ApplicationFailure.nonRetryable(`simulated failure of the ${input.op} specialist for phase ${input.phase}`);
  const tree = new Map<string, string>();
  const plan = path.join(input.checkpoint, 'plan');
  for (const [rel] of await readTree({ parent: plan, stem: input.ref.stem }))
    tree.set(rel, await fs.readFile(path.join(plan, rel), 'utf8'));
  const layout = layoutOf(tree, input.ref.stem);
  const main = tree.get(layout.main)!;
  const out = path.join(input.checkpoint, 'ops', `${input.op}_phase_${input.phase}.md`);
  await fs.mkdir(path.dirname(out), { recursive: true });
  const name = (p: string) => path.posix.basename(p).replace(/\.md$/, '');
  /** The phase as import reads the checkpointed plan (Levels 1 ↔ 2 are rebuilt from it). */
  const phaseSpec = () => {
    const i = sections(main).findIndex((s) => s.number === input.phase);
    const spec = EpicSpec.parse(importPlans([path.join(plan, layout.main)]).spec);
    const p = spec.roadmaps[0]?.plans[0]?.phases[i];
    if (i < 0 || !p) throw ApplicationFailure.nonRetryable(`no phase ${input.phase} in the plan`);
    return p;
  };
  if (input.op === 'expand') {
    if (layout.phaseDirs.has(input.phase))
      throw ApplicationFailure.nonRetryable(`phase ${input.phase} is already expanded into stages (Level 2)`);
    const file = layout.phaseFiles.get(input.phase);
    if (file) {
      // Level 1 → 2: the specialist's own directory holds the phase directory's files.
      let e: ReturnType<typeof expandToStages>;
      try {
        e = expandToStages(phaseSpec(), input.phase, name(file));
      } catch (err) {
        throw ApplicationFailure.nonRetryable((err as Error).message);
      }
      const dir = out.replace(/\.md$/, '');
      await fs.rm(dir, { recursive: true, force: true });
      await writeTree(dir, e.files);
      return { phase: input.phase, path: dir, summary: e.summary };
    }
    const e = expandPhase(main, input.phase);
    if (input.mode === 'claude') {
      const s = sections(main).find((x) => x.number === input.phase)!;
      const source = main.split('\n').slice(s.start, s.end).join('\n');
      const a = await agentSpecialist({ op: 'expand', phase: input.phase, source, depth: s.depth });
      await checkOperation(tree, input.ref.stem, 'expand', { phase: input.phase, text: a.text, file: e.file });
      await fs.writeFile(out, a.text);
      await fs.writeFile(`${out}.name`, e.file);
      return { phase: input.phase, path: out, summary: `agent: ${a.summary}` };
    }
    await fs.writeFile(out, e.text);
    await fs.writeFile(`${out}.name`, e.file);
    return { phase: input.phase, path: out, summary: e.summary };
  }
  const dir = layout.phaseDirs.get(input.phase);
  if (dir) {
    // Level 2 → 1: one phase file, named as the directory was.
    const c = collapseStages(phaseSpec(), input.phase);
    await fs.writeFile(out, c.text);
    await fs.writeFile(`${out}.name`, `${name(dir)}.md`);
    return { phase: input.phase, path: out, summary: c.summary };
  }
  const file = layout.phaseFiles.get(input.phase);
  if (!file) throw ApplicationFailure.nonRetryable(`phase ${input.phase} is not expanded: nothing to collapse`);
  const depth = sections(main).find((s) => s.number === input.phase)?.depth ?? 3;
  if (input.mode === 'claude') {
    const a = await agentSpecialist({ op: 'collapse', phase: input.phase, source: tree.get(file)!, depth });
    await checkOperation(tree, input.ref.stem, 'collapse', { phase: input.phase, text: a.text });
    await fs.writeFile(out, a.text);
    return { phase: input.phase, path: out, summary: `agent: ${a.summary}` };
  }
  const c = collapsePhase(tree.get(file)!, depth);
  await fs.writeFile(out, c.text);
  return { phase: input.phase, path: out, summary: c.summary };
}

/** The agent's answer; a missing key or a malformed answer fails this operation (not retried). */
async function agentSpecialist(r: Parameters<typeof reshapeWithAgent>[0]): Promise<{ text: string; summary: string }> {
  try {
    return await reshapeWithAgent(r);
  } catch (err) {
    const message = (err as Error).message;
    // API trouble (status codes, connection) is worth the activity's retries; a bad answer is not.
    if (/ANTHROPIC_API_KEY|malformed|did not call/.test(message)) throw ApplicationFailure.nonRetryable(message);
    throw err;
  }
}

const tasksOf = (spec: unknown) =>
  EpicSpec.parse(spec).roadmaps.flatMap((r) =>
    r.plans.flatMap((p) =>
      p.phases.map((ph) => ph.tasks.map((t) => `[${t.status === 'completed' ? 'x' : ' '}] ${t.description}`)),
    ),
  );

/**
 * An agent's file counts only if the plan with it (this operation alone applied to the
 * checkpointed plan) imports without new warnings and keeps every task, in order, with its status.
 */
async function checkOperation(tree: PlanTree, stem: string, op: ReshapeOp, done: DoneOperation): Promise<void> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'phaseflow-reshape-check-'));
  const fail = (why: string) =>
    ApplicationFailure.nonRetryable(`the ${op} specialist's file for phase ${done.phase} is refused: ${why}`);
  try {
    const plan = async (t: PlanTree, dir: string) => {
      await writeTree(dir, t);
      return path.join(dir, layoutOf(t, stem).main);
    };
    const before = importPlans([await plan(tree, path.join(tmp, 'before'))]);
    let after: ReturnType<typeof importPlans>;
    try {
      after = importPlans([await plan(applyOperations(tree, stem, op, [done]), path.join(tmp, 'after'))]);
    } catch (err) {
      throw fail(`the plan does not import: ${(err as Error).message}`);
    }
    if (after.warnings.length > before.warnings.length)
      throw fail(
        `it brings import warnings: ${after.warnings
          .slice(before.warnings.length)
          .map((w) => w.message)
          .join('; ')}`,
      );
    const was = tasksOf(before.spec);
    const now = tasksOf(after.spec);
    const lost = was.flat().filter((t) => !now.flat().includes(t));
    if (lost.length) throw fail(`it loses or changes ${lost.length} task(s): ${lost.slice(0, 3).join('; ')}`);
    if (JSON.stringify(was) !== JSON.stringify(now))
      throw fail('the tasks are not the same, in the same phases and order');
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/** The new plan from the checkpoint and the operations' files, staged under the checkpoint, and its diff. */
export async function reshapeStage(input: {
  checkpoint: string;
  ref: PlanRef;
  op: ReshapeOp;
  results: OperationResult[];
}): Promise<{ diffFile: string; summary: string; files: number }> {
  const before = await readTree({ parent: path.join(input.checkpoint, 'plan'), stem: input.ref.stem });
  const done = await Promise.all(
    input.results.map(async (r): Promise<DoneOperation> => {
      // A directory is a phase directory's files (expand 1 → 2); a file is a section or phase file.
      if ((await fs.stat(r.path)).isDirectory()) {
        const files: PlanTree = new Map();
        const walk = async (rel: string) => {
          for (const e of await fs.readdir(path.join(r.path, rel), { withFileTypes: true })) {
            const p = path.posix.join(rel, e.name);
            if (e.isDirectory()) await walk(p);
            else files.set(p, await fs.readFile(path.join(r.path, p), 'utf8'));
          }
        };
        await walk('');
        return { phase: r.phase, files };
      }
      return {
        phase: r.phase,
        text: await fs.readFile(r.path, 'utf8'),
        ...(existsSync(`${r.path}.name`) ? { file: await fs.readFile(`${r.path}.name`, 'utf8') } : {}),
      };
    }),
  );
  const after = applyOperations(before, input.ref.stem, input.op, done);
  const result = path.join(input.checkpoint, 'result');
  await fs.rm(result, { recursive: true, force: true });
  await writeTree(result, after);
  let added = 0;
  let removed = 0;
  const patches: string[] = [];
  for (const p of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const a = before.get(p) ?? '';
    const b = after.get(p) ?? '';
    if (a === b) continue;
    const patch = createTwoFilesPatch(
      before.has(p) ? `a/${p}` : '/dev/null',
      after.has(p) ? `b/${p}` : '/dev/null',
      a,
      b,
    );
    for (const l of patch.split('\n')) {
      if (l.startsWith('+') && !l.startsWith('+++')) added++;
      if (l.startsWith('-') && !l.startsWith('---')) removed++;
    }
    patches.push(patch);
  }
  const diffFile = path.join(input.checkpoint, 'plan.diff');
  await fs.writeFile(diffFile, patches.join('\n'));
  return { diffFile, files: patches.length, summary: `${patches.length} file(s) changed, +${added} −${removed} lines` };
}

/** Removes the plan (its file and directory) and puts `from` in its place. */
async function replacePlan(ref: PlanRef, from: string): Promise<void> {
  await fs.rm(path.join(ref.parent, `${ref.stem}.md`), { force: true });
  await fs.rm(path.join(ref.parent, ref.stem), { recursive: true, force: true });
  if (existsSync(path.join(from, `${ref.stem}.md`)))
    await fs.copyFile(path.join(from, `${ref.stem}.md`), path.join(ref.parent, `${ref.stem}.md`));
  if (existsSync(path.join(from, ref.stem)))
    await fs.cp(path.join(from, ref.stem), path.join(ref.parent, ref.stem), { recursive: true });
}

/** Puts the checkpointed plan back and checks every file against the manifest's sha256. */
export async function reshapeRestore(input: { checkpoint: string; ref: PlanRef }): Promise<{ files: number }> {
  await replacePlan(input.ref, path.join(input.checkpoint, 'plan'));
  const manifest = JSON.parse(await fs.readFile(path.join(input.checkpoint, 'manifest.json'), 'utf8'));
  const now = await readTree(input.ref);
  for (const f of manifest.files as { path: string; sha256: string }[]) {
    const text = now.get(f.path);
    if (text === undefined || sha(text) !== f.sha256)
      throw ApplicationFailure.nonRetryable(
        `restore of ${f.path} from ${input.checkpoint} does not match its checkpoint`,
      );
  }
  if (now.size !== manifest.files.length)
    throw ApplicationFailure.nonRetryable(
      `restore left ${now.size} files, the checkpoint has ${manifest.files.length}`,
    );
  return { files: now.size };
}

/** Puts the staged plan in place; if that fails half-way, the checkpoint is restored and the error stands. */
export async function reshapeApply(input: { checkpoint: string; ref: PlanRef }): Promise<{ files: number }> {
  try {
    await replacePlan(input.ref, path.join(input.checkpoint, 'result'));
  } catch (err) {
    await reshapeRestore(input);
    throw err;
  }
  return { files: (await readTree(input.ref)).size };
}
