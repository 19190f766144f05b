/**
 * The state of an epic or roadmap run, beside its workflow function (which runs the children one
 * at a time): the children's progress rolled up into the level's mirror file, Web UI details and
 * search attribute; pause and budget changes taken and relayed down; the child's end recorded.
 */
import {
  ApplicationFailure,
  ChildWorkflowFailure,
  isCancellation,
  setCurrentDetails,
  setHandler,
} from '@temporalio/workflow';
import { applyLimit, type BudgetLine } from '../domain/budget';
import { type ControlMessage, controlProblem } from '../domain/decisions';
import type { MirrorKind } from '../domain/mirrors';
import { totalTokens } from '../domain/types';
import { levelDetails } from './details';
import { LevelLifecycle } from './lifecycle';
import {
  type ChildProgress,
  childProgressProblem,
  childProgressSignal,
  controlSignal,
  ignoredSignal,
  pendingQuery,
  statusQuery,
} from './messages';
import { MirrorWriter } from './mirror-writer';
import {
  applyChildProgress,
  type LevelState,
  levelStatusNode,
  pendingBelow,
  rollup,
  shownLevelStatus,
} from './level-state';

/** What a level carries into its next run when it continues as new. */
export interface LevelCarry {
  state: LevelState;
  revision: number;
  /** Budget lines of the levels above, as this level received them (limits may have been raised since). */
  budgetsAbove: BudgetLine[];
}

/** The counts a child (plan or roadmap) ends with. */
export type ChildCounts = Pick<ChildProgress, 'tasksCompleted' | 'phasesCompleted'>;

/** What a child starts with: the budget lines above and of this level, with what was spent so far, and whether it is paused. */
export interface ChildStart {
  budgets: BudgetLine[];
  paused: boolean;
}

export class LevelRun {
  private readonly writer: MirrorWriter;
  private readonly lifecycle: LevelLifecycle;
  private readonly budgetsAbove: BudgetLine[];

  constructor(
    readonly state: LevelState,
    private readonly opts: {
      kind: 'epic' | 'roadmap';
      childKind: 'roadmap' | 'plan';
      mirror: { kind: MirrorKind; workspace: string; file: string; build: (revision: number) => object };
      budgetsAbove: BudgetLine[];
      carry?: LevelCarry;
    },
  ) {
    this.budgetsAbove = opts.carry?.budgetsAbove ?? opts.budgetsAbove.map((b) => ({ ...b, limit: { ...b.limit } }));
    this.writer = new MirrorWriter(
      opts.mirror.kind,
      opts.mirror.workspace,
      opts.mirror.file,
      opts.mirror.build,
      opts.carry?.revision,
    );
    this.lifecycle = new LevelLifecycle([this.writer]);
    setHandler(childProgressSignal, (p) => this.childReported(p));
    setHandler(controlSignal, (msg) => this.control(msg));
    setHandler(statusQuery, () => levelStatusNode(opts.kind, this.state, opts.childKind));
    setHandler(pendingQuery, () => pendingBelow(this.state));
  }

  /** A fresh run becomes active (a continued one already is). */
  begin(): void {
    if (this.state.status !== 'pending') return;
    this.state.status = 'active';
    this.changed();
  }

  isDone(slug: string): boolean {
    return this.child(slug).status === 'completed';
  }

  /** The child becomes active; it starts with the budgets as they stand now. */
  childStarts(slug: string): ChildStart {
    this.child(slug).status = 'active';
    this.changed();
    return { budgets: this.childBudgets(), paused: this.state.paused };
  }

  /** The child started: control messages are relayed to it until it ends. */
  childRunning<H extends { workflowId: string }>(handle: H): H {
    this.lifecycle.childStarted(handle.workflowId);
    return handle;
  }

  childCompleted(slug: string, result: Partial<ChildCounts> | undefined): void {
    this.lifecycle.childEnded();
    const child = this.child(slug);
    child.status = 'completed';
    // A child that completed did not necessarily run everything: a skipped phase's tasks
    // never ran. Its result has the final counts. (Results recorded before they carried
    // phasesCompleted leave the child's last progress report in place.)
    if (typeof result?.tasksCompleted === 'number') child.tasksCompleted = result.tasksCompleted;
    if (typeof result?.phasesCompleted === 'number') child.phasesCompleted = result.phasesCompleted;
    child.pending = [];
    this.changed();
  }

