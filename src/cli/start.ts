/** `phaseflow validate` and `start`. */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { describeCollisions, slugCollisions } from '../activities/workspace-records';
import { claudeCodeAgentProblems } from '../domain/agent-runtime';
import { workflowIds } from '../domain/ids';
import { loadEpicFile, SpecError, withLines } from '../domain/load-spec';
import { archiveDir, mirrorPaths } from '../domain/paths';
import type { EpicSpec } from '../domain/spec';
import { SA } from '../domain/search-attributes';
import { temporalConfig } from '../temporal/config';
import { epicWorkflow } from '../workflows/epic';
import { CliError } from './errors';
import { chooseHost } from './hosts';
import { uiBaseUrl, webUiUrl } from './paths';
import { withClient } from './target';
import { leaveOnCtrlC, watchEpic } from './watch';

export function validateCommand(file: string, opts: { json?: boolean; createWorkspace?: boolean } = {}): void {
  let spec: EpicSpec;
  try {
    spec = loadEpicFile(file);
    if (!opts.createWorkspace) requireWorkspace(file, spec);
    requireClaudeAgents(file, spec);
  } catch (err) {
    // A tool asking for JSON gets the problems as JSON too (stdout); people still read stderr.
    if (opts.json && err instanceof SpecError)
      console.log(JSON.stringify({ valid: false, file, problems: err.problems }, null, 2));
    throw err;
  }
  if (opts.json) {
    // The normalised spec as plain JSON: what `temporal workflow start --input-file epic.json` takes.
    console.log(JSON.stringify(spec, null, 2));
    return;
  }
  const counts = countOf(spec);
  console.log(`${file}: valid epic "${spec.slug}": ${countsText(counts)}`);
}

