/**
 * The stuck detector of one agent attempt (`TaskRunInput.watchdog`; off when absent). It ends an
 * attempt that is not getting anywhere with a non-retryable `Stuck` failure, which the workflow
 * turns into a question to a person, instead of letting it burn time and money until the
 * attempt's time limit and then retrying the same thing.
 *
 * - no progress: no content token (text, tool input, thinking) and no tool call started or
 *   finished for `noProgressMs`. Keep-alive pings are not progress. A tool that is running is
 *   not stuck: it has its own time limit (Bash's timeout, capped by the attempt's deadline), so
 *   the clock stands still while a tool runs and starts again when it returns.
 * - tool loop: the same tool call (same name, same input as canonical JSON) `repeatLimit` times
 *   in a row. The call that reaches the limit is not run.
 */
import { ApplicationFailure } from '@temporalio/common';
import { FailureTypes, type TaskRunInput, type Usage } from '../../domain/types';

export type Detector = 'no-progress' | 'tool-loop';

export interface StuckReport {
  detector: Detector;
  /** A sentence for a person, e.g. `tool call Bash {"command":"ls"} repeated 5 times in a row`. */
  reason: string;
  turn: number;
}

/** details[0] of a `Stuck` failure (the workflow adds `usage` to the task's usage). */
export interface StuckDetails extends StuckReport {
  usage: Usage;
  detailsFile: string;
}

export type Watchdog = NonNullable<TaskRunInput['watchdog']>;

/** How much of a repeated tool input the reason quotes. */
const MAX_QUOTED_INPUT = 200;

export class StuckDetector {
  private lastProgressAt = Date.now();
  private toolsRunning = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastCall: string | undefined;
  private streak = 0;

  /** `onSilence` is called once, with how long nothing happened, when the no-progress limit passes. */
  constructor(
    readonly limits: Watchdog,
    private readonly onSilence: (silentMs: number) => void,
  ) {
    this.arm(limits.noProgressMs);
  }

  /** A content token, a finished model call: the agent is doing something. */
  progress(): void {
    this.lastProgressAt = Date.now();
  }

  toolStarted(): void {
    this.toolsRunning++;
    this.progress();
  }

  toolFinished(): void {
    this.toolsRunning = Math.max(0, this.toolsRunning - 1);
    this.progress();
  }

  /** Counts a tool call about to run; returns the report if it makes `repeatLimit` in a row. */
  toolCall(name: string, input: unknown, turn: number): StuckReport | undefined {
    const key = `${name} ${canonicalJson(input)}`;
    this.streak = key === this.lastCall ? this.streak + 1 : 1;
    this.lastCall = key;
    if (this.streak < this.limits.repeatLimit) return undefined;
    const quoted =
      key.length > MAX_QUOTED_INPUT + name.length ? `${key.slice(0, MAX_QUOTED_INPUT + name.length)}…` : key;
    return { detector: 'tool-loop', reason: `tool call ${quoted} repeated ${this.streak} times in a row`, turn };
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private arm(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), ms);
    // The detector never keeps a worker process alive on its own.
    this.timer.unref();
  }

  /** One timer, re-armed for what is left rather than on every token. */
  private check(): void {
    const limit = this.limits.noProgressMs;
    if (this.toolsRunning > 0) return this.arm(limit);
    const silentMs = Date.now() - this.lastProgressAt;
    if (silentMs < limit) return this.arm(limit - silentMs);
    this.onSilence(silentMs);
  }
}

export function noProgressReport(silentMs: number, turn: number, during: string): StuckReport {
  return { detector: 'no-progress', reason: `no token or tool call for ${seconds(silentMs)} during ${during}`, turn };
}

export function stuckFailure(who: string, details: StuckDetails): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureTypes.Stuck,
    nonRetryable: true,
    message: `${who}: stuck (${details.detector}): ${details.reason}; stopped for a person to decide`,
    details: [details],
  });
}

/** JSON with object keys sorted at every level, so `{a,b}` and `{b,a}` are the same call. */
export function canonicalJson(value: unknown): string {
  return (
    JSON.stringify(value, (_k, v: unknown) =>
      v && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : v,
    ) ?? 'undefined'
  );
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}
