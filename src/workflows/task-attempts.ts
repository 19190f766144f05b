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
import { onWorkspaceHost } from './workspace-host';

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

export interface AttemptArgs {
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
}

export async function runTaskAttempts(args: AttemptArgs): Promise<TaskOutcome> {
  const ladder = new AttemptLadder(args);
  for (let attempt = ladder.first; attempt <= ladder.last; attempt++) {
    args.report({ status: 'running', attempt });
    let next: TaskOutcome | 'next-attempt' | 'same-attempt';
    try {
      next = ladder.returned(attempt, await ladder.execute(attempt));
    } catch (err) {
      if (isCancellation(err)) throw err;
      next = ladder.threw(attempt, err);
    }
    if (next === 'same-attempt') {
      await sleep(retryBackoffMs(args.settings, 1), {
        summary: `worker lost: task ${args.task.id} attempt ${attempt} runs again`,
      });
      attempt--;
      continue;
    }
    if (next !== 'next-attempt') return next;
    await sleep(ladder.backoffMs(attempt), {
      summary: `backoff before attempt ${attempt + 1} of task ${args.task.id}`,
    });
  }
  // Unreachable: the last attempt always ends the task.
  return { status: 'failed', attempts: ladder.last, error: ladder.lastError };
}

/** What the attempts of one task share: the ladder's numbers, the last failure, and how each attempt's end is read. */
class AttemptLadder {
  readonly first: number;
  readonly last: number;
  lastError = '';
  private previousFailure: string | undefined;
  private retryAfterMs: number | undefined;
  private workerDeaths = 0;
  private readonly model: string;

  constructor(private readonly args: AttemptArgs) {
    const before = args.attemptsBefore ?? 0;
    this.first = before + 1;
    this.last = before + args.settings.attempts;
    this.previousFailure = args.personNote;
    this.model = resolveModelId(args.task.model ?? args.settings.model, args.task.complexity);
  }

  /** Starts the attempt's activity (not awaited here: the caller awaits it directly, as replay expects). */
  execute(attempt: number): Promise<TaskResult> {
    const { task, settings, agentMode, ctx } = this.args;
    const budget = this.args.budget?.();
    // The ladder restarts with each round a person asks for.
    const timeoutMs = attemptTimeoutMs(settings, attempt - this.first + 1);
    const ridesOutWeather = task.kind === 'agent' && agentMode === 'claude';
    const acts = proxyActivities<typeof activities>(
      onWorkspaceHost({
        startToCloseTimeout: ridesOutWeather
          ? timeoutMs + settings.apiOutageSeconds * 1000 + WEATHER_SLACK_MS
          : timeoutMs,
        heartbeatTimeout: settings.heartbeatSeconds * 1000,
        // The ladder above is the retry policy: one execution per attempt.
        retry: { maximumAttempts: 1 },
        // A cancelled run ends only once its agents have really stopped.
        cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        summary: `task ${task.id} · attempt ${attempt}/${this.last} · ${task.kind}${task.kind === 'agent' ? ` (${agentMode}${settings.agentRuntime === 'claude-code' ? ', claude-code' : ''})` : ''}`,
      }),
    );
    this.retryAfterMs = undefined;
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
      agentMode,
      // Only set for Claude Code, so the tool loop's inputs stay as they were.
      ...(task.kind === 'agent' && settings.agentRuntime === 'claude-code' ? { runtime: 'claude-code' as const } : {}),
      model: this.model,
      attempt,
      maxAttempts: this.last,
      timeoutMs,
      previousFailure: this.previousFailure,
      // Only a retry by the ladder narrows the tools; a round a person asked for gets them all back.
      reducedTools: attempt > this.first && this.previousFailure !== undefined,
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
    return task.kind === 'command' ? acts.runCommandTask(input) : acts.runAgentTask(input);
  }

