/**
 * The Claude Code process of one attempt: its environment (scrubbed of the worker's secrets but
 * for the API key it needs; HOME and CLAUDE_CONFIG_DIR in the task's own folder; no telemetry,
 * no auto-update, no other non-essential traffic), and how it is started: tied to the worker with
 * a parent-death signal (parent-death.ts), so a `kill -9` of the worker takes it down too, with
 * its peak memory read from /proc while it runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { withParentDeath } from '../../../parent-death';
import { isSecretEnv } from '../../secrets';
import type { SpawnOptions } from './sdk-types';

/** Variables of the worker that Claude Code may see (plus what `claudeCodeEnv` sets). */
const PASSED = ['PATH', 'LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'LC_MESSAGES', 'TZ', 'USER', 'LOGNAME', 'SHELL'];

export function claudeCodeEnv(opts: {
  source: NodeJS.ProcessEnv;
  apiKey: string;
  baseURL?: string;
  taskDir: string;
}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PASSED) {
    const v = opts.source[name];
    if (v !== undefined && !isSecretEnv(name, v)) env[name] = v;
  }
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    ...env,
    HOME: path.join(opts.taskDir, 'home'),
    CLAUDE_CONFIG_DIR: path.join(opts.taskDir, 'config'),
    TMPDIR: path.join(opts.taskDir, 'tmp'),
    ANTHROPIC_API_KEY: opts.apiKey,
    ...(opts.baseURL ? { ANTHROPIC_BASE_URL: opts.baseURL } : {}),
    DISABLE_TELEMETRY: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_ERROR_REPORTING: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    // Claude Code's own subprocess scrub needs bubblewrap; Bash gets `env -i` instead (tool-guard.ts).
    CLAUDE_CODE_SUBPROCESS_ENV_SCRUB: '0',
    CLAUDE_AGENT_SDK_CLIENT_APP: 'phaseflow',
  };
}

/** One started Claude Code process: its pid, the tail of its stderr, and its peak memory. */
export class ClaudeCodeProcess {
  child: ChildProcess | undefined;
  startedAt = 0;
  private stderrTail = '';
  /** Highest resident set size seen, in bytes (VmHWM from /proc, Linux only). */
  peakRssBytes: number | undefined;

  /** For the SDK's `spawnClaudeCodeProcess`. */
  readonly spawn = (o: SpawnOptions): ChildProcess => {
    const run = withParentDeath(o.command, o.args, 'KILL');
    this.startedAt = Date.now();
    const child = spawn(run.file, run.args, {
      cwd: o.cwd,
      env: o.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: o.signal,
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString('utf8')).slice(-4000);
    });
    // An abort kills it (the SDK's signal); the error event that follows is not news.
    child.on('error', () => undefined);
    this.child = child;
    return child;
  };

  /** Reads the process's peak memory so far (call it while it runs, and once at the end). */
  sampleMemory(): void {
    const pid = this.child?.pid;
    if (!pid || this.child?.exitCode !== null) return;
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) this.peakRssBytes = Math.max(this.peakRssBytes ?? 0, Number(m[1]) * 1024);
    } catch {
      // Not Linux, or already gone.
    }
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(): void {
    if (this.running()) this.child!.kill('SIGKILL');
  }

  stderr(): string {
    return this.stderrTail.trim();
  }
}
