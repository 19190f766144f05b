/** `phaseflow import` and `export`: plans to and from other tools' formats (CCASP, Structure-Level Markdown). */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import YAML from 'yaml';
import { loadEpicFile, SpecError } from '../domain/load-spec';
import { mirrorPaths } from '../domain/paths';
import { EpicSpec } from '../domain/spec';
import { analysisTable, analyzeSpec } from '../plans/analyze';
import { analyzeWithAgent } from '../plans/analyze-agent';
import { exportCcasp } from '../plans/ccasp-export';
import { formatWarning, ImportError, importPlans } from '../plans/import';
import { exportMarkdown, type FileSet, type Level } from '../plans/markdown-export';
import { CliError } from './errors';
import { resolveTarget, withClient } from './target';
import { planRef, type ReshapeOp } from '../activities/plan-reshape';
import { temporalConfig } from '../temporal/config';
import { planReshapeWorkflow } from '../workflows/plan-reshape';
import type { ReshapeInput, ReshapeOutcome } from '../workflows/reshape-run';

export interface ImportCommandOptions {
  out?: string;
  strict?: boolean;
  json?: boolean;
  agentMode?: 'dry-run' | 'claude';
  workspace?: string;
}

export function importCommand(paths: string[], opts: ImportCommandOptions): void {
  let result;
  try {
    result = importPlans(paths, { strict: opts.strict, agentMode: opts.agentMode, workspace: opts.workspace });
  } catch (err) {
    if (err instanceof ImportError) throw new CliError(err.message, 2);
    throw err;
  }
  for (const w of result.warnings) console.error(`warning: ${formatWarning(w)}`);
  const text = opts.json ? `${JSON.stringify(result.spec, null, 2)}\n` : YAML.stringify(result.spec, { lineWidth: 0 });
  if (!opts.out) {
    process.stdout.write(text);
    return;
  }
  // Written whole or not at all: a temporary file beside the target, then a rename.
  mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
  const tmp = `${opts.out}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, opts.out);
  const s = result.spec as any;
  const plans = s.roadmaps.flatMap((r: any) => r.plans);
  const phases = plans.flatMap((p: any) => p.phases);
  const tasks = phases.flatMap((p: any) => p.tasks);
  console.log(
    `${opts.out}: epic "${s.slug}" from ${result.sources.length} file(s): ${plans.length} plan(s), ${phases.length} phase(s) (${phases.filter((p: any) => p.status === 'completed').length} completed), ${tasks.length} task(s) (${tasks.filter((t: any) => t.status === 'completed').length} completed); ${result.warnings.length} warning(s)`,
  );
}

export interface ExportCommandOptions {
  to: 'markdown' | 'ccasp';
  level?: Level;
}

/**
 * `phaseflow export SPEC|PATH|ID --to markdown|ccasp DIR`: a spec file (or any plan `import`
 * reads), or a run by workflow id with its live status, written as Markdown plans or CCASP files.
 */
export async function exportCommand(source: string, dir: string, opts: ExportCommandOptions): Promise<void> {
  const spec = existsSync(source) ? loadSource(source) : await specOfRun(source);
  const files =
    opts.to === 'markdown' ? exportMarkdown(spec, opts.level ?? 0) : exportCcasp(spec, new Date().toISOString());
  writeFileSet(dir, files);
  console.log(
    `${dir}: ${files.size} file(s) written (${opts.to}${opts.to === 'markdown' ? `, Level ${opts.level ?? 0}` : ''})`,
  );
  for (const f of [...files.keys()].sort()) console.log(`  ${f}`);
}

/** A YAML/JSON epic spec, else any plan `phaseflow import` reads. */
function loadSource(source: string): EpicSpec {
  if (/\.(ya?ml)$/i.test(source)) return loadEpicFile(source);
  if (/\.json$/i.test(source)) {
    try {
      return loadEpicFile(source);
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
    }
  }
  try {
    return EpicSpec.parse(importPlans([source]).spec);
  } catch (err) {
    if (err instanceof ImportError) throw new CliError(err.message, 2);
    throw err;
  }
}

/**
 * The spec a run started with (its first event), with the live status of its tasks and phases from
 * the PROGRESS.json mirrors in its workspace: completed work is marked completed.
 */
async function specOfRun(id: string): Promise<EpicSpec> {
  return withClient(async (client) => {
    const target = await resolveTarget(client, id);
    const history = await client.workflow.getHandle(target.epicId).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const args = (started?.input?.payloads ?? []).map((p) => defaultPayloadConverter.fromPayload(p as any));
    const spec = EpicSpec.parse(args[0]);
    const workspace = (args[1] as { workspace?: string } | undefined)?.workspace ?? spec.workspace;
    let found = 0;
    for (const plan of spec.roadmaps.flatMap((r) => r.plans)) {
      const file = path.join(workspace, mirrorPaths.progress(plan.slug));
      if (!existsSync(file)) continue;
      found++;
      const doc = JSON.parse(readFileSync(file, 'utf8'));
      plan.phases.forEach((phase, i) => {
        const live = doc.phases?.[i];
        if (!live) return;
        for (const t of phase.tasks) {
          if (live.tasks?.find((x: any) => x.id === t.id)?.status === 'completed') {
            t.status = 'completed';
            t.source ??= 'imported';
          }
        }
        const shown = live.phaseflow_status ?? live.status;
        if (shown === 'completed' || shown === 'skipped') {
          phase.status = shown;
          phase.source ??= 'imported';
        }
      });
    }
    if (found === 0)
      console.error(`warning: no PROGRESS.json of ${target.epicId} under ${workspace}: exported without live status`);
    return spec;
  });
}

/** Written whole or not at all: into a temporary directory beside DIR, then moved into place. */
function writeFileSet(dir: string, files: FileSet): void {
  mkdirSync(dir, { recursive: true });
  const stage = mkdtempSync(path.join(path.dirname(path.resolve(dir)), '.phaseflow-export-'));
  try {
    for (const [f, content] of files) {
      mkdirSync(path.dirname(path.join(stage, f)), { recursive: true });
      writeFileSync(path.join(stage, f), content);
    }
    for (const f of files.keys()) {
      mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      renameSync(path.join(stage, f), path.join(dir, f));
    }
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** `phaseflow analyze SPEC|PATH`: each phase's complexity with its reason, and the recommendations. */
export async function analyzeCommand(
  source: string,
  opts: { expandAt: number; collapseAt: number; json?: boolean; mode?: 'dry-run' | 'claude' },
): Promise<void> {
  if (!(opts.collapseAt < opts.expandAt))
    throw new CliError(`--collapse-at (${opts.collapseAt}) must be below --expand-at (${opts.expandAt})`, 2);
  if (!existsSync(source)) throw new CliError(`${source}: no such file or directory`, 2);
  const spec = loadSource(source);
  const thresholds = { expandAt: opts.expandAt, collapseAt: opts.collapseAt };
  let rows;
  if (opts.mode === 'claude') {
    try {
      rows = await analyzeWithAgent(spec, thresholds);
    } catch (err) {
      throw new CliError((err as Error).message, 1);
    }
  } else rows = analyzeSpec(spec, thresholds);
  if (opts.json) console.log(JSON.stringify({ thresholds, phases: rows }, null, 2));
  else process.stdout.write(analysisTable(rows, thresholds));
}

export interface ReshapeCommandOptions {
  auto?: boolean;
  phase?: string[];
  wait?: boolean;
  expandAt: number;
  collapseAt: number;
  maxParallel?: number;
  mode?: 'dry-run' | 'claude';
  decisionTimeout?: number;
  id?: string;
}

/**
 * `phaseflow expand|collapse PATH [--auto | --phase N...]`: starts the durable reshape workflow
 * (a worker runs it); `--wait` waits for its outcome. Approve or reject its diff with
 * `phaseflow approve|reject <id>`.
 */
export async function reshapeCommand(op: ReshapeOp, planPath: string, opts: ReshapeCommandOptions): Promise<void> {
  if (!existsSync(planPath)) throw new CliError(`${planPath}: no such file or directory`, 2);
  if (!opts.auto && !opts.phase?.length) throw new CliError(`${op}: name the phases (--phase N ...) or use --auto`, 2);
  if (opts.auto && opts.phase?.length) throw new CliError(`${op}: --auto and --phase exclude each other`, 2);
  const ref = planRef(planPath);
  const input: ReshapeInput = {
    planPath: path.resolve(planPath),
    op,
    ...(opts.auto ? { auto: true } : { phases: opts.phase }),
    thresholds: { expandAt: opts.expandAt, collapseAt: opts.collapseAt },
    ...(opts.maxParallel ? { maxParallel: opts.maxParallel } : {}),
    ...(opts.mode === 'claude' ? { mode: 'claude' as const } : {}),
    ...(opts.decisionTimeout ? { decisionTimeoutSeconds: opts.decisionTimeout } : {}),
  };
  const workflowId = opts.id ?? `reshape/${ref.stem}`;
  await withClient(async (client) => {
    const { taskQueue } = temporalConfig();
    const handle = await client.workflow.start(planReshapeWorkflow, { workflowId, taskQueue, args: [input] });
    console.log(`Started ${workflowId} (${op} of ${planPath}) on task queue ${taskQueue}`);
    console.log(`  approve or reject its plan diff: phaseflow approve ${workflowId} / phaseflow reject ${workflowId}`);
    if (!opts.wait) return;
    const outcome = await handle.result();
    printReshape(outcome);
  });
}

export function printReshape(o: ReshapeOutcome): void {
  console.log(`${o.op}: ${o.status}${o.phases.length ? ` (phases ${o.phases.join(', ')})` : ''}`);
  for (const r of o.operations) console.log(`  ✔ phase ${r.phase}: ${r.summary} (${r.path})`);
  if (o.failed.length) console.log(`  ✖ failed: phases ${o.failed.join(', ')}`);
  if (o.diffFile) console.log(`  diff: ${o.diffFile} (${o.summary})`);
  if (o.checkpoint) console.log(`  checkpoint: ${o.checkpoint}`);
  if (o.nextCandidates)
    console.log(
      o.nextCandidates.length
        ? `  next candidates: ${o.nextCandidates.map((c) => `${c.recommendation} phase ${c.number} (${c.complexity}/10)`).join(', ')}`
        : '  next candidates: none',
    );
}
