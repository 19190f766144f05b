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

export interface ResultsFile {
  machine: ReturnType<typeof machineInfo>;
  options: Record<string, unknown>;
  scenarios: Record<string, ScenarioResult & { machine?: ReturnType<typeof machineInfo> }>;
}

/**
 * Writes the scenarios of this run into `file`. Scenarios not run this time (`--only`) keep
 * their earlier entries, each with the machine and commit it was measured on.
 */
export function writeResults(file: string, run: ResultsFile): void {
  let previous: ResultsFile | undefined;
  try {
    previous = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    previous = undefined;
  }
  const scenarios: ResultsFile['scenarios'] = {};
  for (const [name, s] of Object.entries(previous?.scenarios ?? {})) {
    if (!(name in run.scenarios)) scenarios[name] = { ...s, machine: s.machine ?? previous!.machine };
  }
  for (const [name, s] of Object.entries(run.scenarios)) scenarios[name] = { ...s, machine: run.machine };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ machine: run.machine, options: run.options, scenarios }, null, 2) + '\n');
}

/** The table printed at the end: figure, measured, target, pass/fail. */
export function table(figures: Figure[]): string {
  const rows = figures.map((f) => [f.label, `${fmt(f.value)} ${f.unit}`.trim(), f.target ? `${f.target.op} ${fmt(f.target.value)} ${f.unit}`.trim() : '', f.pass === undefined ? 'info' : f.pass ? 'PASS' : 'FAIL']);
  const head = ['figure', 'measured', 'target', 'result'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
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
