/**
 * Bash {command, timeout?}: runs `bash -c` in the workspace, sandboxed where the machine allows
 * it (sandbox.ts), in its own process group (killed as a whole on timeout, cancellation, and
 * when the command exits, so no stray children outlive the call), with a filtered environment
 * and a capped output.
 */
import { spawn } from 'node:child_process';
import { z } from 'zod';
import { sandboxed, type Sandboxed } from '../../sandbox';
import { agentShellEnv } from './bash-env';
import { defineTool, TOOL_RESULT_CAP_BYTES } from './tool';
import { ToolError } from './tool-error';

export const BASH_DEFAULT_TIMEOUT_MS = 120_000;
export const BASH_MAX_TIMEOUT_MS = 600_000;
const KILL_GRACE_MS = 2_000;
/** Leaves room under the tool-result cap for the truncation and exit-status notes. */
const OUTPUT_CAP_BYTES = TOOL_RESULT_CAP_BYTES - 1_000;

export const bashTool = defineTool({
  name: 'Bash',
  description:
    'Runs a shell command with bash in the workspace directory (each call starts fresh there). ' +
    `timeout is in milliseconds (default ${BASH_DEFAULT_TIMEOUT_MS}, max ${BASH_MAX_TIMEOUT_MS}). ` +
    'stdout and stderr are returned together; long output is truncated in the middle. A non-zero exit status is reported as an error. ' +
    'Background processes are killed when the command returns. The environment has no credentials.',
  parse: z.object({
    command: z.string().min(1).describe('The command to run'),
    // A longer timeout is cut to the maximum rather than refused; the model is told the maximum.
    timeout: z
      .number()
      .int()
      .min(1)
      .optional()
      .meta({ maximum: BASH_MAX_TIMEOUT_MS })
      .describe('Time limit in milliseconds'),
    // Claude Code's Bash takes one; accepted and not used.
    description: z.string().optional().describe('What the command does, in a few words'),
  }),
  async run({ command, timeout }, ctx) {
    const limitMs = Math.max(1, Math.min(timeout ?? BASH_DEFAULT_TIMEOUT_MS, BASH_MAX_TIMEOUT_MS, ctx.remainingMs()));
    // In the workspace sandbox where the machine allows it (sandbox.ts): no other processes in
    // sight, everything outside the workspace read-only, home directories and /tmp hidden.
    const run = sandboxed('/bin/bash', ['-c', command], 'workspace', ctx.workspace, ctx.env);
    const env = {
      ...agentShellEnv(ctx.env, ctx.workspace),
      ...(run.sandbox === 'workspace' ? { TMPDIR: '/tmp' } : {}),
    };
    const r = await runInProcessGroup(run, ctx.workspace, env, limitMs, ctx.signal);
    const output = r.output.text();
    if (r.timedOut)
      throw new ToolError(`${output}\n[command timed out after ${limitMs} ms; its process group was killed]`);
    if (r.aborted) throw new ToolError(`${output}\n[command aborted: the task was cancelled or ran out of time]`);
    if (r.code !== 0) throw new ToolError(`${output}\n[exit code ${r.code ?? `signal ${r.signal}`}]`);
    return output === '' ? '(no output)' : output;
  },
});

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  output: HeadTailBuffer;
}

function runInProcessGroup(
  run: Sandboxed,
  cwd: string,
  env: NodeJS.ProcessEnv,
  limitMs: number,
  signal: AbortSignal,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const output = new HeadTailBuffer(OUTPUT_CAP_BYTES);
    let timedOut = false;
    let aborted = false;
    const child = spawn(run.file, run.args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    const stop = () => {
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS).unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, limitMs);
    const onAbort = () => {
      aborted = true;
      stop();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    child.stdout.on('data', (b: Buffer) => output.push(b));
    child.stderr.on('data', (b: Buffer) => output.push(b));
    child.on('error', (err) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      reject(new ToolError(`cannot start bash: ${err.message}`));
    });
    // A background child holding the pipes open would keep 'close' from firing: when bash
    // exits, kill its group (stray children included), then wait for the pipes to drain.
    let exit: { code: number | null; sig: NodeJS.Signals | null } | undefined;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve({ code: exit?.code ?? null, signal: exit?.sig ?? null, timedOut, aborted, output });
    };
    child.on('exit', (code, sig) => {
      exit = { code, sig };
      killGroup('SIGKILL');
      // Escaped grandchildren (own session) could still hold the pipes: do not wait forever.
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, KILL_GRACE_MS).unref();
    });
    child.on('close', finish);
  });
}

/** Keeps the first third and the last two thirds of `cap` bytes of a stream; counts the rest. */
export class HeadTailBuffer {
  private head: Buffer[] = [];
  private headLen = 0;
  private tail: Buffer[] = [];
  private tailLen = 0;
  private total = 0;
  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    const headCap = Math.floor(this.cap / 3);
    if (this.headLen < headCap) {
      const take = chunk.subarray(0, headCap - this.headLen);
      this.head.push(take);
      this.headLen += take.length;
      chunk = chunk.subarray(take.length);
    }
    if (chunk.length === 0) return;
    this.tail.push(chunk);
    this.tailLen += chunk.length;
    const tailCap = this.cap - headCap;
    while (this.tailLen - this.tail[0].length >= tailCap) this.tailLen -= this.tail.shift()!.length;
  }

  text(): string {
    const tailCap = this.cap - Math.floor(this.cap / 3);
    let tail = Buffer.concat(this.tail);
    if (tail.length > tailCap) tail = tail.subarray(tail.length - tailCap);
    const omitted = this.total - this.headLen - tail.length;
    const head = Buffer.concat(this.head).toString('utf8');
    return omitted > 0
      ? `${head}\n[... output truncated: ${omitted} of ${this.total} bytes omitted ...]\n${tail.toString('utf8')}`
      : head + tail.toString('utf8');
  }
}
