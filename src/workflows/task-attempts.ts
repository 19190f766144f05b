/**
 * One task through its attempts. Each attempt is its own activity execution with a start-to-close
 * timeout from the ladder (120 s, 180 s, 270 s by default), so the growing limit shows in the
 * history. Transient failures wait (the server's retry-after when given, else a backoff growing by
 * the same factor) and try again; permanent ones end the task at once.
 */
import { ActivityFailure, ApplicationFailure, CancelledFailure, isCancellation, proxyActivities, sleep, TimeoutFailure } from '@temporalio/workflow';
import type * as activities from '../activities';
import type { FailureDetails } from '../activities/failures';
import { resolveModelId } from '../domain/models';
import { attemptTimeoutMs, type EffectiveSettings, retryBackoffMs } from '../domain/settings';
import type { TaskSpec } from '../domain/spec';
import type { TaskContext, TaskResult, TaskRunInput, Usage } from '../domain/types';

export interface AttemptReport {
  status: 'running' | 'completed' | 'failed';
  attempt: number;
  result?: TaskResult;
  error?: string;
  /** Tokens an attempt used before it failed by throwing (agents report them in the failure). */
  usage?: Usage;
}

export interface TaskOutcome {
  status: 'completed' | 'failed';
  attempts: number;
  result?: TaskResult;
  error?: string;
}

export async function runTaskAttempts(args: {
  ctx: TaskContext;
  task: TaskSpec;
  settings: EffectiveSettings;
  agentMode: TaskRunInput['agentMode'];
  report: (r: AttemptReport) => void;
}): Promise<TaskOutcome> {
  const { ctx, task, settings } = args;
  const model = resolveModelId(task.model ?? settings.model, task.complexity);
  let previousFailure: string | undefined;
  let lastError = '';
  for (let attempt = 1; attempt <= settings.attempts; attempt++) {
    args.report({ status: 'running', attempt });
    const timeoutMs = attemptTimeoutMs(settings, attempt);
    const acts = proxyActivities<typeof activities>({
      startToCloseTimeout: timeoutMs,
      heartbeatTimeout: settings.heartbeatSeconds * 1000,
      // The ladder above is the retry policy: one execution per attempt.
      retry: { maximumAttempts: 1 },
      summary: `task ${task.id} · attempt ${attempt}/${settings.attempts} · ${task.kind}${task.kind === 'agent' ? ` (${args.agentMode})` : ''}`,
    });
    const input: TaskRunInput = {
      ctx,
      task: {
        id: task.id,
        description: task.description,
        kind: task.kind,
        command: task.command,
        domain: task.domain,
        agent: task.agent,
        outputType: task.outputType,
        files: task.files,
        dryRun: task.dryRun,
      },
      agentMode: args.agentMode,
      model,
      attempt,
      maxAttempts: settings.attempts,
      timeoutMs,
      previousFailure,
      reducedTools: attempt > 1 && previousFailure !== undefined,
    };
    let retryAfterMs: number | undefined;
    try {
      const result = task.kind === 'command' ? await acts.runCommandTask(input) : await acts.runAgentTask(input);
      if (result.status === 'success') {
        args.report({ status: 'completed', attempt, result });
        return { status: 'completed', attempts: attempt, result };
      }
      // The work ran but did not succeed: an agent's failure/partial, or a command's non-zero exit.
      lastError = `attempt ${attempt}: ${task.kind === 'agent' ? `agent reported ${result.status}` : 'command failed'}: ${result.summary}`;
      previousFailure = lastError;
      if (attempt === settings.attempts) {
        args.report({ status: 'failed', attempt, result, error: lastError });
        return { status: 'failed', attempts: attempt, result, error: lastError };
      }
    } catch (err) {
      if (isCancellation(err)) throw err;
      const { message, retryable, retryAfter, usage } = describeFailure(err);
      lastError = `attempt ${attempt}: ${message}`;
      previousFailure = lastError;
      retryAfterMs = retryAfter;
      if (!retryable || attempt === settings.attempts) {
        args.report({ status: 'failed', attempt, error: lastError, usage });
        return { status: 'failed', attempts: attempt, error: lastError };
      }
      if (usage) args.report({ status: 'running', attempt, error: lastError, usage });
    }
    await sleep(retryAfterMs ?? retryBackoffMs(settings, attempt), { summary: `backoff before attempt ${attempt + 1} of task ${task.id}` });
  }
  // Unreachable: the loop returns on its last attempt.
  return { status: 'failed', attempts: settings.attempts, error: lastError };
}

function describeFailure(err: unknown): { message: string; retryable: boolean; retryAfter?: number; usage?: Usage } {
  if (err instanceof ActivityFailure) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) {
      const details = (cause.details?.[0] ?? {}) as FailureDetails & { usage?: Usage };
      return {
        message: `${cause.type ?? 'error'}: ${cause.message}`,
        retryable: !cause.nonRetryable,
        retryAfter: details.retryAfterMs ?? undefined,
        usage: details.usage ?? undefined,
      };
    }
    if (cause instanceof TimeoutFailure) return { message: `timed out (${cause.timeoutType === 'HEARTBEAT' ? 'no heartbeat' : cause.timeoutType?.toLowerCase().replace(/_/g, '-')})`, retryable: true };
    if (cause instanceof CancelledFailure) return { message: 'cancelled', retryable: false };
    return { message: cause?.message ?? err.message, retryable: true };
  }
  return { message: (err as Error)?.message ?? String(err), retryable: true };
}
