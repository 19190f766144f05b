/**
 * The stack's long-running processes (Temporal server, Web UI): started detached so they outlive
 * `phaseflow stack up`, output appended to a log file, pid in a pid file; stopped by that pid
 * only, and only while the process there is still the program we started (a reused pid is left
 * alone).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Started {
  pid: number;
  logFile: string;
}

export function startDetached(
  file: string,
  args: string[],
  opts: { logFile: string; pidFile: string; cwd: string },
): Started {
  const out = fs.openSync(opts.logFile, 'a');
  const child = spawn(file, args, { cwd: opts.cwd, detached: true, stdio: ['ignore', out, out], env: stackEnv() });
  fs.closeSync(out);
  if (!child.pid) throw new Error(`could not start ${file}: no pid (see ${opts.logFile})`);
  child.unref();
  fs.writeFileSync(opts.pidFile, `${child.pid}\n`);
  return { pid: child.pid, logFile: opts.logFile };
}

/** The environment of stack processes: no credentials of the caller (the server needs none). */
function stackEnv(): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'USER'];
  return Object.fromEntries(keep.filter((k) => process.env[k]).map((k) => [k, process.env[k]]));
}

export function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim().split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True while `pid` runs `program` (its /proc cmdline starts with it); a zombie counts as gone. */
export function isRunning(pid: number | undefined, program: string): boolean {
  if (!pid) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return false;
    const argv0 = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
    return argv0 === program || argv0.endsWith(`/${program}`) || program.endsWith(`/${argv0}`);
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(
  pid: number,
  program: string,
  graceMs = 15_000,
): Promise<'stopped' | 'killed' | 'not running'> {
  if (!isRunning(pid, program)) return 'not running';
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(pid, program)) return 'stopped';
    await sleep(100);
  }
  process.kill(pid, 'SIGKILL');
  while (isRunning(pid, program)) await sleep(50);
  return 'killed';
}

export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  logFile?: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(250);
  }
  throw new Error(
    `${what}: not ready after ${Math.round(timeoutMs / 1000)} s${logFile ? `; end of ${logFile}:\n${tail(logFile)}` : ''}`,
  );
}

export function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Runs a program to its end; its output is returned, and a failure says what ran and what it printed. */
export function run(
  file: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; what: string },
): string {
  const r = spawnSync(file, args, {
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
    input: opts.input,
    timeout: 300_000,
  });
  if (r.error) throw new Error(`${opts.what}: ${file} could not run: ${r.error.message}`);
  if (r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${opts.what}: \`${[file, ...args].join(' ')}\` exited ${r.status ?? r.signal}:\n${out}`);
  }
  return r.stdout ?? '';
}
