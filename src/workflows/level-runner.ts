/**
 * What the epic and roadmap workflows share: children run strictly one at a time, their progress
 * reports roll up into this level's mirror file and Web UI details, and a failed child stops the
 * level (nothing after it starts).
 */
import { ApplicationFailure, ChildWorkflowFailure, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { MirrorKind } from '../domain/mirrors';
import { SA } from '../domain/search-attributes';
import { bar, STATUS_ICON, usageLine } from './details';
import { type ChildProgress, childProgressSignal, statusQuery } from './messages';
import { MirrorWriter } from './mirror-writer';
import { Outbox } from './outbox';
import { applyChildProgress, type LevelState, levelStatusNode, rollup } from './rollup';

export class LevelRunner {
  private readonly writer: MirrorWriter;
  private readonly writerLoop: Promise<void>;
  private readonly toParent = new Outbox<ChildProgress>(childProgressSignal, (batch) => batch[batch.length - 1]);
  private readonly outboxLoop: Promise<void>;

  constructor(
    readonly state: LevelState,
    private readonly opts: {
      kind: 'epic' | 'roadmap';
      childKind: 'roadmap' | 'plan';
      mirror: { kind: MirrorKind; workspace: string; file: string; build: (revision: number) => object };
    },
  ) {
    this.writer = new MirrorWriter(opts.mirror.kind, opts.mirror.workspace, opts.mirror.file, opts.mirror.build);
    this.writerLoop = this.writer.run();
    this.outboxLoop = this.toParent.run();
    setHandler(childProgressSignal, (p) => {
      if (applyChildProgress(this.state, p, now())) this.changed();
    });
    setHandler(statusQuery, () => levelStatusNode(opts.kind, this.state, opts.childKind));
  }

  changed(): void {
    this.state.updated = now();
    this.writer.markDirty();
    this.toParent.push(rollup(this.state));
    this.render();
  }

  /** Runs each child in order; returns when all completed or one failed. */
  async runChildren(children: { slug: string; run: () => Promise<unknown> }[]): Promise<void> {
    this.state.status = 'active';
    this.changed();
    for (const child of children) {
      const progress = this.state.children.find((c) => c.slug === child.slug)!;
      progress.status = 'active';
      this.changed();
      try {
        await child.run();
        progress.status = 'completed';
        progress.tasksCompleted = progress.tasksTotal;
        progress.phasesCompleted = progress.phasesTotal;
        this.changed();
      } catch (err) {
        progress.status = 'failed';
        progress.failureReason = failureMessage(err);
        this.state.status = 'failed';
        this.state.failureReason = `${this.opts.childKind} ${child.slug} failed: ${progress.failureReason}`;
        this.changed();
        break;
      }
    }
    if (this.state.status !== 'failed') {
      this.state.status = 'completed';
      this.changed();
    }
  }

  /** Flushes the mirror and the parent's progress, then ends the workflow as its state says. */
  async finish(): Promise<ReturnType<typeof rollup>> {
    upsertSearchAttributes([{ key: SA.status, value: this.state.status }]);
    await this.writer.close();
    await this.writerLoop;
    await this.toParent.close();
    await this.outboxLoop;
    if (this.state.status === 'failed') {
      throw ApplicationFailure.nonRetryable(`${this.opts.kind} ${this.state.slug}: ${this.state.failureReason}`, `${capitalize(this.opts.kind)}Failed`);
    }
    return rollup(this.state);
  }

  render(): void {
    const r = rollup(this.state);
    setCurrentDetails(
      [
        `### ${capitalize(this.opts.kind)} ${this.state.title}`,
        `**${this.state.status}** · ${bar(r.tasksCompleted, r.tasksTotal)} tasks · ${r.phasesCompleted}/${r.phasesTotal} phases · ${usageLine(r.usage)}`,
        ...(this.state.failureReason ? ['', `**Failed:** ${this.state.failureReason}`] : []),
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
