/**
 * Running a shell command in the workspace: time limit, process-group kill, output to a log file,
 * a short excerpt for history, heartbeats while it runs, and no orchestrator secrets in its env.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { redactSecrets } from '../domain/secret-scan';
import { writeFileAtomic } from './fs-atomic';
import { sandboxed } from './sandbox';
import { hideSecretsFromProcEnviron, isSecretEnv, secretValues } from './secrets';

/**
 * The parent's environment minus anything that looks like a credential, by name or by value.
 * Called before every child starts, so the worker's own /proc environ is cleaned first.
 */
export function scrubbedEnv(
  env: NodeJS.ProcessEnv = process.env,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  hideSecretsFromProcEnviron();
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !isSecretEnv(k, v)) out[k] = v;
  return { ...out, ...extra };
}

/**
 * Output that goes into history or a summary: the worker's own secret values and anything
 * credential-shaped (a command that prints a .env file) are replaced by `[redacted ...]`.
 */
export function redactOutput(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = text;
  for (const v of secretValues(env)) out = out.split(v).join('[redacted]');
  return redactSecrets(out);
}

export interface ShellResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  cancelled: boolean;
  durationMs: number;
  outputBytes: number;
  /** The last lines of combined stdout/stderr, at most `excerptChars`. */
  excerpt: string;
}

export interface ShellOptions {
  cwd: string;
  timeoutMs: number;
  logFile: string;
  excerptChars?: number;
  signal?: AbortSignal;
  onProgress?: () => void;
  progressEveryMs?: number;
  /** Where the command's process group is recorded while it runs, for `killLeftover`. */
  pidFile?: string;
}

export async function runShell(command: string, opts: ShellOptions): Promise<ShellResult> {
  await mkdir(path.dirname(opts.logFile), { recursive: true });
  const log = createWriteStream(opts.logFile);
  const excerptChars = opts.excerptChars ?? 1000;
  const started = performance.now();
  let tail = '';
  let outputBytes = 0;
  let timedOut = false;
  let cancelled = false;

  // In a PID namespace where the machine allows it (sandbox.ts): no view of other processes.
  const run = sandboxed('/bin/sh', ['-c', command], 'processes', opts.cwd);
  const child = spawn(run.file, run.args, {
    cwd: opts.cwd,
    env: scrubbedEnv(),
    detached: true, // own process group, so a timeout kills the whole tree
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid && opts.pidFile) writeFileSync(opts.pidFile, JSON.stringify(processRecord(child.pid)));
  const killTree = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  const onData = (chunk: Buffer) => {
    outputBytes += chunk.length;
    log.write(chunk);
    tail = (tail + chunk.toString('utf8')).slice(-excerptChars * 2);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);

  const timer = setTimeout(() => {
    timedOut = true;
    killTree();
  }, opts.timeoutMs);
  const onAbort = () => {
    cancelled = true;
    killTree();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  opts.onProgress?.();
  const progress = opts.onProgress ? setInterval(opts.onProgress, opts.progressEveryMs ?? 2000) : undefined;

  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, sig) => resolve([code, sig]));
  }).finally(() => {
    clearTimeout(timer);
    if (progress) clearInterval(progress);
    opts.signal?.removeEventListener('abort', onAbort);
  });
  await new Promise<void>((resolve) => log.end(resolve));
  await redactLogFile(opts.logFile, outputBytes);
  return {
    exitCode,
    signal,
    timedOut,
    cancelled,
    durationMs: Math.round(performance.now() - started),
    outputBytes,
    // Redact before cutting: a secret cut in half would no longer be recognised.
    excerpt: lastWholeLines(redactOutput(tail), excerptChars),
  };
}

/**
 * The end of the output in whole lines, at most `max` characters: a cut line is dropped rather
 * than shown from mid-word; a single line longer than `max` keeps its end behind "…".
 */
export function lastWholeLines(text: string, max: number): string {
  const t = text.trimEnd();
  if (t.length <= max) return t;
  const cut = t.slice(-max);
  const nl = cut.indexOf('\n');
  return nl >= 0 && nl < cut.length - 1 ? cut.slice(nl + 1) : `…${cut.slice(1)}`;
}

/** Logs larger than this are left as they are (reading them back would cost too much). */
const MAX_REDACTED_LOG_BYTES = 16 * 1024 * 1024;

/**
 * The full log stays in the workspace, so the same redaction applies to it once the command is
 * done (a secret can straddle two output chunks, so it is not done while streaming).
 */
async function redactLogFile(file: string, bytes: number): Promise<void> {
  if (bytes === 0 || bytes > MAX_REDACTED_LOG_BYTES) return;
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return;
  const clean = redactOutput(text);
  if (clean !== text) await writeFileAtomic(file, clean);
}

/**
 * Who a pid file names: the group's id plus what tells that process apart from a later one with
 * the same number: the host and its boot (a workspace on a volume shared by hosts or containers,
 * or a reboot) and the leader's start time in clock ticks since boot (pid reuse).
 */
export interface ProcessRecord {
  pgid: number;
  host: string;
  bootId: string;
  startTime: string;
}

export function processRecord(pgid: number): ProcessRecord {
  return { pgid, host: os.hostname(), bootId: bootId(), startTime: startTimeOf(pgid) ?? '' };
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** Field 22 of /proc/<pid>/stat (after the command name, which may hold spaces and parentheses). */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * Why a recorded group may not be killed (`gone`: nothing of it is left to kill), or undefined
 * when it is verifiably the one recorded.
 */
export function leftoverMismatch(text: string): string | undefined {
  let rec: Partial<ProcessRecord>;
  try {
    rec = JSON.parse(text) as Partial<ProcessRecord>;
  } catch {
    return 'not a process record';
  }
  // A bare number is the format before the record (JSON.parse reads it as a number): with no start
  // time to compare, the group it names may be anyone's by now, so it is not killed.
  if (typeof rec !== 'object' || rec === null) return 'old format without host, boot id and start time';
  const pgid = rec.pgid;
  if (typeof pgid !== 'number' || !Number.isInteger(pgid) || pgid <= 1) return `bad process group ${String(pgid)}`;
  if (!rec.startTime || !rec.bootId) return 'no start time or boot id recorded';
  if (rec.host !== os.hostname()) return `recorded on host ${rec.host}, this is ${os.hostname()}`;
  if (rec.bootId !== bootId()) return 'recorded before a reboot (another boot id)';
  const now = startTimeOf(pgid);
  if (now === undefined) return 'gone';
  if (now !== rec.startTime)
    return `process ${pgid} is another process now (started at tick ${now}, recorded ${rec.startTime})`;
  return undefined;
}

/**
 * A command should die with its worker (parent-death.ts), but where that is not available, or the
 * group's leader escaped it, the next attempt of the same task kills what the last one left behind
 * before starting again: only a group verifiably the one recorded (same host, same boot, a leader
 * with the recorded start time), never whatever now has that number. `skipped` says why a pid
 * file naming a live process was not acted on.
 */
export async function killLeftover(pidFile: string): Promise<{ killed: boolean; skipped?: string }> {
  const text = await readFile(pidFile, 'utf8').catch(() => undefined);
  if (text === undefined) return { killed: false };
  const mismatch = leftoverMismatch(text);
  if (!mismatch) {
    try {
      process.kill(-JSON.parse(text).pgid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await unlink(pidFile).catch(() => undefined);
  return mismatch === undefined
    ? { killed: true }
    : { killed: false, ...(mismatch === 'gone' ? {} : { skipped: mismatch }) };
}
