/** Figures, their targets, the stdout table and bench/results.json (with the machine they came from). */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Target {
  op: '>=' | '<=' | '<';
  value: number;
}

export interface Figure {
  /** Stable key, e.g. `parallel.efficiency6`. */
  key: string;
  label: string;
  value: number;
  unit: string;
  /** Absent: reported for information, not judged. */
  target?: Target;
  pass?: boolean;
  /** How the value was obtained (which span, which baseline). */
  basis: string;
}

export function figure(f: Omit<Figure, 'pass'>): Figure {
  if (!Number.isFinite(f.value)) throw new Error(`figure ${f.key}: not a number (${f.value})`);
  if (!f.target) return f;
  const { op, value } = f.target;
  const pass = op === '>=' ? f.value >= value : op === '<=' ? f.value <= value : f.value < value;
  return { ...f, pass };
}

export interface ScenarioResult {
  figures: Figure[];
  /** Raw measurements behind the figures. */
  details: Record<string, unknown>;
  measuredAt: string;
  durationS: number;
  loadAverage: { before: number[]; after: number[] };
}

export function machineInfo(repo: string, temporalBinary: string) {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return undefined;
    }
  };
  const temporalVersion = (() => {
    try {
      return execFileSync(temporalBinary, ['--version'], { encoding: 'utf8' }).trim();
    } catch {
      return undefined;
    }
  })();
  return {
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryBytes: os.totalmem(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    temporal: temporalVersion,
    date: new Date().toISOString(),
    gitCommit: git('rev-parse', 'HEAD'),
    // Uncommitted changes under src/ mean the figures are not exactly those of gitCommit.
    srcDirty: git('status', '--porcelain', '--', 'src') ? true : false,
  };
}

export type Machine = ReturnType<typeof machineInfo>;

/** One scenario's entry in results.json: its figures and exactly how and where it was measured. */
export interface ResultEntry extends ScenarioResult {
  scenario: string;
  /** The bench options that shaped this entry (repeats, or the scale epic's shape). */
  options: Record<string, unknown>;
  machine: Machine;
}

export interface ResultsFile {
  note: string;
  /** What the last `npm run bench` wrote into this file: it may have re-run only some entries. */
  lastRun: { date: string; gitCommit?: string; wrote: string[]; options: Record<string, unknown> };
  /**
   * By key: the scenario's name, or `scale@RxPxHxT` for a scale epic of another shape than the
   * full 10×10×10×10. Entries not re-run keep their own machine, commit and options.
   */
  scenarios: Record<string, ResultEntry>;
}

const NOTE =
  'Written by `npm run bench` (bench/run.ts; bench/README.md explains each figure). Each entry under "scenarios" was measured separately ' +
  'and carries its own machine, commit and options; a run re-writes only the entries it measured. "scale" is the full 10x10x10x10 epic; ' +
  'a scale epic of another shape is kept as "scale@RxPxHxT".';

/** The results file at `file`, or undefined if there is none; a file that is not one is refused (nothing would be kept of it). */
export function readResults(file: string): ResultsFile | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file}: cannot read it (${(err as Error).message})`);
  }
  let parsed: Partial<ResultsFile>;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not JSON (${(err as Error).message}); move it away or give another --out`);
  }
  const entryProblem = ([key, e]: [string, Partial<ResultEntry>]) =>
    !e?.machine || !e.options || !Array.isArray(e.figures)
      ? `entry "${key}" lacks machine, options or figures`
      : undefined;
  const problem =
    typeof parsed !== 'object' || parsed === null
      ? 'not an object'
      : !parsed.lastRun
        ? 'no "lastRun"'
        : typeof parsed.scenarios !== 'object' || parsed.scenarios === null
          ? 'no "scenarios"'
          : Object.entries(parsed.scenarios).map(entryProblem).find(Boolean);
  if (problem)
    throw new Error(
      `${file}: not a bench results file of this layout (${problem}); move it away or give another --out`,
    );
  return parsed as ResultsFile;
}

/**
 * Writes this run's entries into `file`; the entries it did not measure (other scenarios under
 * `--only`, other scale shapes) stay as they were. Returns what was written.
 */
export function writeResults(
  file: string,
  run: { machine: Machine; options: Record<string, unknown>; entries: Record<string, Omit<ResultEntry, 'machine'>> },
): ResultsFile {
  const out: ResultsFile = {
    note: NOTE,
    lastRun: {
      date: run.machine.date,
      gitCommit: run.machine.gitCommit,
      wrote: Object.keys(run.entries),
      options: run.options,
    },
    scenarios: { ...readResults(file)?.scenarios },
  };
  for (const [key, e] of Object.entries(run.entries)) out.scenarios[key] = { ...e, machine: run.machine };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  return out;
}

/** The table printed at the end: figure, measured, target, pass/fail. */
export function table(figures: Figure[]): string {
  const rows = figures.map((f) => [
    f.label,
    `${fmt(f.value)} ${f.unit}`.trim(),
    f.target ? `${f.target.op} ${fmt(f.target.value)} ${f.unit}`.trim() : '',
    f.pass === undefined ? 'info' : f.pass ? 'PASS' : 'FAIL',
  ]);
  const head = ['figure', 'measured', 'target', 'result'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  return abs >= 100 ? v.toFixed(0) : abs >= 10 ? v.toFixed(1) : abs >= 1 ? v.toFixed(2) : v.toFixed(4);
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
