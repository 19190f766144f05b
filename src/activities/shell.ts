/**
 * Running a shell command in the workspace: time limit, process-group kill, output to a log file,
 * a short excerpt for history, heartbeats while it runs, and no orchestrator secrets in its env.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { redactSecrets } from '../domain/secret-scan';
import { writeFileAtomic } from './fs-atomic';
import { sandboxed } from './sandbox';
import { hideSecretsFromProcEnviron, isSecretEnv, secretValues } from './secrets';

/**
 * The parent's environment minus anything that looks like a credential, by name or by value.
 * Called before every child starts, so the worker's own /proc environ is cleaned first.
 */
export function scrubbedEnv(env: NodeJS.ProcessEnv = process.env, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
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
  /** Called with the command's process group id once it runs. */
  onSpawn?: (pgid: number) => void;
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
  if (child.pid) opts.onSpawn?.(child.pid);
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
    excerpt: redactOutput(tail).slice(-excerptChars).trimEnd(),
  };
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
 * A command outlives a worker that was killed (it runs in its own process group), so the next
 * attempt of the same task kills what the last one left behind before starting again.
 */
export async function killLeftover(pidFile: string): Promise<void> {
  const text = await readFile(pidFile, 'utf8').catch(() => '');
  const pgid = Number(text.trim());
  if (Number.isInteger(pgid) && pgid > 1) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await unlink(pidFile).catch(() => undefined);
}
