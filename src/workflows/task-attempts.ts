/**
 * One task through its attempts. Each attempt is its own activity execution with a start-to-close
 * timeout from the ladder (120 s, 180 s, 270 s by default), so the growing limit shows in the
 * history. Transient failures wait (the server's retry-after when given, else a backoff growing by
 * the same factor) and try again; permanent ones end the task at once.
 *
 * API weather (429, 529, 5xx, dropped connections) never reaches this loop: a Claude agent waits
 * it out inside its attempt (src/activities/agent/api-weather.ts), and its start-to-close leaves
 * room for that wait on top of the ladder's limit, which the agent enforces itself. A worker that
 * died (no heartbeat) is weather too: the same attempt runs again, on the same rung.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  isCancellation,
  log,
  proxyActivities,
  sleep,
  TimeoutFailure,
} from '@temporalio/workflow';
import type * as activities from '../activities';
import type { FailureDetails } from '../activities/failures';
import { resolveModelId } from '../domain/models';
import { attemptTimeoutMs, type EffectiveSettings, retryBackoffMs } from '../domain/settings';
import type { TaskSpec } from '../domain/spec';
import { FailureTypes, type TaskContext, type TaskResult, type TaskRunInput, type Usage } from '../domain/types';

/** Room on start-to-close beyond the ladder limit and the outage ceiling, for the agent to report. */
const WEATHER_SLACK_MS = 30_000;
/** A worker dying this often under one attempt is no longer weather: the attempt counts. */
const MAX_WORKER_DEATHS_PER_ATTEMPT = 5;

export interface AttemptReport {
  status: 'running' | 'completed' | 'failed' | 'blocked' | 'pending';
  attempt: number;
  result?: TaskResult;
  error?: string;
  /** Tokens an attempt used before it failed by throwing (agents report them in the failure). */
  usage?: Usage;
}

export interface TaskOutcome {
  /** `blocked`: the agent needs a person; `budget`: a budget is spent (the task did not fail, it waits for a raise). */
  status: 'completed' | 'failed' | 'blocked' | 'budget';
  attempts: number;
  result?: TaskResult;
  error?: string;
  /** Set when the stuck detector stopped the agent. */
  stuck?: { detector: 'no-progress' | 'tool-loop'; reason: string };
  /**
   * `budget` by the phase budget ledger: what all agent attempts of the phase had spent, by the
   * ledger, when this one was refused (running ones included, which the workflow does not count yet).
   */
  phaseSpent?: { tokens: number; costUsd: number };
}

