/** runCommandTask: a `command` task runs a real shell command in the workspace. */
import { CancelledFailure, Context } from '@temporalio/activity';
import { mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { logFilePath, pidFilePath } from '../domain/paths';
import { ZERO_USAGE, type TaskResult, type TaskRunInput } from '../domain/types';
import { heartbeatEveryMs } from './heartbeat';
import { killLeftover, runShell } from './shell';
import { capSummary } from './summaries';
import { inWorkspace } from './workspace';

/**
 * The command is killed this long before the attempt's start-to-close timeout (a quarter of a
 * shorter limit), so the activity itself records the kill, the exit and the log excerpt, and
 * returns before Temporal times the attempt out (which would lose all of that).
 */
const TIMEOUT_MARGIN_MS = 500;

/** When a command attempt with this start-to-close timeout is killed, in ms from its start. */
export function commandKillAtMs(attemptTimeoutMs: number): number {
  return Math.round(attemptTimeoutMs - Math.min(TIMEOUT_MARGIN_MS, attemptTimeoutMs / 4));
}

/** "timed out: killed at 4.0 s of the attempt's 4.5 s limit (0.5 s kept to report)" */
export function timedOutHead(attemptTimeoutMs: number, killAtMs: number): string {
  return `timed out: killed at ${seconds(killAtMs)} of the attempt's ${seconds(attemptTimeoutMs)} limit (${seconds(attemptTimeoutMs - killAtMs)} kept to report)`;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms % 100 === 0 ? 1 : 2)} s`;

export async function runCommandTask(input: TaskRunInput): Promise<TaskResult> {
  const activity = Context.current();
  const { task, attempt } = input;
  const logFile = logFilePath(input.ctx.planSlug, task.id, attempt);
  const pidFile = inWorkspace(input.ctx.workspace, pidFilePath(input.ctx.planSlug, task.id));
  const leftover = await killLeftover(pidFile);
  const what = `task ${task.id} (${input.ctx.planSlug}, attempt ${attempt})`;
  if (leftover.killed) activity.log.warn(`${what}: killed the process group an earlier attempt left running`);
  if (leftover.skipped)
    activity.log.warn(`${what}: left alone the process group named in ${pidFile}: ${leftover.skipped}`);
  await mkdir(path.dirname(pidFile), { recursive: true });
  const killAtMs = commandKillAtMs(input.timeoutMs);
  const res = await runShell(task.command!, {
    pidFile,
    cwd: input.ctx.workspace,
    timeoutMs: killAtMs,
    logFile: inWorkspace(input.ctx.workspace, logFile),
    signal: activity.cancellationSignal,
    onProgress: () => activity.heartbeat({ running: task.id }),
    progressEveryMs: heartbeatEveryMs(activity),
  });
  await unlink(pidFile).catch(() => undefined);
  if (res.cancelled)
    throw new CancelledFailure(`task ${task.id} (${input.ctx.planSlug}, attempt ${attempt}) cancelled`);
  const ok = res.exitCode === 0;
  const head = res.timedOut
    ? timedOutHead(input.timeoutMs, killAtMs)
    : `exit ${res.exitCode ?? res.signal} in ${res.durationMs} ms`;
  return {
    taskId: task.id,
    kind: 'command',
    status: ok ? 'success' : 'failure',
    summary: capSummary(`${head}${res.excerpt ? `: ${lastLines(res.excerpt, 3)}` : ''}`, task.outputType),
    detailsFile: logFile,
    attempt,
    durationMs: res.durationMs,
    usage: ZERO_USAGE,
    exitCode: res.exitCode ?? -1,
  };
}

function lastLines(text: string, n: number): string {
  return text.split('\n').slice(-n).join(' | ');
}
