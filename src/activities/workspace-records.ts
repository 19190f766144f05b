/**
 * Who owns which records in a workspace, so that no two runs share a file.
 *
 * - Roadmap and plan slugs name files (ROADMAP.json, PROGRESS.json, logs, details files), so each
 *   slug belongs to one epic per workspace. The first epic that starts with it claims it
 *   (`.claude/orchestrator/owners/<kind>--<slug>.json`, created exclusively, so two epics starting
 *   at once cannot both win); a different epic with that slug is refused, naming the owner.
 * - A new run of an epic (`start --rerun`, `--id`, or a plain `temporal workflow start`) first
 *   moves the earlier run's records (EPIC.json, its ROADMAP.json and PROGRESS.json files, plan
 *   states, details files, logs, transcripts) to `.claude/cache/archive/<epic>/<stamp>/`.
 * - `.claude/orchestrator/state.json` (CCASP's single state file) is rebuilt from every plan's own
 *   state file, so it covers every plan of every epic in the workspace.
 */
import { constants as fsc } from 'node:fs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { archiveDir, mirrorPaths, ORCHESTRATOR_PLANS_DIR, PLAN_CACHE_DIRS, slugClaimPath } from '../domain/paths';
import { writeFileAtomic } from './fs-atomic';

export interface SlugSet {
  epicSlug: string;
  roadmaps: string[];
  plans: string[];
}

export interface SlugCollision {
  kind: 'roadmap' | 'plan';
  slug: string;
  /** The epic that owns the slug in this workspace. */
  owner: string;
  /** The file that says so (workspace-relative). */
  evidence: string;
}

interface Claim {
  epic: string;
  claimedAt: string;
}

async function readJson(file: string): Promise<any> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The epic a mirror written before claims existed belongs to, from its workflow id (`epic/<slug>/…`). */
function epicOfLegacyMirror(doc: any): string | undefined {
  const id = doc?.phaseflow?.workflow_id;
  const m = typeof id === 'string' ? /^epic\/([^/]+)\//.exec(id) : null;
  return m?.[1];
}

function eachSlug(set: SlugSet): { kind: 'roadmap' | 'plan'; slug: string }[] {
  return [
    ...set.roadmaps.map((slug) => ({ kind: 'roadmap' as const, slug })),
    ...set.plans.map((slug) => ({ kind: 'plan' as const, slug })),
  ];
}

/** The slugs of `set` that another epic already owns in this workspace (read only). */
export async function slugCollisions(workspace: string, set: SlugSet): Promise<SlugCollision[]> {
  const found: SlugCollision[] = [];
  for (const { kind, slug } of eachSlug(set)) {
    const claimFile = slugClaimPath(kind, slug);
    const claim = (await readJson(path.join(workspace, claimFile))) as Claim | undefined;
    if (claim?.epic) {
      if (claim.epic !== set.epicSlug) found.push({ kind, slug, owner: claim.epic, evidence: claimFile });
      continue;
    }
    // A workspace from before claims: the mirror file itself names its epic.
    const mirror = kind === 'plan' ? mirrorPaths.progress(slug) : mirrorPaths.roadmap(slug);
    const owner = epicOfLegacyMirror(await readJson(path.join(workspace, mirror)));
    if (owner && owner !== set.epicSlug) found.push({ kind, slug, owner, evidence: mirror });
  }
  return found;
}

export function describeCollisions(workspace: string, epicSlug: string, found: SlugCollision[]): string {
  return (
    `epic ${epicSlug}: workspace ${workspace} already holds the records of another epic under ` +
    found.map((c) => `${c.kind} slug "${c.slug}" (epic ${c.owner}, see ${c.evidence})`).join(', ') +
    `; slugs name files in the workspace, so rename the ${found.length === 1 ? found[0].kind : 'roadmaps/plans'} in this spec, ` +
    `or use another workspace`
  );
}

/**
 * Claims every slug of `set` for its epic; returns the collisions (nothing is claimed then). Safe
 * against a concurrent start: each claim file is created exclusively.
 */
export async function claimSlugs(workspace: string, set: SlugSet, now: string): Promise<SlugCollision[]> {
  const found = await slugCollisions(workspace, set);
  if (found.length) return found;
  for (const { kind, slug } of eachSlug(set)) {
    const file = path.join(workspace, slugClaimPath(kind, slug));
    await fs.mkdir(path.dirname(file), { recursive: true });
    const claim: Claim = { epic: set.epicSlug, claimedAt: now };
    try {
      await fs.writeFile(file, JSON.stringify(claim, null, 2) + '\n', { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const other = (await readJson(file)) as Claim | undefined;
      if (other?.epic && other.epic !== set.epicSlug)
        found.push({ kind, slug, owner: other.epic, evidence: slugClaimPath(kind, slug) });
    }
  }
  return found;
}

/** The slugs this epic has claimed in the workspace (from any of its runs). */
async function claimedBy(workspace: string, epicSlug: string): Promise<{ roadmaps: string[]; plans: string[] }> {
  const dir = path.join(workspace, path.dirname(slugClaimPath('plan', 'x')));
  const out = { roadmaps: [] as string[], plans: [] as string[] };
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const m = /^(roadmap|plan)--(.+)\.json$/.exec(name);
    if (!m) continue;
    const claim = (await readJson(path.join(dir, name))) as Claim | undefined;
    if (claim?.epic === epicSlug) (m[1] === 'plan' ? out.plans : out.roadmaps).push(m[2]);
  }
  return out;
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file, fsc.F_OK).then(
    () => true,
    () => false,
  );
}

