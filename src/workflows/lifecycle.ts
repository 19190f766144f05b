/**
 * What every level's workflow does the same way: progress reported up to the parent, pause and
 * budget changes relayed down to the running child, the status search attribute, the
 * continue-as-new check, and a cancellation that still says how the run ended.
 */
import {
  CancellationScope,
  getExternalWorkflowHandle,
  isCancellation,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ControlMessage } from '../domain/decisions';
import { SA } from '../domain/search-attributes';
import { type ChildProgress, childProgressSignal, controlSignal } from './messages';
import type { MirrorWriter } from './mirror-writer';
import { Outbox } from './outbox';

/*
 * Replay compares the order of commands, and the mirror writers and outboxes run beside each
 * workflow function: where a workflow awaits decides whether their next write or signal comes
 * before or after its own next command. So each workflow awaits a child's result directly and
 * records the end in the same step as what follows, as the runs recorded before did.
 */

/** Between children (or while tasks drain): the history has grown enough to start afresh. */
export function shouldContinueAsNew(historyEventsLimit: number): boolean {
  return workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > historyEventsLimit;
}

/** Epics and roadmaps, before each child: continues as new (with what `next` carries) when the history has grown large. */
export async function continueAsNewIfDue(historyEventsLimit: number, next: () => Promise<never>): Promise<void> {
  if (shouldContinueAsNew(historyEventsLimit)) await next();
}

/**
 * Runs `work`. When the run is cancelled, `cleanUp` runs (not cancellable: the mirrors and the
 * parent must hear that it was cancelled) and the cancellation goes on up.
 */
export async function onCancel<T>(work: () => Promise<T>, cleanUp: () => Promise<void>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(cleanUp);
    throw err;
  }
}

/** The `PhaseflowStatus` search attribute, upserted only when what the level shows changes. */
export class StatusAttribute {
  private shown = '';

  set(status: string): void {
    if (status === this.shown) return;
    this.shown = status;
    upsertSearchAttributes([{ key: SA.status, value: status }]);
  }
}

/**
 * A level with children (epic, roadmap, plan): its mirror writers, its reports to the parent,
 * and the child running now, to which pause and budget changes are relayed.
 */
export class LevelLifecycle {
  private readonly loops: Promise<void>[];
  private readonly toParent = new Outbox<ChildProgress>(childProgressSignal, (batch) => ({
    ...batch[batch.length - 1],
    raisedLimits: Object.assign({}, ...batch.map((b) => b.raisedLimits ?? {})),
  }));
  private readonly toParentLoop: Promise<void>;
  private runningChild: string | undefined;
  readonly status = new StatusAttribute();

  constructor(private readonly writers: MirrorWriter[]) {
    this.loops = writers.map((w) => w.run());
    this.toParentLoop = this.toParent.run();
  }

  /** The mirrors are rewritten; the parent hears `progress` when given. */
  changed(progress?: ChildProgress): void {
    this.writers.forEach((w) => w.markDirty());
    if (progress) this.toParent.push(progress);
  }

  /** Control messages are relayed to this child until `childEnded()`. */
  childStarted(workflowId: string): void {
    this.runningChild = workflowId;
  }

  childEnded(): void {
    this.runningChild = undefined;
  }

  /** Passes a person's pause or budget change down to the running child. */
  relay(msg: ControlMessage): void {
    if (this.runningChild)
      void getExternalWorkflowHandle(this.runningChild)
        .signal(controlSignal, msg)
        .catch(() => undefined);
  }

  /** Writes what is pending to the mirrors and the parent, then stops both. */
  async flush(): Promise<void> {
    await Promise.all(this.writers.map((w) => w.close()));
    await Promise.all(this.loops);
    await this.toParent.close();
    await this.toParentLoop;
  }
}
