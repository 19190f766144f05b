/**
 * A phase's git bookkeeping when the spec sets `git`: the commit it started from (recorded before
 * its first task), its commit once the gate passed (found again by its trailer if a worker died
 * after committing), and, on a person's retry-phase, the reset to the start commit with the
 * discarded changes saved as a patch. Without `git` nothing here runs and no command is added.
 */
import { patched, proxyActivities } from '@temporalio/workflow';
import type * as activities from '../activities';
import type { GitSpec } from '../domain/git-spec';
import type { TaskContext } from '../domain/types';
import { onWorkspaceHost } from './workspace-host';

export interface PhaseGitCarry {
  startCommit?: string;
  commit?: string;
  resets: number;
  lastPatch?: string;
}

// Built per call: the options carry the epic's host queue (workspace-host.ts) once the run is pinned.
const git = () =>
  proxyActivities<typeof activities>(
    onWorkspaceHost({
      startToCloseTimeout: '5 minutes',
      heartbeatTimeout: '10 seconds',
      retry: { maximumAttempts: 10, initialInterval: '1 second', backoffCoefficient: 1.5 },
    }),
  );

export class PhaseGit {
  startCommit?: string;
  /** The phase's commit (short hashes are for people; this is the full one). */
  commit?: string;
  /** The patch of the changes the last retry-phase discarded. */
  lastPatch?: string;
  private resets: number;

  constructor(
    private readonly ctx: TaskContext,
    private readonly spec: GitSpec | undefined,
    carry?: PhaseGitCarry,
  ) {
    this.startCommit = carry?.startCommit;
    this.commit = carry?.commit;
    this.resets = carry?.resets ?? 0;
    this.lastPatch = carry?.lastPatch;
  }

  /** Callers check this first, so a phase without `git` awaits nothing new (its replay stays the same). */
  get on(): boolean {
    return this.spec?.commitPerPhase === true && patched('git-commit-per-phase');
  }

  get carry(): PhaseGitCarry {
    return { startCommit: this.startCommit, commit: this.commit, resets: this.resets, lastPatch: this.lastPatch };
  }

  /** Records the commit the phase starts from (once; a phase continued as new carries it). */
  async begin(): Promise<void> {
    if (this.startCommit) return;
    this.startCommit = (await git().gitPhaseStart({ ctx: this.ctx, commitMirrors: this.mirrors })).commit;
  }

  /** The gate passed: the phase's changes become one commit on the branch. */
  async commitPassed(summaries: { id: string; summary: string }[]): Promise<void> {
    if (this.commit || !this.startCommit) return;
    const done = await git().gitCommitPhase({
      ctx: this.ctx,
      commitMirrors: this.mirrors,
      startCommit: this.startCommit,
      summaries,
    });
    this.commit = done.commit;
  }

  /** A person asked for retry-phase: the workspace goes back to the start commit, the attempt's changes to a patch. */
  async resetForRetry(): Promise<void> {
    if (!this.startCommit) return;
    this.resets++;
    const reset = await git().gitResetPhase({
      ctx: this.ctx,
      commitMirrors: this.mirrors,
      startCommit: this.startCommit,
      round: this.resets,
    });
    this.lastPatch = reset.patch;
  }

  private get mirrors(): boolean {
    return this.spec?.commitMirrors ?? false;
  }
}
