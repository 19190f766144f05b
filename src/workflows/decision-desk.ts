/**
 * Where a phase asks a person. One question at a time: it is published (details, search
 * attribute, the plan above), a reminder goes out before the time limit, and when nobody answers
 * the default is taken. Answers arrive through the `decide` update, which is validated first so a
 * wrong answer changes nothing and leaves no trace in history.
 */
import { condition, log, patched, setHandler } from '@temporalio/workflow';
import type { BudgetStanding } from '../domain/budget';
import {
  ACTIONS,
  answerProblem,
  type DecisionAction,
  type DecisionAnswer,
  type DecisionCause,
  type DecisionKind,
  type DecisionRecord,
  type PendingDecision,
} from '../domain/decisions';
import { decideUpdate } from './messages';

export interface Question {
  kind: DecisionKind;
  cause: DecisionCause;
  question: string;
  detail: string;
  defaultAction: DecisionAction;
  failedTasks?: string[];
  budgetLevel?: PendingDecision['budgetLevel'];
  /** Budget questions: where the spent level stands now, so a raise that leaves it spent is refused. */
  standing?: () => BudgetStanding;
}

export interface Settled {
  record: DecisionRecord;
  answer: DecisionAnswer;
}

export class DecisionDesk {
  pending: PendingDecision | undefined;
  readonly records: DecisionRecord[];
  private seq: number;
  private settled: Settled | undefined;
  private standing: (() => BudgetStanding) | undefined;

  constructor(
    private readonly where: Pick<
      PendingDecision,
      'workflowId' | 'epicSlug' | 'roadmapSlug' | 'planSlug' | 'phaseSlug' | 'phaseTitle'
    >,
    private readonly limits: { timeoutMs: number; reminderBeforeMs: number },
    /** Called whenever the pending question or the records change. */
    private readonly onChange: (event: { pending: PendingDecision | undefined; record?: DecisionRecord }) => void,
    carried?: { records: DecisionRecord[]; seq: number },
  ) {
    this.records = carried?.records ?? [];
    this.seq = carried?.seq ?? 0;
    setHandler(decideUpdate, (answer) => this.settle(answer, 'person').record, {
      validator: (answer) => {
        const problem = answerProblem(this.pending, answer, this.standing?.());
        if (problem) throw new Error(`${this.where.workflowId}: ${problem}`);
      },
    });
  }

  get carry(): { records: DecisionRecord[]; seq: number } {
    return { records: this.records, seq: this.seq };
  }

  /** Records what a detector did (it raises a question; the answer comes from a person or the default). */
  noteDetector(cause: DecisionCause, what: string): void {
    const at = new Date().toISOString();
    const record: DecisionRecord = {
      id: `${this.idPrefix()}#${++this.seq}`,
      kind: 'detector',
      cause,
      phaseSlug: this.where.phaseSlug,
      question: what,
      action: 'escalate',
      source: 'detector',
      askedAt: at,
      decidedAt: at,
    };
    this.records.push(record);
    this.onChange({ pending: this.pending, record });
  }

  /** Asks and waits for the answer, or the default when the time limit passes. */
  async ask(q: Question): Promise<Settled> {
    const askedMs = Date.now();
    const { timeoutMs } = this.limits;
    // The reminder goes out `reminderBeforeMs` before the default; at half-time when the limit is shorter.
    const remindAfterMs =
      this.limits.reminderBeforeMs < timeoutMs ? timeoutMs - this.limits.reminderBeforeMs : Math.floor(timeoutMs / 2);
    this.settled = undefined;
    this.standing = q.standing;
    this.pending = {
      id: `${this.idPrefix()}#${++this.seq}`,
      kind: q.kind,
      cause: q.cause,
      ...this.where,
      question: q.question,
      detail: q.detail,
      ...(q.failedTasks ? { failedTasks: q.failedTasks } : {}),
      ...(q.budgetLevel ? { budgetLevel: q.budgetLevel } : {}),
      actions: ACTIONS[q.kind],
      askedAt: new Date(askedMs).toISOString(),
      defaultAction: q.defaultAction,
      defaultAt: new Date(askedMs + timeoutMs).toISOString(),
      remindAt: new Date(askedMs + remindAfterMs).toISOString(),
    };
    log.info('phaseflow: waiting for a decision', {
      decision: this.pending.id,
      kind: q.kind,
      question: q.question,
      defaultAction: q.defaultAction,
      defaultAt: this.pending.defaultAt,
    });
    this.onChange({ pending: this.pending });

    let answered = await condition(() => this.settled !== undefined, remindAfterMs);
    if (!answered) answered = await this.remindThenWait(q, askedMs + timeoutMs, timeoutMs - remindAfterMs);
    if (!answered) this.settle({ action: q.defaultAction }, 'default');
    return this.settled!;
  }