  /** The activity returned: completed, blocked, or the work did not succeed (the next attempt, or failed after the last). */
  returned(attempt: number, result: TaskResult): TaskOutcome | 'next-attempt' {
    const { task, report } = this.args;
    if (result.status === 'success') {
      report({ status: 'completed', attempt, result });
      return { status: 'completed', attempts: attempt, result };
    }
    if (result.status === 'blocked') {
      // Another attempt would hit the same wall: a person has to look.
      this.lastError = `attempt ${attempt}: blocked: ${result.summary}`;
      report({ status: 'blocked', attempt, result, error: this.lastError });
      return { status: 'blocked', attempts: attempt, result, error: this.lastError };
    }
    // The work ran but did not succeed: an agent's failure/partial, or a command's non-zero exit.
    this.lastError = `attempt ${attempt}: ${task.kind === 'agent' ? `agent reported ${result.status}` : 'command failed'}: ${result.summary}`;
    this.previousFailure = this.lastError;
    this.logFailure(attempt, attempt === this.last);
    if (attempt < this.last) return 'next-attempt';
    report({ status: 'failed', attempt, result, error: this.lastError });
    return { status: 'failed', attempts: attempt, result, error: this.lastError };
  }

  /**
   * The activity failed: a dead worker runs the same attempt again; a spent budget sends the task
   * back to waiting; the stuck detector and permanent failures end it; the rest try the next attempt.
   */
  threw(attempt: number, err: unknown): TaskOutcome | 'next-attempt' | 'same-attempt' {
    const { report } = this.args;
    const { message, retryable, retryAfter, usage, type, details, workerDied } = describeFailure(err);
    if (workerDied && this.workerDeaths < MAX_WORKER_DEATHS_PER_ATTEMPT) {
      // Not the task's doing: the same attempt again (same limit, same tools), resuming from its transcript.
      this.workerDeaths++;
      if (usage) report({ status: 'running', attempt, error: `attempt ${attempt}: ${message}`, usage });
      return 'same-attempt';
    }
    this.workerDeaths = 0;
    this.lastError = `attempt ${attempt}: ${message}`;
    this.previousFailure = this.lastError;
    this.retryAfterMs = retryAfter;
    if (type === FailureTypes.BudgetExhausted) {
      // Not the task's fault: it goes back to waiting and keeps its conversation for later.
      report({ status: 'pending', attempt, error: this.lastError, usage });
      const spent = (details as { phaseSpent?: { tokens: number; costUsd: number } }).phaseSpent;
      return {
        status: 'budget',
        attempts: attempt,
        error: this.lastError,
        ...(spent ? { phaseSpent: { tokens: spent.tokens, costUsd: spent.costUsd } } : {}),
      };
    }
    this.logFailure(attempt, type === FailureTypes.Stuck || !retryable || attempt === this.last);
    if (type === FailureTypes.Stuck) {
      report({ status: 'failed', attempt, error: this.lastError, usage });
      const d = details as { detector?: 'no-progress' | 'tool-loop'; reason?: string };
      return {
        status: 'failed',
        attempts: attempt,
        error: this.lastError,
        stuck: { detector: d.detector ?? 'no-progress', reason: d.reason ?? message },
      };
    }
    if (!retryable || attempt === this.last) {
      report({ status: 'failed', attempt, error: this.lastError, usage });
      return { status: 'failed', attempts: attempt, error: this.lastError };
    }
    if (usage) report({ status: 'running', attempt, error: this.lastError, usage });
    return 'next-attempt';
  }

  /** The wait before the next attempt: the server's retry-after when the failure gave one, else the backoff. */
  backoffMs(attempt: number): number {
    return this.retryAfterMs ?? retryBackoffMs(this.args.settings, attempt);
  }

  /** Every failed attempt reaches the worker log with where it happened and why (a log line is no command: replay is unaffected). */
  private logFailure(attempt: number, final: boolean): void {
    const { ctx, task } = this.args;
    log[final ? 'error' : 'warn'](
      `phaseflow: task ${task.id} (${ctx.epicSlug}/${ctx.planSlug}/${ctx.phaseSlug}) attempt ${attempt}/${this.last} ${final ? 'failed; no attempts left' : 'failed'}: ${this.lastError}`,
      { epic: ctx.epicSlug, plan: ctx.planSlug, phase: ctx.phaseSlug, task: task.id, attempt, error: this.lastError },
    );
  }
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