  /** The child failed (or could not start): the level fails with it. A cancellation goes on up. */
  childFailed(slug: string, err: unknown): void {
    this.lifecycle.childEnded();
    if (isCancellation(err)) throw err;
    const child = this.child(slug);
    child.status = 'failed';
    child.pending = [];
    child.failureReason = failureMessage(err);
    this.state.status = 'failed';
    // A child's failure already starts with "<kind> <slug>: …"; say it once.
    const own = `${this.opts.childKind} ${slug}: `;
    const reason = child.failureReason.startsWith(own) ? child.failureReason.slice(own.length) : child.failureReason;
    this.state.failureReason = `${this.opts.childKind} ${slug} failed: ${reason}`;
    this.changed();
  }

  /** Every child ran (none failed): the level is completed. */
  complete(): void {
    if (this.state.status === 'failed') return;
    this.state.status = 'completed';
    this.changed();
  }

  /** The run was cancelled: say so in the mirror and to the parent. */
  async cancelled(): Promise<void> {
    this.state.status = 'cancelled';
    this.state.failureReason = 'cancelled';
    for (const c of this.state.children) {
      if (c.status === 'active') c.status = 'cancelled';
      c.pending = [];
    }
    this.changed();
    await this.lifecycle.flush();
  }

  /** The carry for continue-as-new, after flushing the mirror and the parent's progress. */
  async carry(): Promise<LevelCarry> {
    await this.lifecycle.flush();
    return { state: this.state, revision: this.writer.writtenRevision, budgetsAbove: this.budgetsAbove };
  }

  /** Flushes the mirror and the parent's progress, then ends the workflow as its state says. */
  async finish(): Promise<ChildProgress> {
    await this.lifecycle.flush();
    if (this.state.status === 'failed') {
      const kind = this.opts.kind;
      throw ApplicationFailure.nonRetryable(
        `${kind} ${this.state.slug}: ${this.state.failureReason}`,
        `${kind[0].toUpperCase()}${kind.slice(1)}Failed`,
      );
    }
    return rollup(this.state);
  }

  private changed(extra: Partial<ChildProgress> = {}): void {
    this.state.updated = now();
    this.lifecycle.changed({ ...rollup(this.state), ...extra });
    this.lifecycle.status.set(shownLevelStatus(this.state));
    setCurrentDetails(levelDetails(this.opts.kind, this.state, this.opts.mirror.file));
  }

  private childReported(p: ChildProgress): void {
    if (ignoredSignal('childProgress', childProgressProblem(p))) return;
    const raised = p.raisedLimits ?? {};
    if (raised[this.opts.kind]) Object.assign(this.state.limit, raised[this.opts.kind]);
    if (raised.epic) applyLimit(this.budgetsAbove, { level: 'epic', ...raised.epic });
    if (applyChildProgress(this.state, p, now()) || raised.epic || raised.roadmap) {
      this.changed(raised.epic && this.opts.kind !== 'epic' ? { raisedLimits: { epic: raised.epic } } : {});
    }
  }

  private control(msg: ControlMessage): void {
    if (ignoredSignal('control', controlProblem(msg))) return;
    if (msg.paused !== undefined) this.state.paused = msg.paused;
    if (msg.budget?.level === this.opts.kind && (!msg.budget.slug || msg.budget.slug === this.state.slug)) {
      if (msg.budget.tokens !== undefined) this.state.limit.tokens = msg.budget.tokens;
      if (msg.budget.usd !== undefined) this.state.limit.usd = msg.budget.usd;
    } else if (msg.budget) applyLimit(this.budgetsAbove, msg.budget);
    this.lifecycle.relay(msg);
    this.changed();
  }

  private child(slug: string) {
    return this.state.children.find((c) => c.slug === slug)!;
  }

  private childBudgets(): BudgetLine[] {
    const spent = rollup(this.state).usage;
    const tokens = totalTokens(spent);
    return [
      ...this.budgetsAbove.map((b) => ({
        ...b,
        limit: { ...b.limit },
        usedTokens: b.usedTokens + tokens,
        usedUsd: b.usedUsd + spent.costUsd,
      })),
      {
        level: this.opts.kind,
        slug: this.state.slug,
        limit: { ...this.state.limit },
        usedTokens: tokens,
        usedUsd: spent.costUsd,
      },
    ];
  }
}

const now = () => new Date().toISOString();

/** The innermost reason, without the chain of "child workflow failed" wrappers. */
export function failureMessage(err: unknown): string {
  let e: any = err;
  while (e instanceof ChildWorkflowFailure && e.cause) e = e.cause;
  return e?.message ?? String(err);
}
