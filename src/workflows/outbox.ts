/**
 * Sends progress to the parent workflow without blocking the caller. Updates pushed while a
 * signal is in flight are merged into the next one, so a burst costs one signal, not many.
 */
import {
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  type SignalDefinition,
  workflowInfo,
} from '@temporalio/workflow';

export class Outbox<T> {
  private pending: T[] = [];
  private inFlight: T[] = [];
  private drained = false;
  private closing = false;
  private finished = false;
  private readonly parentId = workflowInfo().parent?.workflowId;

  constructor(
    private readonly signal: SignalDefinition<[T[]]> | SignalDefinition<[T]>,
    /** Merge a batch into what is sent; default keeps every item (signal takes an array). */
    private readonly merge?: (batch: T[]) => T,
  ) {}

  push(item: T): void {
    if (this.parentId) this.pending.push(item);
  }

  /** Not cancellable: a cancelled run still tells its parent how it ended. */
  run(): Promise<void> {
    return CancellationScope.nonCancellable(() => this.loop());
  }

  private async loop(): Promise<void> {
    if (!this.parentId) {
      this.finished = true;
      return;
    }
    const parent = getExternalWorkflowHandle(this.parentId);
    for (;;) {
      await condition(() => this.pending.length > 0 || this.closing);
      if (this.pending.length === 0) break;
      const batch = this.pending.splice(0);
      if (this.drained) break;
      this.inFlight = batch;
      const payload = this.merge ? this.merge(batch) : batch;
      try {
        await parent.signal(this.signal as SignalDefinition<[unknown]>, payload);
        this.inFlight = [];
      } catch {
        // The parent is gone (terminated or closed); progress has nowhere to go.
        this.pending = [];
        break;
      }
    }
    this.finished = true;
  }

  async close(): Promise<void> {
    this.closing = true;
    await condition(() => this.finished);
  }

  /**
   * Stops sending and returns what the parent may not have received yet (the batch in flight
   * and anything unsent), for the caller to hand over in its result instead: a workflow that
   * ends this way saves the round trip of waiting for its last signal. Items must be safe to
   * apply twice.
   */
  drain(): T[] {
    this.drained = true;
    this.closing = true;
    return [...this.inFlight, ...this.pending.splice(0)];
  }
}
