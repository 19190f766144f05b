/**
 * The compiled phaseflow command (bin/phaseflow.js; `npm test` builds first) as a child process,
 * run asynchronously: the tests' worker runs in the test process and must keep running meanwhile.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const BIN = path.resolve(__dirname, '../../bin/phaseflow.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  /** What it printed so far. */
  stdout(): string;
  stderr(): string;
  done: Promise<CliRun>;
  /** SIGKILL unless another signal is named (SIGINT: Ctrl-C). */
  kill(signal?: NodeJS.Signals): void;
}

export function startPhaseflow(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): RunningCli {
  return start(process.execPath, [BIN, ...args], env, timeoutMs);
}

/** Any command (e.g. the temporal CLI), to its end. */
export function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 120_000,
): Promise<CliRun> {
  return start(command, args, env, timeoutMs).done;
}

function start(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): RunningCli {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    done,
    kill: (signal: NodeJS.Signals = 'SIGKILL') => child.kill(signal),
  };
}

/** Runs `phaseflow …` to its end. */
export function phaseflow(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<CliRun> {
  return startPhaseflow(args, env, timeoutMs).done;
}

/** `r` as text for assertion messages. */
export const shown = (r: CliRun) => `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