/** "1 roadmap, 2 plans, …": the counts of a spec in words. */
export function countsText(c: ReturnType<typeof countOf>): string {
  return (['roadmap', 'plan', 'phase', 'task'] as const).map((k) => plural(c[`${k}s`], k)).join(', ');
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function countOf(spec: EpicSpec) {
  const plans = spec.roadmaps.flatMap((r) => r.plans);
  const phases = plans.flatMap((p) => p.phases);
  return {
    roadmaps: spec.roadmaps.length,
    plans: plans.length,
    phases: phases.length,
    tasks: phases.reduce((n, p) => n + p.tasks.length, 0),
  };
}

export interface StartOptions {
  watch?: boolean;
  dryRun?: boolean;
  id?: string;
  uiUrl?: string;
  rerun?: boolean;
  createWorkspace?: boolean;
  /** The worker host to pin the epic to (else the spec's `host`, else the least loaded live host). */
  host?: string;
}

/**
 * A workspace that does not exist is a bad spec (a typo, or a path relative to the wrong folder):
 * tasks would "succeed" in an empty folder and the gate would fail for no visible reason.
 */
function requireWorkspace(file: string, spec: EpicSpec): void {
  let isDir = false;
  try {
    isDir = statSync(spec.workspace).isDirectory();
  } catch {
    throw new SpecError(file, [
      {
        path: 'workspace',
        message: `no such directory ${spec.workspace} (relative paths resolve against the spec file's folder); create it, or pass --create-workspace`,
      },
    ]);
  }
  if (!isDir) throw new SpecError(file, [{ path: 'workspace', message: `${spec.workspace} is not a directory` }]);
}

/** Tasks run by Claude Code that name an agent need its file, `.claude/agents/<name>.md`, in the workspace. */
function requireClaudeAgents(file: string, spec: EpicSpec): void {
  if (spec.agentMode !== 'claude') return; // simulated agents read no agent files
  const problems = claudeCodeAgentProblems(spec, (rel) => existsSync(path.join(spec.workspace, rel)));
  if (problems.length) throw withLines(new SpecError(file, problems), readFileSync(file, 'utf8'));
}

/**
 * An epic id that already ran is not started again by accident: that would replace its mirrors.
 * With --rerun the new run starts (and archives the earlier run's records before writing its own).
 */
async function refuseEarlierRun(client: Client, workflowId: string, spec: EpicSpec, rerun?: boolean): Promise<void> {
  let desc: Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['describe']>>;
  try {
    desc = await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return;
    throw err;
  }
  if (desc.status.name === 'RUNNING' || rerun) return; // running: start() says so below
  const when = desc.closeTime ? ` at ${desc.closeTime.toISOString()}` : '';
  throw new CliError(
    `epic ${workflowId} already ran (${desc.status.name.toLowerCase()}${when}; its records are in ${spec.workspace}/${mirrorPaths.epic(spec.slug)}). ` +
      `Start it again with --rerun (the earlier run's records move to ${spec.workspace}/${archiveDir(spec.slug, '<its start time>')}/ first), ` +
      `or under another workflow id with --id`,
  );
}

/** Starts an epic workflow from a validated spec. Nothing is started when validation fails. */
export async function startEpic(
  client: Client,
  spec: EpicSpec,
  opts: { id?: string; taskQueue: string },
): Promise<string> {
  const workflowId = opts.id ?? workflowIds.epic(spec.slug);
  const c = countOf(spec);
  try {
    await client.workflow.start(epicWorkflow, {
      workflowId,
      taskQueue: opts.taskQueue,
      args: [spec],
      staticSummary: `Epic ${spec.title}: ${countsText(c)} (${spec.agentMode})${spec.host ? ` on host ${spec.host}` : ''}`,
      // The description is in the input already; the Web UI gets a readable slice of it.
      staticDetails: spec.description ? spec.description.slice(0, 4000) : undefined,
      typedSearchAttributes: [
        { key: SA.epic, value: spec.slug },
        { key: SA.level, value: 'epic' },
        { key: SA.status, value: 'pending' },
        // At once, not at the first workflow task: `start` counts a host's epics by it.
        ...(spec.host ? [{ key: SA.host, value: spec.host }] : []),
      ],
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new CliError(
        `epic ${workflowId} is already running; wait for it, cancel it, or start this one under another id with --id`,
      );
    }
    throw err;
  }
  return workflowId;
}

export async function startCommand(file: string, opts: StartOptions): Promise<void> {
  const loaded = loadEpicFile(file);
  let spec: EpicSpec = opts.dryRun ? { ...loaded, agentMode: 'dry-run' } : loaded;
  if (!opts.createWorkspace) requireWorkspace(file, spec);
  requireClaudeAgents(file, spec);
  const collisions = await slugCollisions(spec.workspace, {
    epicSlug: spec.slug,
    roadmaps: spec.roadmaps.map((r) => r.slug),
    plans: spec.roadmaps.flatMap((r) => r.plans.map((p) => p.slug)),
  });
  if (collisions.length) throw new CliError(describeCollisions(spec.workspace, spec.slug, collisions));
  if (spec.agentMode === 'claude' && !process.env.ANTHROPIC_API_KEY) {
    console.error(
      'note: this shell has no ANTHROPIC_API_KEY; the worker needs one for agentMode "claude" (use --dry-run to simulate agents)',
    );
  }
  const { taskQueue, namespace } = temporalConfig();
  const uiBase = uiBaseUrl(opts.uiUrl);
  await withClient(async (client) => {
    await refuseEarlierRun(client, opts.id ?? workflowIds.epic(spec.slug), spec, opts.rerun);
    // Created only now that the server answered and the id is free: a refused start leaves nothing.
    if (opts.createWorkspace) mkdirSync(spec.workspace, { recursive: true });
    const pinned = await chooseHost(client, taskQueue, opts.host ?? spec.host);
    if (pinned.host) {
      spec = { ...spec, host: pinned.host };
      console.log(`Pinned to ${pinned.why}`);
    }
    const id = await startEpic(client, spec, { id: opts.id, taskQueue });
    console.log(`Started ${id} on task queue ${taskQueue} (workspace ${spec.workspace})`);
    // Where to see its history: the Web UI when told where it is, else the temporal CLI (which
    // reads the same TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE).
    console.log(
      uiBase ? `Web UI: ${webUiUrl(uiBase, namespace, id)}` : `History: temporal workflow show --workflow-id ${id}`,
    );
    if (!opts.watch) {
      console.log(`Follow it with \`phaseflow watch ${id}\`; \`phaseflow pending\` lists questions waiting on you.`);
      return;
    }
    const unhook = leaveOnCtrlC(id);
    const result = await watchEpic(client, id).finally(unhook);
    console.log(result.message);
    printMirrors(spec);
    if (!result.ok) throw new CliError('', 1);
  });
}

export function printMirrors(spec: EpicSpec): void {
  console.log('Mirrors:');
  console.log(`  ${spec.workspace}/${mirrorPaths.epic(spec.slug)}`);
  for (const r of spec.roadmaps) {
    console.log(`  ${spec.workspace}/${mirrorPaths.roadmap(r.slug)}`);
    for (const p of r.plans) console.log(`  ${spec.workspace}/${mirrorPaths.progress(p.slug)}`);
  }
}