  /**
   * After the reminder timer: waits until the question's own limit. The reminder timer fires late
   * when no worker ran at its time (worker or server down); the wait is then what is left of the
   * limit (workflow time), so a worker that returns after the limit takes the default at once
   * instead of `reminderBeforeSeconds` later. Runs recorded before this change waited a fixed
   * `oldWaitMs` after the reminder, and replay keeps that for them.
   */
  private async remindThenWait(q: Question, deadlineMs: number, oldWaitMs: number): Promise<boolean> {
    const answered = () => this.settled !== undefined;
    if (!patched(DEADLINE_PATCH)) {
      this.remind(q);
      return condition(answered, oldWaitMs);
    }
    const leftMs = deadlineMs - Date.now();
    // An answer may have arrived in the same workflow task as the late timer.
    if (answered()) return true;
    if (leftMs <= 0) {
      const p = this.pending!;
      log.warn(
        `phaseflow: ${this.where.workflowId}: the limit for a decision (${p.defaultAt}) passed while no worker ran; taking the default "${q.defaultAction}" now: ${q.question}`,
        {
          decision: p.id,
        },
      );
      return false;
    }
    this.remind(q);
    return condition(answered, leftMs);
  }

  private remind(q: Question): void {
    const p = this.pending!;
    log.warn(
      `phaseflow reminder: ${this.where.workflowId} still waits for a decision: ${q.question} (default "${q.defaultAction}" at ${p.defaultAt})`,
      {
        decision: p.id,
        answerWith: `phaseflow resolve|approve|reject|budget ${this.where.workflowId} …`,
      },
    );
  }

  /** The run ended (cancelled) before anyone answered: the question is no longer asked. */
  withdraw(): void {
    if (!this.pending) return;
    this.pending = undefined;
    this.onChange({ pending: undefined });
  }

  private settle(answer: DecisionAnswer, source: 'person' | 'default'): Settled {
    const p = this.pending!;
    const raisedLevel = answer.action === 'raise' ? (answer.level ?? p.budgetLevel) : undefined;
    const record: DecisionRecord = {
      id: p.id,
      kind: p.kind,
      cause: p.cause,
      phaseSlug: p.phaseSlug,
      question: p.question,
      action: answer.action,
      source,
      ...(answer.by ? { by: answer.by } : {}),
      ...(answer.note ? { note: answer.note } : {}),
      askedAt: p.askedAt,
      decidedAt: new Date().toISOString(),
      ...(raisedLevel ? { newLimit: { level: raisedLevel, ...newLimit(answer) } } : {}),
    };
    this.records.push(record);
    this.settled = { record, answer };
    this.pending = undefined;
    this.standing = undefined;
    log.info('phaseflow: decision taken', { decision: record.id, action: record.action, source, by: record.by });
    this.onChange({ pending: undefined, record });
    return this.settled;
  }

  private idPrefix(): string {
    return `${this.where.roadmapSlug}/${this.where.planSlug}/${this.where.phaseSlug}`;
  }
}

/** patched() id: the wait after the reminder ends at the question's limit (not a fixed time after the reminder). */
const DEADLINE_PATCH = 'decision-deadline-absolute';

const newLimit = (a: DecisionAnswer) => ({
  ...(a.tokens !== undefined ? { tokens: a.tokens } : {}),
  ...(a.usd !== undefined ? { usd: a.usd } : {}),
});
