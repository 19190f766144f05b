/** `phaseflow import`: plans written for other tools (CCASP, Structure-Level Markdown) into an epic spec. */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { formatWarning, ImportError, importPlans } from '../plans/import';
import { CliError } from './errors';

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