/**
 * If EPIC.json was written by another run of this epic (`owner` is this run), moves that run's
 * records into the archive and returns the archive folder (workspace-relative); else undefined.
 * Idempotent: a retry finds nothing left to move.
 */
export async function archiveEarlierRun(
  workspace: string,
  set: SlugSet,
  owner: string,
  now: string,
): Promise<string | undefined> {
  const epicFile = mirrorPaths.epic(set.epicSlug);
  const earlier = await readJson(path.join(workspace, epicFile));
  if (!earlier?.phaseflow || earlier.phaseflow.owner === owner) return undefined;
  const stamp = String(earlier.created ?? now).replace(/[^0-9A-Za-z]/g, '-');
  let rel = archiveDir(set.epicSlug, stamp);
  for (let n = 2; await exists(path.join(workspace, rel)); n++) rel = archiveDir(set.epicSlug, `${stamp}-${n}`);
  const claimed = await claimedBy(workspace, set.epicSlug);
  const roadmaps = new Set([...set.roadmaps, ...claimed.roadmaps]);
  const plans = new Set([...set.plans, ...claimed.plans]);
  const move = async (from: string) => {
    const src = path.join(workspace, from);
    if (!(await exists(src))) return;
    const dst = path.join(workspace, rel, from);
    await fs.mkdir(path.dirname(dst), { recursive: true });
    await fs.rename(src, dst);
  };
  await move(epicFile);
  for (const r of roadmaps) await move(mirrorPaths.roadmap(r));
  for (const p of plans) {
    await move(mirrorPaths.progress(p));
    await move(mirrorPaths.orchestratorPlan(set.epicSlug, p));
    for (const dir of PLAN_CACHE_DIRS)
      for (const name of await fs.readdir(path.join(workspace, dir)).catch(() => [] as string[]))
        if (name.startsWith(`${p}--`)) await move(`${dir}/${name}`);
  }
  await rebuildOrchestratorState(workspace);
  return rel;
}

/** One line per plan in state.json's `plans`: enough to find the plan's own files. */
function planLine(doc: any, file: string) {
  return {
    planId: doc.planId,
    planPath: doc.planPath,
    statePath: file,
    workflowId: doc.phaseflow?.workflow_id,
    status: doc.status,
    currentPhase: doc.currentPhase,
    lastUpdated: doc.lastUpdated,
    completedTasks: doc.completedTasks?.length ?? 0,
    pendingTasks: doc.pendingTasks?.length ?? 0,
    failedTasks: doc.failedTasks?.length ?? 0,
  };
}

// One rebuild at a time in this process; a rebuild re-reads until the plan files stop changing,
// so a plan written by another worker process during a rebuild is not left out.
let rebuilding: Promise<unknown> = Promise.resolve();

/**
 * Rebuilds `.claude/orchestrator/state.json` from every plan's state file: the top-level fields
 * are CCASP's, describing the plan that is active (else the one updated last); `plans` lists all.
 */
export function rebuildOrchestratorState(workspace: string): Promise<void> {
  const next = rebuilding.then(() => rebuildOnce(workspace));
  rebuilding = next.catch(() => undefined);
  return next;
}

async function rebuildOnce(workspace: string): Promise<void> {
  const dir = path.join(workspace, ORCHESTRATOR_PLANS_DIR);
  for (let round = 0; round < 3; round++) {
    const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort();
    const docs: { doc: any; file: string; mtimeMs: number }[] = [];
    for (const name of names) {
      const full = path.join(dir, name);
      const stat = await fs.stat(full).catch(() => undefined);
      const doc = await readJson(full);
      if (stat && doc?.planId) docs.push({ doc, file: `${ORCHESTRATOR_PLANS_DIR}/${name}`, mtimeMs: stat.mtimeMs });
    }
    const target = path.join(workspace, mirrorPaths.orchestratorState());
    if (!docs.length) {
      await fs.rm(target, { force: true });
      return;
    }
    const byRecency = [...docs].sort((a, b) => String(b.doc.lastUpdated).localeCompare(String(a.doc.lastUpdated)));
    const top = byRecency.find((d) => d.doc.status === 'active') ?? byRecency[0];
    await writeFileAtomic(
      target,
      JSON.stringify({ ...top.doc, plans: docs.map((d) => planLine(d.doc, d.file)) }, null, 2) + '\n',
    );
    // Stable when no plan file changed while we read and wrote.
    let changed = false;
    for (const d of docs) {
      const stat = await fs.stat(path.join(workspace, d.file)).catch(() => undefined);
      if (!stat || stat.mtimeMs !== d.mtimeMs) changed = true;
    }
    const now = (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).length;
    if (!changed && now === docs.length) return;
  }
}
