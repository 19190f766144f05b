/**
 * What the epic and roadmap workflows share: children run strictly one at a time, their progress
 * reports (and the questions waiting below them) roll up into this level's mirror file, Web UI
 * details and search attributes, pause and budget changes pass down to the running child, and a
 * failed child stops the level (nothing after it starts). Between children the level continues
 * as new when its history grows large.
 */
import {
  ApplicationFailure,
  CancellationScope,
  type ChildWorkflowHandle,
  ChildWorkflowFailure,
  getExternalWorkflowHandle,
  isCancellation,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { applyLimit, type BudgetLine } from '../domain/budget';
import { type ControlMessage, controlProblem } from '../domain/decisions';
import type { MirrorKind } from '../domain/mirrors';
import { SA } from '../domain/search-attributes';
import { totalTokens } from '../domain/types';
import { bar, pendingMarkdown, STATUS_ICON, usageLine } from './details';
import { type ChildProgress, childProgressProblem, childProgressSignal, controlSignal, ignoredSignal, pendingQuery, statusQuery } from './messages';
import { MirrorWriter } from './mirror-writer';
import { Outbox } from './outbox';
import { applyChildProgress, type LevelState, levelStatusNode, pendingBelow, rollup, shownLevelStatus } from './rollup';

/** What a level carries into its next run when it continues as new. */
export interface LevelCarry {
  state: LevelState;
  revision: number;
  /** Budget lines of the levels above, as this level received them (limits may have been raised since). */
  budgetsAbove: BudgetLine[];
}

/** The counts a child (plan or roadmap) ends with. */
export type ChildCounts = Pick<ChildProgress, 'tasksCompleted' | 'phasesCompleted'>;
type ChildWorkflow = (...args: any[]) => Promise<ChildCounts>;

export interface ChildStart {
  /** Budget lines for the child: the levels above and this one, with what was spent so far. */
  budgets: BudgetLine[];
  paused: boolean;
}

export class LevelRunner {
  private readonly writer: MirrorWriter;
  private readonly writerLoop: Promise<void>;
  private readonly toParent = new Outbox<ChildProgress>(childProgressSignal, (batch) => ({
    ...batch[batch.length - 1],
    raisedLimits: Object.assign({}, ...batch.map((b) => b.raisedLimits ?? {})),
  }));
  private readonly outboxLoop: Promise<void>;
  private readonly budgetsAbove: BudgetLine[];
  private currentChildId: string | undefined;
  private saStatus = '';

  constructor(
    readonly state: LevelState,
    private readonly opts: {
      kind: 'epic' | 'roadmap';
      childKind: 'roadmap' | 'plan';
      mirror: { kind: MirrorKind; workspace: string; file: string; build: (revision: number) => object };
      budgetsAbove: BudgetLine[];
      historyEventsLimit: number;
      carry?: LevelCarry;
    },
  ) {
    this.budgetsAbove = opts.carry?.budgetsAbove ?? opts.budgetsAbove.map((b) => ({ ...b, limit: { ...b.limit } }));
    this.writer = new MirrorWriter(opts.mirror.kind, opts.mirror.workspace, opts.mirror.file, opts.mirror.build, opts.carry?.revision);
    this.writerLoop = this.writer.run();
    this.outboxLoop = this.toParent.run();
    setHandler(childProgressSignal, (p) => {
      if (ignoredSignal('childProgress', childProgressProblem(p))) return;
      const raised = p.raisedLimits ?? {};
      if (raised[opts.kind]) Object.assign(this.state.limit, raised[opts.kind]);
      if (raised.epic) applyLimit(this.budgetsAbove, { level: 'epic', ...raised.epic });
      if (applyChildProgress(this.state, p, now()) || raised.epic || raised.roadmap) this.changed(raised.epic && opts.kind !== 'epic' ? { raisedLimits: { epic: raised.epic } } : {});
    });
    setHandler(controlSignal, (msg: ControlMessage) => {
      if (ignoredSignal('control', controlProblem(msg))) return;
      if (msg.paused !== undefined) this.state.paused = msg.paused;
      if (msg.budget?.level === opts.kind && (!msg.budget.slug || msg.budget.slug === this.state.slug)) {
        if (msg.budget.tokens !== undefined) this.state.limit.tokens = msg.budget.tokens;
        if (msg.budget.usd !== undefined) this.state.limit.usd = msg.budget.usd;
      } else if (msg.budget) applyLimit(this.budgetsAbove, msg.budget);
      if (this.currentChildId) void getExternalWorkflowHandle(this.currentChildId).signal(controlSignal, msg).catch(() => undefined);
      this.changed();
    });
    setHandler(statusQuery, () => levelStatusNode(opts.kind, this.state, opts.childKind));
    setHandler(pendingQuery, () => pendingBelow(this.state));
  }

  /** The carry for continue-as-new, after flushing the mirror and the parent's progress. */
  async carry(): Promise<LevelCarry> {
    await this.flush();
    return { state: this.state, revision: this.writer.writtenRevision, budgetsAbove: this.budgetsAbove };
  }

  changed(extra: Partial<ChildProgress> = {}): void {
    this.state.updated = now();
    this.writer.markDirty();
    this.toParent.push({ ...rollup(this.state), ...extra });
    const shown = shownLevelStatus(this.state);
    if (shown !== this.saStatus) {
      this.saStatus = shown;
      upsertSearchAttributes([{ key: SA.status, value: shown }]);
    }
    this.render();
  }

  /**
   * Runs each child not yet done, in order; returns when all completed or one failed. `onBetween`
   * runs before each child (continue-as-new happens there).
   */
  async runChildren(children: { slug: string; start: (s: ChildStart) => Promise<ChildWorkflowHandle<ChildWorkflow>> }[], onBetween: () => Promise<void>): Promise<void> {
    if (this.state.status === 'pending') {
      this.state.status = 'active';
      this.changed();
    }
    try {
      for (const child of children) {
        const progress = this.state.children.find((c) => c.slug === child.slug)!;
        if (progress.status === 'completed') continue;
        await onBetween();
        progress.status = 'active';
        this.changed();
        try {
          const handle = await child.start({ budgets: this.childBudgets(), paused: this.state.paused });
          this.currentChildId = handle.workflowId;
          const result: Partial<ChildCounts> | undefined = await handle.result();
          progress.status = 'completed';
          // A child that completed did not necessarily run everything: a skipped phase's tasks
          // never ran. Its result has the final counts. (Results recorded before they carried
          // phasesCompleted leave the child's last progress report in place.)
          if (typeof result?.tasksCompleted === 'number') progress.tasksCompleted = result.tasksCompleted;
          if (typeof result?.phasesCompleted === 'number') progress.phasesCompleted = result.phasesCompleted;
          progress.pending = [];
          this.changed();
        } catch (err) {
          if (isCancellation(err)) throw err;
          progress.status = 'failed';
          progress.pending = [];
          progress.failureReason = failureMessage(err);
          this.state.status = 'failed';
          // A child's failure already starts with "<kind> <slug>: …"; say it once.
          const own = `${this.opts.childKind} ${child.slug}: `;
          this.state.failureReason = progress.failureReason.startsWith(own)
            ? `${this.opts.childKind} ${child.slug} failed: ${progress.failureReason.slice(own.length)}`
            : `${this.opts.childKind} ${child.slug} failed: ${progress.failureReason}`;
          this.changed();
          break;
        } finally {
          this.currentChildId = undefined;
        }
      }
    } catch (err) {
      if (!isCancellation(err)) throw err;
      await CancellationScope.nonCancellable(async () => {
        this.state.status = 'cancelled';
        this.state.failureReason = 'cancelled';
        for (const c of this.state.children) {
          if (c.status === 'active') c.status = 'cancelled';
          c.pending = [];
        }
        this.changed();
        await this.flush();
      });
      throw err;
    }
    if (this.state.status !== 'failed') {
      this.state.status = 'completed';
      this.changed();
    }
  }

  shouldContinueAsNew(): boolean {
    return workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > this.opts.historyEventsLimit;
  }

  /** Flushes the mirror and the parent's progress, then ends the workflow as its state says. */
  async finish(): Promise<ReturnType<typeof rollup>> {
    await this.flush();
    if (this.state.status === 'failed') {
      throw ApplicationFailure.nonRetryable(`${this.opts.kind} ${this.state.slug}: ${this.state.failureReason}`, `${capitalize(this.opts.kind)}Failed`);
    }
    return rollup(this.state);
  }

  private async flush(): Promise<void> {
    await this.writer.close();
    await this.writerLoop;
    await this.toParent.close();
    await this.outboxLoop;
  }

  private childBudgets(): BudgetLine[] {
    const spent = rollup(this.state).usage;
    const tokens = totalTokens(spent);
    return [
      ...this.budgetsAbove.map((b) => ({ ...b, limit: { ...b.limit }, usedTokens: b.usedTokens + tokens, usedUsd: b.usedUsd + spent.costUsd })),
      { level: this.opts.kind, slug: this.state.slug, limit: { ...this.state.limit }, usedTokens: tokens, usedUsd: spent.costUsd },
    ];
  }

  render(): void {
    const r = rollup(this.state);
    const pending = pendingBelow(this.state);
    setCurrentDetails(
      [
        `### ${capitalize(this.opts.kind)} ${this.state.title}`,
        `**${shownLevelStatus(this.state)}** · ${bar(r.tasksCompleted, r.tasksTotal)} tasks · ${r.phasesCompleted}/${r.phasesTotal} phases · ${usageLine(r.usage)}`,
        ...(this.state.failureReason ? ['', `**Failed:** ${this.state.failureReason}`] : []),
        ...(pending.length ? ['', ...pendingMarkdown(pending)] : []),
        '',
        ...this.state.children.map(
          (c) => `- ${STATUS_ICON[c.status] ?? ''} ${c.title} (\`${c.slug}\`) · ${c.tasksCompleted}/${c.tasksTotal} tasks${c.current && c.status === 'active' ? ` · now: ${c.current}` : ''}`,
        ),
        '',
        `Mirror: \`${this.opts.mirror.file}\``,
      ].join('\n'),
    );
  }
}

const now = () => new Date().toISOString();
const capitalize = (s: string) => s[0].toUpperCase() + s.slice(1);

/** The innermost reason, without the chain of "child workflow failed" wrappers. */
export function failureMessage(err: unknown): string {
  let e: any = err;
  while (e instanceof ChildWorkflowFailure && e.cause) e = e.cause;
  return e?.message ?? String(err);
}
