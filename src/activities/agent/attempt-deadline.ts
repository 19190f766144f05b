/**
 * An agent attempt's own deadline: its ladder limit less a margin to record state and fail
 * cleanly, moved on by the time spent waiting on the API. Both runtimes own one.
 */
import type { TaskRunInput } from '../../domain/types';

/** Stop this much before the attempt's start-to-close timeout, to record state and fail cleanly. */
const DEADLINE_MARGIN_MS = 5_000;

export class AttemptDeadline {
  /** When the attempt stops (epoch ms). */
  at: number;
  private timer: NodeJS.Timeout | undefined;
  private extendedMs = 0;

  /**
   * maxExtensionMs: how far waits on the API may move it, the outage ceiling when the workflow
   * gave start-to-close room for it (task-attempts.ts), else 0. stopped: once true, it stays put.
   */
  constructor(
    input: TaskRunInput,
    startedAt: number,
    private readonly maxExtensionMs: number,
    private readonly onPassed: () => void,
    private readonly stopped: () => boolean = () => false,
  ) {
    this.at = startedAt + input.timeoutMs - Math.min(DEADLINE_MARGIN_MS, input.timeoutMs * 0.05);
  }

  arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(this.onPassed, Math.max(0, this.at - Date.now()));
  }

  clear(): void {
    clearTimeout(this.timer);
  }

  /** Time spent waiting on the API does not count against the attempt (up to the ceiling). */
  extend(ms: number): void {
    const by = Math.min(Math.max(0, ms), this.maxExtensionMs - this.extendedMs);
    if (by <= 0 || this.stopped()) return;
    this.extendedMs += by;
    this.at += by;
    this.arm();
  }
}
