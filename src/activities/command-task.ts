/** runCommandTask: a `command` task runs a real shell command in the workspace. */
import { CancelledFailure, Context } from '@temporalio/activity';
import { writeFileSync } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { logFilePath, pidFilePath } from '../domain/paths';
import { ZERO_USAGE, type TaskResult, type TaskRunInput } from '../domain/types';
import { heartbeatEveryMs } from './heartbeat';
import { killLeftover, runShell } from './shell';
import { capSummary } from './summaries';
import { inWorkspace } from './workspace';

/** Leave the command a little less than the attempt's timeout, so we record its exit ourselves. */
const TIMEOUT_MARGIN_MS = 500;

export async function runCommandTask(input: TaskRunInput): Promise<TaskResult> {
  const ctx = Context.current();
  const { task, attempt } = input;
  const logFile = logFilePath(input.ctx.planSlug, task.id, attempt);
  const pidFile = inWorkspace(input.ctx.workspace, pidFilePath(input.ctx.planSlug, task.id));
  await killLeftover(pidFile);
  await mkdir(path.dirname(pidFile), { recursive: true });
  const res = await runShell(task.command!, {
    onSpawn: (pgid) => writeFileSync(pidFile, String(pgid)),
    cwd: input.ctx.workspace,
    timeoutMs: Math.max(1000, input.timeoutMs - TIMEOUT_MARGIN_MS),
    logFile: inWorkspace(input.ctx.workspace, logFile),
    signal: ctx.cancellationSignal,
    onProgress: () => ctx.heartbeat({ running: task.id }),
    progressEveryMs: 2000,
  });
  await unlink(pidFile).catch(() => undefined);
  if (res.cancelled) throw new CancelledFailure(`task ${task.id} (${input.ctx.planSlug}, attempt ${attempt}) cancelled`);
  const ok = res.exitCode === 0;
  const head = res.timedOut ? `timed out after ${res.durationMs} ms` : `exit ${res.exitCode ?? res.signal} in ${res.durationMs} ms`;
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
