/**
 * The single owner of one mirror file inside a workflow. Changes mark it dirty; one loop writes
 * them through an activity, one write at a time, so a burst of task completions becomes one write
 * and the file never goes backwards. Only the difference from the last write travels (and is
 * kept in history); a file that went missing is rewritten whole.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  log,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../activities';
import { diff } from '../domain/json-patch';
import type { MirrorKind } from '../domain/mirrors';
import { FailureTypes } from '../domain/types';
import { onWorkspaceHost } from './workspace-host';

/** Made per write, not at load: the options carry the task queue of the run's host (set when its workflow starts). */
const writeMirror = (input: Parameters<typeof activities.writeMirror>[0]) =>
  proxyActivities<typeof activities>(
    onWorkspaceHost({
      // A write takes milliseconds; a worker that dies mid-write should hold the file up seconds, not half a minute.
      startToCloseTimeout: '5 seconds',
      retry: {
        initialInterval: '200 milliseconds',
        backoffCoefficient: 1.5,
        maximumInterval: '10 seconds',
        nonRetryableErrorTypes: [FailureTypes.MirrorMissing],
      },
    }),
  ).writeMirror(input);

export class MirrorWriter {
  private dirty = true;
  private closing = false;
  private finished = false;
  private last: unknown = undefined;
  /** Stable across continue-as-new, different for every new run of the same workflow id. */
  private readonly owner = `${workflowInfo().workflowId}#${workflowInfo().firstExecutionRunId}`;

  constructor(
    private readonly kind: MirrorKind,
    private readonly workspace: string,
    private readonly file: string,
    private readonly build: (revision: number) => object,
    /** The last revision written by an earlier run of this workflow (continue-as-new). */
    private revision = 0,
  ) {}

  /** The last revision written; a continued run starts from it. */
  get writtenRevision(): number {
    return this.revision;
  }

  markDirty(): void {
    this.dirty = true;
  }

  /**
   * Runs until `close()`; start it without awaiting, await `close()` before the workflow ends.
   * Not cancellable: a cancelled run still writes its last state (the file must say `cancelled`).
   */
  run(): Promise<void> {
    return CancellationScope.nonCancellable(() => this.loop());
  }

  private async loop(): Promise<void> {
    for (;;) {
      await condition(() => this.dirty || this.closing);
      if (!this.dirty) break;
      this.dirty = false;
      const revision = this.revision + 1;
      const built = this.build(revision) as { phaseflow: object };
      const doc = { ...built, phaseflow: { ...built.phaseflow, owner: this.owner } };
      try {
        // The first write sends the whole document; later ones only the difference from the last.
        const content =
          this.last === undefined ? { doc } : { baseRevision: this.revision, patch: diff(this.last, doc) };
        await writeMirror({
          kind: this.kind,
          workspace: this.workspace,
          file: this.file,
          owner: this.owner,
          revision,
          ...content,
        });
      } catch (err) {
        if (
          err instanceof ActivityFailure &&
          err.cause instanceof ApplicationFailure &&
          err.cause.type === FailureTypes.MirrorMissing
        ) {
          // Someone removed or replaced the file: write it whole next time.
          this.last = undefined;
          this.dirty = true;
          continue;
        }
        if (!(err instanceof ActivityFailure)) throw err;
        // Refused for good (the document would not validate). Failing here would fail every
        // workflow task from now on; instead the file stays at its last good revision and the next
        // change writes the whole document again (a patch against a file someone broke stays broken).
        log.warn(
          `phaseflow: ${workflowInfo().workflowId} could not write ${this.file} revision ${revision}; it stays at revision ${this.revision}: ${failureText(err)}`,
          {
            workflowId: workflowInfo().workflowId,
            mirror: this.file,
            kind: this.kind,
            revision,
            lastGoodRevision: this.revision,
          },
        );
        this.last = undefined;
        continue;
      }
      this.revision = revision;
      this.last = doc;
    }
    this.finished = true;
  }

  /** Flushes what is pending and stops the loop. */
  async close(): Promise<void> {
    this.closing = true;
    await condition(() => this.finished);
  }
}

/** The activity's own message (the "would be invalid: …" reason), not the ActivityFailure wrapper's. */
const failureText = (err: ActivityFailure) => err.cause?.message ?? err.message;
