/**
 * `npm run bench`: phaseflow's performance figures on a local Temporal dev server it starts
 * itself, with dry-run agents (no API key). Prints a table and writes bench/results.json.
 *
 *   npm run bench                          all scenarios, scale epic 10×10×10×10
 *   npm run bench -- --only scale          one scenario (or a comma-separated list)
 *   npm run bench -- --scale small         scale epic 2×2×2×10 (or RxPxHxT; env PHASEFLOW_BENCH_SCALE)
 *   npm run bench -- --repeat 5            repeats of the quick scenarios (medians; default 3)
 *   npm run bench -- --out FILE --keep     results elsewhere; keep the temp dir (server db, logs)
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { startBenchEnv } from './env';
import { type Figure, machineInfo, type ScenarioResult, table, writeResults } from './report';
import { context } from './scenarios/context';
import { overhead } from './scenarios/overhead';
import { parallel } from './scenarios/parallel';
import type { Scenario } from './scenarios/scenario';
import { scale } from './scenarios/scale';
import { benchEpic, parseShape, type Shape } from './specs';

const REPO = path.resolve(__dirname, '..');
const SCENARIOS: Scenario[] = [parallel, overhead, context, scale];
const SCALES: Record<string, Shape> = {
  full: { roadmaps: 10, plans: 10, phases: 10, tasks: 10 },
  small: { roadmaps: 2, plans: 2, phases: 2, tasks: 10 },
};

const log = (msg: string) => process.stderr.write(`${msg}\n`);

function options() {
  const { values } = parseArgs({
    options: {
      only: { type: 'string', multiple: true },
      scale: { type: 'string', default: process.env.PHASEFLOW_BENCH_SCALE || 'full' },
      repeat: { type: 'string', default: '3' },
      out: { type: 'string', default: path.join(REPO, 'bench', 'results.json') },
      keep: { type: 'boolean', default: false },
    },
  });
  const names = (values.only ?? []).flatMap((o) => o.split(',')).filter(Boolean);
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) throw new Error(`--only: unknown scenario ${unknown.join(', ')}; expected ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat: expected a positive integer, got "${values.repeat}"`);
  return {
    scenarios: names.length ? SCENARIOS.filter((s) => names.includes(s.name)) : SCENARIOS,
    scaleName: values.scale!,
    scale: SCALES[values.scale!] ?? parseShape(values.scale!),
    repeat,
    out: path.resolve(values.out!),
    keep: values.keep!,
  };
}

async function main(): Promise<void> {
  const opts = options();
  const runId = Date.now().toString(36);
  const env = await startBenchEnv({ keep: opts.keep, log });
  const results: Record<string, ScenarioResult> = {};
  const figures: Figure[] = [];
  try {
    // A first epic bundles nothing new but warms the worker (JIT, workflow isolates, connections).
    const warm = `bench-warmup-${runId}`;
    await env.runEpic(benchEpic({ slug: warm, workspace: env.workspace(warm), shape: { roadmaps: 1, plans: 1, phases: 2, tasks: 4 }, durationMs: 0 }));
    for (const s of opts.scenarios) {
      log(`scenario ${s.name}`);
      env.worker.assertAlive();
      const before = os.loadavg();
      const started = performance.now();
      const r = await s.run({ env, runId, repeat: opts.repeat, scale: opts.scale, log });
      results[s.name] = { ...r, measuredAt: new Date().toISOString(), durationS: Math.round((performance.now() - started) / 100) / 10, loadAverage: { before, after: os.loadavg() } };
      figures.push(...r.figures);
    }
  } finally {
    await env.close();
  }
  writeResults(opts.out, {
    machine: machineInfo(REPO, env.binary),
    options: { scenarios: opts.scenarios.map((s) => s.name), scale: opts.scaleName, scaleShape: opts.scale, repeat: opts.repeat },
    scenarios: results,
  });
  const judged = figures.filter((f) => f.pass !== undefined);
  console.log(table(figures));
  console.log(`\n${judged.filter((f) => f.pass).length} of ${judged.length} targets met; every figure and how it was measured: ${path.relative(process.cwd(), opts.out)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench failed: ${(err as Error)?.stack ?? err}`);
    process.exit(1);
  },
);
