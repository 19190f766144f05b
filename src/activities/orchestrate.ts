/**
 * The I/O of `phaseflow orchestrate`, one job per activity: survey the workspace and pick research
 * topics; measure what the research agents wrote; check the planner's draft (zod, with field
 * paths) and write its Markdown plan; measure what the epic wrote; gather the phases' summaries
 * for the document stage; write the run's record. The agents themselves run as ordinary agent
 * tasks (runAgentTask), so they have the same tools, confinement, ladder and dry-run simulation.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { parseSpecText } from '../domain/load-spec';
import { goalSlug, orchestrateRecordPath, pruneWords } from '../domain/orchestrate';
import { CLAUDE_DIR, mirrorPaths } from '../domain/paths';
import type { EpicSpecInput, ExecutionSettings } from '../domain/spec';
import { SpecError, validateEpic } from '../domain/validate';
import { analyzeSpec } from '../plans/analyze';
import { exportMarkdown } from '../plans/markdown-export';
import { writeFileAtomic } from './fs-atomic';
import { inWorkspace } from './workspace';

export interface Topic {
  n: number;
  slug: string;
  title: string;
  /** Workspace-relative: specs/reports/NNN_<slug>.md */
  reportPath: string;
}

export interface Survey {
  workspace: string;
  fileCount: number;
  /** The first files found (workspace-relative), for the prompts and the simulated reports. */
  files: string[];
  topics: Topic[];
  /** NNN of the plan this run writes (the next free number in specs/plans). */
  planNumber: string;
  slug: string;
}

const SKIP_DIRS = new Set(['.git', 'node_modules', '.claude', 'lib', 'dist']);

/** Lists the workspace and picks up to `research` topics: the goal's clauses, then the code already there. */
export async function orchestrateSurvey(args: {
  goal: string;
  workspace: string;
  research: number;
  slug?: string;
}): Promise<Survey> {
  const workspace = path.resolve(args.workspace);
  const stat = await fs.stat(workspace).catch(() => undefined);
  if (!stat?.isDirectory())
    throw ApplicationFailure.nonRetryable(`workspace: no such directory ${workspace}`, 'WorkspaceRefused');
  const files = await listFiles(workspace, 400);
  const clauses = args.goal
    .split(/[,;.]|\band then\b|\bthen\b|\band\b/i)
    .map((c) => c.trim())
    .filter((c) => c.split(/\s+/).length >= 2);
  const titles = [...new Set([...clauses, ...(files.length ? ['the code already in the workspace'] : [])])];
  if (titles.length === 0) titles.push(args.goal);
  const firstReport = await nextNumber(path.join(workspace, 'specs', 'reports'));
  const topics = titles.slice(0, args.research).map((title, i) => {
    const n = firstReport + i;
    const slug = goalSlug(title).replace(/-/g, '_');
    return { n: i + 1, slug, title, reportPath: `specs/reports/${pad(n)}_${slug}.md` };
  });
  return {
    workspace,
    fileCount: files.length,
    files: files.slice(0, 40),
    topics,
    planNumber: pad(await nextNumber(path.join(workspace, 'specs', 'plans'))),
    slug: args.slug ?? goalSlug(args.goal),
  };
}

/** Bytes of each report a research agent wrote; a missing report is the agent's failure, said plainly. */
export async function orchestrateMeasureFiles(args: { workspace: string; paths: string[] }): Promise<number[]> {
  return Promise.all(
    args.paths.map(async (p) => {
      const st = await fs.stat(inWorkspace(args.workspace, p)).catch(() => undefined);
      return st?.isFile() ? st.size : -1;
    }),
  );
}

export type DraftCheck =
  | { ok: false; problems: { path: string; message: string }[] }
  | {
      ok: true;
      spec: EpicSpecInput;
      planPaths: string[];
      bytes: number;
      summary: string;
      analysis: { phase: number; plan: string; title: string; complexity: number }[];
    };

/**
 * Reads the planner's draft and validates it with the epic's zod schema. The run decides where
 * it works and how agents run, so `workspace` and `agentMode` are set here, and the epic's gates
 * get the debug agent (`gateDebugAttempts`) unless the draft sets its own. A valid draft is
 * written as the Markdown plan `specs/plans/NNN_<plan>.md` (one per plan).
 */
