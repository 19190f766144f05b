/**
 * What a phase asks a person, and what it does with the answer: failed or blocked tasks, a failed
 * gate (retry the failed tasks or the gate, retry the phase, skip, abort), approval of a passed
 * phase, and a spent budget (raise or abort). The DecisionDesk asks and waits; this decides.
 */
import { applyLimit, type BudgetLine, spentText } from '../domain/budget';
import type { TaskSpec } from '../domain/spec';
import type { Settled } from './decision-desk';
import type { PhaseRun } from './phase-run';

export class PhaseQuestions {
  /** The last answer was retry-phase (the workspace goes back to where the phase started, with spec `git`). */
  retriedPhase = false;

  constructor(private readonly phase: PhaseRun) {}

  /** Tasks failed their last attempt, are blocked, or were stopped by the stuck detector. True when a person asked for a retry. */
  async failedTasks(failed: TaskSpec[]): Promise<boolean> {
    const { phase } = this;
    const blocked = failed.filter((t) => phase.task(t.id).status === 'blocked');
    const detected = failed.find((t) => phase.stuck.has(t.id));
    phase.failureReason = failed
      .map((t) => {
        const s = phase.task(t.id);
        return s.status === 'blocked'
          ? `task ${t.id} is blocked: ${s.error ?? ''}`
          : `task ${t.id} failed after ${s.attempts} attempt(s): ${s.error ?? 'failed'}`;
      })
      .join('; ');
    const settled = await phase.desk.ask({
      kind: 'escalation',
      cause: blocked.length
        ? 'blocked'
        : detected
          ? phase.stuck.get(detected.id)!.detector === 'tool-loop'
            ? 'tool-loop'
            : 'stuck'
          : 'task-failed',
      question: blocked.length
        ? `Task ${blocked.map((t) => t.id).join(', ')} of phase ${phase.spec.slug} needs a person. Retry, skip the phase, or abort?`
        : `Phase ${phase.spec.slug}: ${failed.length} task(s) failed (${failed.map((t) => t.id).join(', ')}). Retry, skip the phase, or abort?`,
      detail: phase.failureReason,
      failedTasks: failed.map((t) => t.id),
      defaultAction: phase.settings.escalationDefault,
    });
    return this.follow(
      settled,
      failed.map((t) => t.id),
    );
  }

  /** The validation gate failed. True when a person asked for a retry (of the gate, or the phase). */
  async failedGate(): Promise<boolean> {
    const { phase } = this;
    phase.failureReason = `validation gate failed: ${phase.gate?.reason}`;
    const settled = await phase.desk.ask({
      kind: 'escalation',
      cause: 'gate-failed',
      question: `Phase ${phase.spec.slug}: the validation gate failed. Retry (the gate), retry the phase, skip it, or abort?`,
      detail: phase.failureReason,
      defaultAction: phase.settings.escalationDefault,
    });
    return this.follow(settled, []);
  }

  /** gating.require_phase_approval: a passed phase waits for approve or reject. */
  async approval(phasesTotal: number | undefined): Promise<void> {
    const { phase } = this;
    const { gate, ctx } = phase;
    const settled = await phase.desk.ask({
      kind: 'approval',
      cause: 'approval',
      question: `Phase ${ctx.phaseIndex} (${phase.spec.slug}) of plan ${ctx.planSlug} passed${gate ? ' its gate' : ''}. ${
        ctx.phaseIndex === phasesTotal
          ? 'It is the last phase of the plan: approve, so the plan completes?'
          : 'Approve, so the next phase starts?'
      }`,
      detail: `${phase.spec.tasks.length} task(s) completed${gate ? `; gate: ${gate.checks.map((c) => `${c.name} ${c.passed ? 'passed' : 'failed'}`).join(', ')}` : ''}`,
      defaultAction: phase.settings.approvalDefault,
    });
    if (settled.answer.action === 'reject')
      phase.failureReason = `rejected ${who(settled)}${settled.answer.note ? `: ${settled.answer.note}` : ''}`;
  }

  /** A budget line is spent: raise it (true, the tasks go on) or abort (false). */
  async budgetSpent(line: BudgetLine): Promise<boolean> {
    const { phase } = this;
    const settled = await phase.desk.ask({
      kind: 'budget',
      cause: 'budget',
      budgetLevel: line.level,
      question: `The ${line.level} budget of ${line.slug} is spent. Raise it, or abort?`,
      detail: spentText(phase.standing(line)),
      standing: () => phase.standing(line),
      defaultAction: 'abort',
    });
    if (settled.answer.action === 'abort') {
      phase.failureReason = `the ${line.level} budget of ${line.slug} was spent; ${decided('aborted', settled)}`;
      return false;
    }
    const level = settled.answer.level ?? line.level;
    const raised = applyLimit(phase.budgets, { level, tokens: settled.answer.tokens, usd: settled.answer.usd });
    if (raised) phase.limitRaised(level, raised);
    return true;
  }

  /** Applies retry, retry-phase, skip or abort; true when the phase runs again. */
  private follow(settled: Settled, failed: string[]): boolean {
    const { phase } = this;
    this.retriedPhase = settled.answer.action === 'retry-phase';
    switch (settled.answer.action) {
      case 'retry':
        this.resetForRetry(
          [...failed, ...phase.spec.tasks.filter((t) => phase.task(t.id).status === 'not_started').map((t) => t.id)],
          settled,
        );
        break;
      case 'retry-phase':
        this.resetForRetry(
          phase.spec.tasks.map((t) => t.id),
          settled,
        );
        break;
      case 'skip':
        phase.status = 'skipped';
        phase.failureReason = `${decided('skipped', settled)}; ${phase.failureReason ?? ''}`.replace(/; $/, '');
        return false;
      default:
        phase.failureReason = [phase.failureReason, decided('aborted', settled)].filter(Boolean).join('; ');
        return false;
    }
    phase.gate = null;
    phase.failureReason = undefined;
    return true;
  }

  private resetForRetry(ids: string[], settled: Settled): void {
    const { phase } = this;
    for (const id of ids) {
      const s = phase.task(id);
      if (s.error)
        phase.personNotes.set(
          id,
          `${s.error}. A person (${settled.record.by ?? 'unnamed'}) asked for a retry${settled.answer.note ? `: ${settled.answer.note}` : ''}`,
        );
      else phase.personNotes.delete(id);
      s.status = 'pending';
      s.error = undefined;
      phase.stuck.delete(id);
      phase.report(phase.spec.tasks.find((t) => t.id === id)!);
    }
  }
}

const who = (s: Settled) =>
  s.record.source === 'default' ? `by default (no answer in time)` : `by ${s.record.by ?? 'a person'}`;
/** "aborted by alice (too pricey)": what was done, by whom, and the person's note. */
const decided = (what: string, s: Settled) => `${what} ${who(s)}${s.answer.note ? ` (${s.answer.note})` : ''}`;
