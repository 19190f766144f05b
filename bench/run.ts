/**
 * `npm run bench`: phaseflow's performance figures on a local Temporal dev server it starts
 * itself, with dry-run agents (no API key). Prints a table and writes bench/results.json; the
 * options are in USAGE below (`npm run bench -- --help`) and bench/README.md.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { startBenchEnv } from './env';
import { type Figure, machineInfo, readResults, type ResultEntry, table, writeResults } from './report';
import { agents } from './scenarios/agents';
import { cache } from './scenarios/cache';
import { context } from './scenarios/context';
import { coordination } from './scenarios/coordination';
import { many } from './scenarios/many';
import { overhead } from './scenarios/overhead';
import { parallel } from './scenarios/parallel';
import { recovery } from './scenarios/recovery';
import type { Scenario } from './scenarios/scenario';
import { scale } from './scenarios/scale';
import { turn } from './scenarios/turn';
import { benchEpic, parseShape, resultKey, shapeText } from './specs';

const REPO = path.resolve(__dirname, '..');
const SCENARIOS: Scenario[] = [parallel, overhead, context, scale, many, turn, agents, cache, recovery, coordination];
const DEFAULT_OUT = path.join(REPO, 'bench', 'results.json');

const USAGE = `usage: npm run bench [-- options]
  --only NAME[,NAME]  run only these scenarios: ${SCENARIOS.map((s) => s.name).join(', ')} (default: all)
  --scale SHAPE       the scale epic: full = 10x10x10x10 (default), small = 2x2x2x10, or RxPxHxT;
                      also PHASEFLOW_BENCH_SCALE. Any shape but full is kept as its own entry,
                      "scale@RxPxHxT", and never replaces the full-scale "scale" entry
  --repeat N          runs of the repeated scenarios (parallel, overhead, turn, recovery); figures are
                      medians (default 3)
  --out FILE          the results file (default bench/results.json); only the entries measured are
                      replaced, the others are kept with the machine and commit they came from
  --address HOST:PORT run against this Temporal server (e.g. the PostgreSQL stack) instead of starting
                      a dev server; also PHASEFLOW_BENCH_ADDRESS
  --keep              keep the temp dir (server database and logs)
  -h, --help          this text`;

const log = (msg: string) => process.stderr.write(`${msg}\n`);

/** A bad command line: one line on stderr and exit status 2, before anything starts. */
class UsageError extends Error {}

function options(argv: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        only: { type: 'string', multiple: true },
        scale: { type: 'string' },
        repeat: { type: 'string', default: '3' },
        out: { type: 'string', default: DEFAULT_OUT },
        keep: { type: 'boolean', default: false },
        address: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    // parseArgs' messages go on over several lines of advice; the first says what is wrong.
    throw new UsageError((err as Error).message.split('\n')[0].replace(/\.$/, ''));
  }
  if (values.help) return undefined;
  const names = (values.only ?? []).flatMap((o) => o.split(',')).filter(Boolean);
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length)
    throw new UsageError(
      `--only: unknown scenario ${unknown.join(', ')}; expected ${SCENARIOS.map((s) => s.name).join(', ')}`,
    );
  if (values.only && !names.length)
    throw new UsageError(`--only: no scenario named; expected ${SCENARIOS.map((s) => s.name).join(', ')}`);
  if (!/^\d+$/.test(values.repeat!) || Number(values.repeat) < 1)
    throw new UsageError(`--repeat: expected a positive integer, got "${values.repeat}"`);
  const fromEnv = values.scale === undefined && !!process.env.PHASEFLOW_BENCH_SCALE;
  const scaleName = values.scale ?? (process.env.PHASEFLOW_BENCH_SCALE || 'full');
  let shape;
  try {
    shape = parseShape(scaleName);
  } catch (err) {
    throw new UsageError(`${(err as Error).message}${fromEnv ? ' (from PHASEFLOW_BENCH_SCALE)' : ''}`);
  }
  const out = path.resolve(values.out!);
  // Refused now, not after minutes of measuring: a file whose entries could not be kept.
  try {
    readResults(out);
  } catch (err) {
    throw new UsageError(`--out ${(err as Error).message}`);
  }
  const address = values.address ?? (process.env.PHASEFLOW_BENCH_ADDRESS || undefined);
  if (address !== undefined && !/^[A-Za-z0-9.-]+:\d{1,5}$/.test(address))
    throw new UsageError(`--address: expected HOST:PORT such as 127.0.0.1:7233, got "${address}"`);
  return {
    address,
    scenarios: names.length ? SCENARIOS.filter((s) => names.includes(s.name)) : SCENARIOS,
    scaleName,
    scale: shape,
    repeat: Number(values.repeat),
    out,
    keep: values.keep!,
  };
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  if (!opts) {
    console.log(USAGE);
    return;
  }
  const runId = Date.now().toString(36);
  const env = await startBenchEnv({ keep: opts.keep, log, address: opts.address });
  const entries: Record<string, Omit<ResultEntry, 'machine'>> = {};
  const figures: Figure[] = [];
  try {
    // A first epic bundles nothing new but warms the worker (JIT, workflow isolates, connections).
    const warm = `bench-warmup-${runId}`;
    await env.runEpic(
      benchEpic({
        slug: warm,
        workspace: env.workspace(warm),
        shape: { roadmaps: 1, plans: 1, phases: 2, tasks: 4 },
        durationMs: 0,
      }),
    );
    for (const s of opts.scenarios) {
      log(`scenario ${s.name}`);
      env.worker.assertAlive();
      const before = os.loadavg();
      const started = performance.now();
      const r = await s.run({ env, runId, repeat: opts.repeat, scale: opts.scale, log });
      entries[resultKey(s.name, opts.scale)] = {
        scenario: s.name,
        options: {
          ...Object.fromEntries(
            s.uses.map((u) =>
              u === 'repeat'
                ? ['repeat', opts.repeat]
                : ['scale', { name: opts.scaleName, shape: shapeText(opts.scale) }],
            ),
          ),
          // Figures from another Temporal (the PostgreSQL stack, say) say which.
          ...(opts.address ? { address: opts.address } : {}),
        },
        ...r,
        measuredAt: new Date().toISOString(),
        durationS: Math.round((performance.now() - started) / 100) / 10,
        loadAverage: { before, after: os.loadavg() },
      };
      figures.push(...r.figures);
    }
  } finally {
    await env.close();
  }
  const written = writeResults(opts.out, {
    machine: machineInfo(REPO, env.binary),
    options: {
      only: opts.scenarios.map((s) => s.name),
      scale: { name: opts.scaleName, shape: shapeText(opts.scale) },
      repeat: opts.repeat,
    },
    entries,
  });
  const judged = figures.filter((f) => f.pass !== undefined);
  const kept = Object.keys(written.scenarios).filter((k) => !(k in entries));
  console.log(table(figures));
  console.log(
    `\n${judged.filter((f) => f.pass).length} of ${judged.length} targets met; every figure and how it was measured: ${path.relative(process.cwd(), opts.out)}`,
  );
  console.log(
    `  written: ${Object.keys(entries).join(', ')}${kept.length ? `; kept from earlier runs: ${kept.join(', ')}` : ''}`,
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    if (err instanceof UsageError) {
      console.error(`bench: ${err.message}; npm run bench -- --help lists the options`);
      process.exit(2);
    }
    // A failure while measuring: the stack says where.
    console.error(`bench failed: ${(err as Error)?.stack ?? err}`);
    process.exit(1);
  },
);
