/**
 * What an agent attempt waited on the API: the counts, the waits kept for the details file, and
 * the wait in progress, which the heartbeat details and the phase (the `apiWeather` signal) are
 * told about. Both runtimes own one (agent-run.ts, claude-code/claude-code-run.ts); when and how
 * long they wait is theirs.
 */
import type { Context } from '@temporalio/activity';
import type { TaskResult, TaskRunInput } from '../../domain/types';
import type { ApiWeather } from '../../workflows/messages';
import type { ApiWaitRecord } from './aop';
import type { StuckDetector } from './stuck';

/** Waits kept in the details file (the count and total cover all). */
const API_WAITS_KEPT = 50;

export interface ApiWaitHooks {
  /** The run's own heartbeat (its details include heartbeatDetails()). */
  heartbeat: () => void;
  /** The run's stuck detector, if it has one by now. */
  detector: () => StuckDetector | undefined;
}

export class ApiWaitTracker {
  retries = 0;
  waitedMs = 0;
  readonly waits: ApiWaitRecord[] = [];
  /** Set while the agent waits on the API: what it was told, and when it tries again. */
  waiting: { what: string; nextTryAt: number } | undefined;

  constructor(
    private readonly activity: Context,
    private readonly input: TaskRunInput,
    private readonly hooks: ApiWaitHooks,
  ) {}

  record(w: Omit<ApiWaitRecord, 'at'>): void {
    if (this.waits.length < API_WAITS_KEPT) this.waits.push({ at: new Date().toISOString(), ...w });
  }

  /** Marks the agent as waiting until nextTryAt (a wait already under way is only updated). */
  begin(what: string, nextTryAt: number): void {
    // Waiting is not a lack of progress: the stuck detector's clock stands still meanwhile.
    if (!this.waiting) this.hooks.detector()?.toolStarted();
    this.waiting = { what, nextTryAt };
  }

  end(): void {
    if (!this.waiting) return;
    this.waiting = undefined;
    this.hooks.detector()?.toolFinished();
    this.hooks.heartbeat();
    this.tellPhase();
  }

  /**
   * Tells the phase workflow that this agent waits on the API, or no longer, so that the details,
   * `status` and `watch` say so. Best effort: the heartbeat details say it too.
   */
  tellPhase(): void {
    const workflowId = this.activity.info.workflowExecution?.workflowId;
    if (!workflowId || !this.input.api) return;
    const w = this.waiting;
    const signal: ApiWeather = {
      taskId: this.input.task.id,
      attempt: this.input.attempt,
      ...(w ? { what: w.what, nextTryAt: new Date(w.nextTryAt).toISOString() } : {}),
      retries: this.retries,
      waitedMs: this.waitedMs,
    };
    try {
      void this.activity.client.workflow
        .getHandle(workflowId)
        .signal<[ApiWeather]>('apiWeather', signal)
        .catch((err: Error) =>
          this.activity.log.debug('could not tell the phase about an API wait', { error: err.message }),
        );
    } catch {
      // No client (a test's MockActivityEnvironment): the heartbeat details carry it.
    }
  }

  /** The heartbeat details' part: the wait in progress, if any. */
  heartbeatDetails(): { waiting?: { what: string; nextTryAt: string; retries: number; waitedMs: number } } {
    const w = this.waiting;
    return w
      ? {
          waiting: {
            what: w.what,
            nextTryAt: new Date(w.nextTryAt).toISOString(),
            retries: this.retries,
            waitedMs: this.waitedMs,
          },
        }
      : {};
  }

  /** The task result's part: only an attempt that retried says so. */
  resultFields(): Pick<TaskResult, 'apiRetries' | 'apiWaitMs'> {
    return this.retries ? { apiRetries: this.retries, apiWaitMs: this.waitedMs } : {};
  }

  /** The details file's part. */
  detailsFields(): { api?: { retries: number; waitedMs: number; waits: ApiWaitRecord[] } } {
    return this.retries || this.waits.length
      ? { api: { retries: this.retries, waitedMs: this.waitedMs, waits: this.waits } }
      : {};
  }
}