export async function orchestrateCheckDraft(args: {
  workspace: string;
  specPath: string;
  slug: string;
  agentMode: 'dry-run' | 'claude';
  gateDebugAttempts: number;
  planNumber: string;
  settings?: ExecutionSettings;
}): Promise<DraftCheck> {
  const file = inWorkspace(args.workspace, args.specPath);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return { ok: false, problems: [{ path: '', message: `the planner wrote no spec at ${args.specPath}` }] };
  }
  let data: any;
  try {
    data = parseSpecText(text, file);
    if (data && typeof data === 'object' && !Array.isArray(data)) {
      data.slug = args.slug;
      data.workspace = args.workspace;
      data.agentMode = args.agentMode;
      // The run's settings are the epic's defaults; the draft's own settings win.
      data.settings = { ...args.settings, gateDebugAttempts: args.gateDebugAttempts, ...(data.settings ?? {}) };
    }
    const spec = validateEpic(data, args.specPath);
    const planPaths: string[] = [];
    let bytes = Buffer.byteLength(text);
    const first = Number(args.planNumber);
    for (const [rel, content] of exportMarkdown(spec, 0)) {
      const n = Number(rel.slice(0, 3)) - 1 + first;
      const out = `specs/plans/${pad(n)}${rel.slice(3)}`;
      await fs.mkdir(path.dirname(inWorkspace(args.workspace, out)), { recursive: true });
      await writeFileAtomic(inWorkspace(args.workspace, out), content);
      planPaths.push(out);
      bytes += Buffer.byteLength(content);
    }
    const phases = spec.roadmaps.flatMap((r) => r.plans.flatMap((p) => p.phases));
    const tasks = phases.flatMap((p) => p.tasks).length;
    return {
      ok: true,
      spec,
      planPaths,
      bytes,
      summary: pruneWords(
        `${spec.title}: ${phases.length} phases (${phases.map((p) => p.title).join('; ')}), ${tasks} tasks.`,
      ),
      analysis: analyzeSpec(spec).map((a) => ({
        phase: a.number,
        plan: a.plan,
        title: a.title,
        complexity: a.complexity,
      })),
    };
  } catch (e) {
    if (e instanceof SpecError)
      return { ok: false, problems: e.problems.map((p) => ({ path: p.path, message: p.message })) };
    throw e;
  }
}

/** Bytes the epic's agents and commands wrote (details files, logs) for the given plans. */
export async function orchestrateEpicBytes(args: { workspace: string; plans: string[] }): Promise<number> {
  let total = 0;
  for (const dir of ['agent-outputs', 'logs']) {
    const abs = path.join(args.workspace, CLAUDE_DIR, 'cache', dir);
    const names = await fs.readdir(abs).catch(() => [] as string[]);
    for (const name of names) {
      if (!args.plans.some((p) => name.startsWith(`${p}--`))) continue;
      total += (await fs.stat(path.join(abs, name)).catch(() => undefined))?.size ?? 0;
    }
  }
  return total;
}

export interface PhaseSummary {
  plan: string;
  phase: number;
  title: string;
  status: string;
  /** At most 50 words: what its tasks reported. */
  summary: string;
}

/** Each phase's summary from the plans' PROGRESS.json mirrors (pruned), for the document stage. */
export async function orchestratePhaseSummaries(args: { workspace: string; plans: string[] }): Promise<{
  phases: PhaseSummary[];
  bytesRead: number;
  hasChangelog: boolean;
}> {
  const phases: PhaseSummary[] = [];
  let bytesRead = 0;
  for (const plan of args.plans) {
    const file = path.join(args.workspace, mirrorPaths.progress(plan));
    const text = await fs.readFile(file, 'utf8').catch(() => undefined);
    if (!text) continue;
    bytesRead += Buffer.byteLength(text);
    const doc = JSON.parse(text) as {
      phases: { id: number; name: string; status: string; tasks: { summary?: string; description: string }[] }[];
    };
    for (const p of doc.phases)
      phases.push({
        plan,
        phase: p.id,
        title: p.name,
        status: p.status,
        summary: pruneWords(p.tasks.map((t) => t.summary ?? t.description).join(' ')),
      });
  }
  return { phases, bytesRead, hasChangelog: existsSync(path.join(args.workspace, 'CHANGELOG.md')) };
}

/** Writes the run's record (stages, bytes, paths) to `.claude/orchestrator/orchestrate/<slug>.json`. */
export async function orchestrateRecord(args: { workspace: string; slug: string; record: unknown }): Promise<string> {
  const rel = orchestrateRecordPath(args.slug);
  const abs = inWorkspace(args.workspace, rel);
  await fs.mkdir(path.dirname(abs), { recursive: true });
  await writeFileAtomic(abs, `${JSON.stringify(args.record, null, 2)}\n`);
  return rel;
}

const pad = (n: number) => String(n).padStart(3, '0');

/** The next NNN in a `NNN_name` folder (1 when it is empty or missing). */
async function nextNumber(dir: string): Promise<number> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const used = names
    .map((n) => /^(\d{3})_/.exec(n)?.[1])
    .filter(Boolean)
    .map(Number);
  return used.length ? Math.max(...used) + 1 : 1;
}

async function listFiles(root: string, cap: number): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.readdir(path.join(root, rel), { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (out.length >= cap) return;
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) await walk(p);
      } else if (e.isFile()) out.push(p);
    }
  };
  await walk('');
  return out;
}