export async function runTaskAttempts(args: {
  ctx: TaskContext;
  task: TaskSpec;
  settings: EffectiveSettings;
  agentMode: TaskRunInput['agentMode'];
  report: (r: AttemptReport) => void;
  /** Attempts are numbered on from earlier rounds (a person's "retry"), so details files never collide. */
  attemptsBefore?: number;
  /** What the budgets have left (and, for the phase ledger, had left when the phase run started), read at the start of each attempt. */
  budget?: () => TaskRunInput['budget'];
  /** Why a person asked for this round: the last failure and their note, for the agent to read. */
  personNote?: string;
}): Promise<TaskOutcome> {
  const { ctx, task, settings } = args;
  const model = resolveModelId(task.model ?? settings.model, task.complexity);
  const before = args.attemptsBefore ?? 0;
  const last = before + settings.attempts;
  let previousFailure: string | undefined = args.personNote;
  let lastError = '';
  // Every failed attempt reaches the worker log with where it happened and why (a log line is no
  // command: replay is unaffected).
  const where = { epic: ctx.epicSlug, plan: ctx.planSlug, phase: ctx.phaseSlug, task: task.id };
  const logFailure = (attempt: number, error: string, final: boolean) =>
    log[final ? 'error' : 'warn'](
      `phaseflow: task ${task.id} (${ctx.epicSlug}/${ctx.planSlug}/${ctx.phaseSlug}) attempt ${attempt}/${last} ${final ? 'failed; no attempts left' : 'failed'}: ${error}`,
      { ...where, attempt, error },
    );
  let workerDeaths = 0;
  for (let attempt = before + 1; attempt <= last; attempt++) {
    args.report({ status: 'running', attempt });
    const budget = args.budget?.();
    // The ladder restarts with each round a person asks for.
    const timeoutMs = attemptTimeoutMs(settings, attempt - before);
    const ridesOutWeather = task.kind === 'agent' && args.agentMode === 'claude';
    const acts = proxyActivities<typeof activities>({
      startToCloseTimeout: ridesOutWeather
        ? timeoutMs + settings.apiOutageSeconds * 1000 + WEATHER_SLACK_MS
        : timeoutMs,
      heartbeatTimeout: settings.heartbeatSeconds * 1000,
      // The ladder above is the retry policy: one execution per attempt.
      retry: { maximumAttempts: 1 },
      // A cancelled run ends only once its agents have really stopped.
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      summary: `task ${task.id} · attempt ${attempt}/${last} · ${task.kind}${task.kind === 'agent' ? ` (${args.agentMode})` : ''}`,
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
      maxAttempts: last,
      timeoutMs,
      previousFailure,
      // Only a retry by the ladder narrows the tools; a round a person asked for gets them all back.
      reducedTools: attempt > before + 1 && previousFailure !== undefined,
      ...(budget ? { budget } : {}),
      watchdog: { noProgressMs: settings.stuckAfterSeconds * 1000, repeatLimit: settings.toolLoopRepeats },
      ...(ridesOutWeather
        ? {
            api: {
              outageMs: settings.apiOutageSeconds * 1000,
              maxConcurrentRequests: settings.apiMaxConcurrentRequests,
            },
          }
        : {}),
    };
    let retryAfterMs: number | undefined;
    try {
      const result = task.kind === 'command' ? await acts.runCommandTask(input) : await acts.runAgentTask(input);
      if (result.status === 'success') {
        args.report({ status: 'completed', attempt, result });
        return { status: 'completed', attempts: attempt, result };
      }
      if (result.status === 'blocked') {
        // Another attempt would hit the same wall: a person has to look.
        lastError = `attempt ${attempt}: blocked: ${result.summary}`;
        args.report({ status: 'blocked', attempt, result, error: lastError });
        return { status: 'blocked', attempts: attempt, result, error: lastError };
      }
      // The work ran but did not succeed: an agent's failure/partial, or a command's non-zero exit.
      lastError = `attempt ${attempt}: ${task.kind === 'agent' ? `agent reported ${result.status}` : 'command failed'}: ${result.summary}`;
      previousFailure = lastError;
      logFailure(attempt, lastError, attempt === last);
      if (attempt === last) {
        args.report({ status: 'failed', attempt, result, error: lastError });
        return { status: 'failed', attempts: attempt, result, error: lastError };
      }
    } catch (err) {
      if (isCancellation(err)) throw err;
      const { message, retryable, retryAfter, usage, type, details, workerDied } = describeFailure(err);
      if (workerDied && workerDeaths < MAX_WORKER_DEATHS_PER_ATTEMPT) {
        // Not the task's doing: the same attempt again (same limit, same tools), resuming from its transcript.
        workerDeaths++;
        if (usage) args.report({ status: 'running', attempt, error: `attempt ${attempt}: ${message}`, usage });
        await sleep(retryBackoffMs(settings, 1), {
          summary: `worker lost: task ${task.id} attempt ${attempt} runs again`,
        });
        attempt--;
        continue;
      }
      workerDeaths = 0;
      lastError = `attempt ${attempt}: ${message}`;
      previousFailure = lastError;
      retryAfterMs = retryAfter;
      if (type !== FailureTypes.BudgetExhausted)
        logFailure(attempt, lastError, type === FailureTypes.Stuck || !retryable || attempt === last);
      if (type === FailureTypes.BudgetExhausted) {
        // Not the task's fault: it goes back to waiting and keeps its conversation for later.
        args.report({ status: 'pending', attempt, error: lastError, usage });
        const spent = (details as { phaseSpent?: { tokens: number; costUsd: number } }).phaseSpent;
        return {
          status: 'budget',
          attempts: attempt,
          error: lastError,
          ...(spent ? { phaseSpent: { tokens: spent.tokens, costUsd: spent.costUsd } } : {}),
        };
      }
      if (type === FailureTypes.Stuck) {
        args.report({ status: 'failed', attempt, error: lastError, usage });
        const d = details as { detector?: 'no-progress' | 'tool-loop'; reason?: string };
        return {
          status: 'failed',
          attempts: attempt,
          error: lastError,
          stuck: { detector: d.detector ?? 'no-progress', reason: d.reason ?? message },
        };
      }
      if (!retryable || attempt === last) {
        args.report({ status: 'failed', attempt, error: lastError, usage });
        return { status: 'failed', attempts: attempt, error: lastError };
      }
      if (usage) args.report({ status: 'running', attempt, error: lastError, usage });
    }
    await sleep(retryAfterMs ?? retryBackoffMs(settings, attempt), {
      summary: `backoff before attempt ${attempt + 1} of task ${task.id}`,
    });
  }
  // Unreachable: the loop returns on its last attempt.
  return { status: 'failed', attempts: last, error: lastError };
}

function describeFailure(err: unknown): {
  message: string;
  retryable: boolean;
  retryAfter?: number;
  usage?: Usage;
  type?: string;
  details?: unknown;
  workerDied?: boolean;
} {
  if (err instanceof ActivityFailure) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) {
      const details = (cause.details?.[0] ?? {}) as FailureDetails & { usage?: Usage };
      return {
        message: `${cause.type ?? 'error'}: ${cause.message}`,
        retryable: !cause.nonRetryable,
        retryAfter: details.retryAfterMs ?? undefined,
        usage: details.usage ?? undefined,
        type: cause.type ?? undefined,
        details,
      };
    }
    if (cause instanceof TimeoutFailure)
      return {
        message: `timed out (${cause.timeoutType === 'HEARTBEAT' ? 'no heartbeat' : cause.timeoutType?.toLowerCase().replace(/_/g, '-')})`,
        retryable: true,
        workerDied: cause.timeoutType === 'HEARTBEAT',
      };
    if (cause instanceof CancelledFailure) return { message: 'cancelled', retryable: false };
    return { message: cause?.message ?? err.message, retryable: true };
  }
  return { message: (err as Error)?.message ?? String(err), retryable: true };
}
