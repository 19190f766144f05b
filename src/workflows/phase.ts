/**
 * A phase: its tasks run as parallel activities, at most `maxParallel` at once, each starting as
 * soon as the tasks it depends on have completed; then the validation gate.
 *
 * When a task fails after its last attempt, is blocked, or is stopped by the stuck detector, no
 * new task starts, and once the running ones are done the phase asks a person: retry (the failed
 * tasks, or the whole phase), skip or abort. A failed gate asks the same. With
 * `require_phase_approval` a passed phase waits for approve/reject. A spent budget holds new agent
 * tasks and asks for a raise. Every question has a time limit and a default (DecisionDesk).
 * Pause holds new tasks; cancellation stops running agents and ends the phase `cancelled`.
 */
import {
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../activities';
import { applyLimit, type BudgetLine, type BudgetStanding, remaining, spentText } from '../domain/budget';
import { controlProblem, type DecisionRecord } from '../domain/decisions';
import { budgetLedgerKey } from '../domain/paths';
import { SA } from '../domain/search-attributes';
import { mergeSettings } from '../domain/settings';
import type { ExecutionSettings, PhaseSpec, TaskSpec } from '../domain/spec';
import { addUsage, type GateResult, microUsd, type TaskContext, type TaskRunInput, totalTokens, type Usage, ZERO_USAGE } from '../domain/types';
import { DecisionDesk, type Settled } from './decision-desk';
import { phaseDetails } from './phase-details';
import { controlSignal, ignoredSignal, type PhaseDecisionEvent, phaseDecisionSignal, type StatusNode, statusQuery, pendingQuery, taskUpdatesSignal } from './messages';
import { Outbox } from './outbox';
import type { TaskStatus, TaskUpdate } from './plan-state';
import { runTaskAttempts, type TaskOutcome } from './task-attempts';

export interface PhaseInput {
  ctx: TaskContext;
  phase: PhaseSpec;
  /** Settings of the levels above (epic, roadmap, plan); the phase's and each task's apply on top. */
  inherited: (ExecutionSettings | undefined)[];
  agentMode: TaskRunInput['agentMode'];
  /** Time limit of each gate command without its own. */
  gateTimeoutMs: number;
  /** gating.require_phase_approval */
  requireApproval?: boolean;
  /** How many phases the plan has (the approval question after the last one asks no "next phase"). */
  phasesTotal?: number;
  /** Budgets of the epic, roadmap and plan, with what each had spent before this phase. */
  budgets?: BudgetLine[];
  paused?: boolean;
  /** Set when the phase continued as new. */
  carry?: PhaseCarry;
}

export interface TaskRun {
  status: TaskStatus;
  attempts: number;
  usage: Usage;
  error?: string;
}

export interface PhaseCarry {
  tasks: Record<string, TaskRun>;
  desk: { records: DecisionRecord[]; seq: number };
}

export type PhaseStatus = 'active' | 'completed' | 'failed' | 'skipped' | 'cancelled';

export interface PhaseOutcome {
  status: 'completed' | 'failed' | 'skipped';
  /** Task updates the plan may not have received as signals yet (the phase does not wait for them). */
  updates?: TaskUpdate[];
  failureReason?: string;
  gate: GateResult | null;
  tasks: { id: string; status: TaskStatus; attempts: number }[];
  usage: Usage;
  decisions: DecisionRecord[];
}

export async function phaseWorkflow(input: PhaseInput): Promise<PhaseOutcome> {
  const { ctx, phase } = input;
  const settings = mergeSettings(...input.inherited, phase.settings);
  const wfId = workflowInfo().workflowId;
  const budgets: BudgetLine[] = (input.budgets ?? []).map((b) => ({ ...b, limit: { ...b.limit } }));
  let paused = input.paused ?? false;

  const toPlan = new Outbox<TaskUpdate>(taskUpdatesSignal);
  const decisionsToPlan = new Outbox<PhaseDecisionEvent>(phaseDecisionSignal, (batch) => ({
    phaseIndex: ctx.phaseIndex,
    pending: batch[batch.length - 1].pending,
    records: batch.flatMap((e) => e.records),
    raisedLimits: Object.assign({}, ...batch.map((e) => e.raisedLimits ?? {})),
    gate: batch[batch.length - 1].gate,
  }));
  const loops = [toPlan.run(), decisionsToPlan.run()];

  const tasks = new Map<string, TaskRun>(
    phase.tasks.map((t) => [t.id, input.carry?.tasks[t.id] ?? { status: 'pending' as TaskStatus, attempts: 0, usage: ZERO_USAGE }]),
  );
  const stuck = new Map<string, NonNullable<TaskOutcome['stuck']>>();
  // Set by a person's retry: what the agent's next round reads (the last failure and their note).
  const personNotes = new Map<string, string>();
  let gate: GateResult | null = null;
  let failureReason: string | undefined;
  let status: PhaseStatus = 'active';
  // Bumped by everything that may let the scheduler start a task.
  let wake = 0;

  const usage = () => [...tasks.values()].reduce((u, s) => addUsage(u, s.usage), ZERO_USAGE);
  // The most an agent refused by the phase budget ledger saw spent: it counts running attempts,
  // which usage() counts only once they end, so new agent tasks are held from then on.
  let ledgerSpent = { tokens: 0, costUsd: 0 };
  const phaseSpent = () => {
    const u = usage();
    return { tokens: Math.max(totalTokens(u), ledgerSpent.tokens), usd: Math.max(u.costUsd, ledgerSpent.costUsd) };
  };
  const budgetLeft = () => {
    const spent = phaseSpent();
    return remaining(budgets, spent.tokens, spent.usd);
  };
  /** A budget line as it stands now: spent before this phase plus this phase's spend. */
  const standing = (line: BudgetLine): BudgetStanding => {
    const spent = phaseSpent();
    return { level: line.level, slug: line.slug, limit: { ...line.limit }, spentTokens: line.usedTokens + spent.tokens, spentUsd: microUsd(line.usedUsd + spent.usd) };
  };
  // One ledger per phase run, the same across continue-as-new.
  const ledger = budgetLedgerKey(ctx.planSlug, phase.slug, workflowInfo().firstExecutionRunId);

  let shownStatus = '';
  const render = () => {
    const shown = status === 'active' ? (desk.pending ? 'waiting' : paused ? 'paused' : 'active') : status;
    if (shown !== shownStatus) {
      shownStatus = shown;
      upsertSearchAttributes([{ key: SA.status, value: shown }]);
    }
    setCurrentDetails(phaseDetails({ ctx, phase, settings, tasks, status: shown, gate, failureReason, pending: desk.pending, usage: usage(), budgets, decisions: desk.records }));
  };

  const desk = new DecisionDesk(
    { workflowId: wfId, epicSlug: ctx.epicSlug, roadmapSlug: ctx.roadmapSlug, planSlug: ctx.planSlug, phaseSlug: phase.slug, phaseTitle: phase.title },
    { timeoutMs: settings.decisionTimeoutSeconds * 1000, reminderBeforeMs: settings.reminderBeforeSeconds * 1000 },
    ({ pending, record }) => {
      decisionsToPlan.push({ phaseIndex: ctx.phaseIndex, pending: pending ?? null, records: record ? [record] : [], gate });
      render();
    },
    input.carry?.desk,
  );

  const report = (task: TaskSpec, s: TaskRun, extra: Partial<TaskUpdate> = {}) => {
    toPlan.push({ phaseIndex: ctx.phaseIndex, at: new Date().toISOString(), id: task.id, status: s.status, attempts: s.attempts, usage: s.usage, ...(s.error ? { error: s.error } : {}), ...extra });
    render();
  };

  setHandler(statusQuery, (): StatusNode => ({
    level: 'phase',
    slug: phase.slug,
    title: phase.title,
    status: shownStatus,
    tasksTotal: phase.tasks.length,
    tasksCompleted: [...tasks.values()].filter((s) => s.status === 'completed').length,
    usage: usage(),
    failureReason,
    paused,
    pending: desk.pending ? [desk.pending] : [],
    decisions: desk.records,
    workflowId: wfId,
  }));
  setHandler(pendingQuery, () => (desk.pending ? [desk.pending] : []));
  setHandler(controlSignal, (msg) => {
    if (ignoredSignal('control', controlProblem(msg))) return;
    if (msg.paused !== undefined) paused = msg.paused;
    if (msg.budget) applyLimit(budgets, msg.budget);
    wake++;
    render();
  });
  render();

  const runOne = async (task: TaskSpec) => {
    const s = tasks.get(task.id)!;
    const outcome = await runTaskAttempts({
      ctx,
      task,
      settings: mergeSettings(...input.inherited, phase.settings, task.settings),
      agentMode: input.agentMode,
      attemptsBefore: s.attempts,
      personNote: personNotes.get(task.id),
      budget: () => {
        const left = budgetLeft();
        if (left.tokensLeft === undefined && left.usdLeft === undefined) return undefined;
        // What the lines allow before any of this phase's spend (raised limits included): the ledger counts that spend.
        const start = remaining(budgets, 0, 0);
        return { tokensLeft: left.tokensLeft, usdLeft: left.usdLeft, phase: { ledger, tokensLeft: start.tokensLeft, usdLeft: start.usdLeft } };
      },
      report: (r) => {
        s.status = r.status;
        s.attempts = r.attempt;
        if (r.result) s.usage = addUsage(s.usage, r.result.usage);
        if (r.usage) s.usage = addUsage(s.usage, r.usage);
        if (r.error) s.error = r.error;
        if (r.status === 'completed') s.error = undefined;
        report(task, s, r.result ? { summary: r.result.summary, detailsFile: r.result.detailsFile, durationMs: r.result.durationMs } : {});
      },
    });
    if (outcome.phaseSpent) {
      ledgerSpent = { tokens: Math.max(ledgerSpent.tokens, outcome.phaseSpent.tokens), costUsd: Math.max(ledgerSpent.costUsd, outcome.phaseSpent.costUsd) };
    }
    if (outcome.stuck) {
      stuck.set(task.id, outcome.stuck);
      desk.noteDetector(outcome.stuck.detector === 'tool-loop' ? 'tool-loop' : 'stuck', `task ${task.id}: ${outcome.stuck.reason}`);
    }
  };

  // Dependency-aware scheduling under the cap. Returns when nothing more can start now.
  const running = new Map<string, Promise<void>>();
  // A task's promise that rejects is not awaited directly; its error surfaces here.
  let taskCrash: unknown;
  const trouble = () => phase.tasks.filter((t) => ['failed', 'blocked'].includes(tasks.get(t.id)!.status));
  const shouldContinueAsNew = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > settings.historyEventsLimit;
  const runTasks = async (): Promise<'settled' | 'continue-as-new'> => {
    for (;;) {
      const troubled = trouble().length > 0;
      const exhausted = budgetLeft().exhausted;
      const drain = troubled || paused || shouldContinueAsNew();
      if (!drain) {
        for (const task of phase.tasks) {
          if (running.size >= settings.maxParallel) break;
          const s = tasks.get(task.id)!;
          if (s.status !== 'pending' || running.has(task.id)) continue;
          if (exhausted && task.kind === 'agent') continue;
          if (!task.dependsOn.every((d) => tasks.get(d)?.status === 'completed')) continue;
          s.status = 'running';
          running.set(
            task.id,
            runOne(task)
              .catch((err) => {
                taskCrash ??= err;
              })
              .finally(() => {
                running.delete(task.id);
                wake++;
              }),
          );
        }
      }
      if (running.size > 0) {
        const seen = wake;
        await condition(() => wake !== seen);
        if (taskCrash) throw taskCrash;
        continue;
      }
      if (troubled || !phase.tasks.some((t) => tasks.get(t.id)!.status === 'pending')) return 'settled';
      if (shouldContinueAsNew()) return 'continue-as-new';
      if (paused) {
        await condition(() => !paused);
        continue;
      }
      if (exhausted) {
        if (!(await askForBudget(exhausted))) return 'settled';
        continue;
      }
      return 'settled';
    }
  };

  const askForBudget = async (line: BudgetLine): Promise<boolean> => {
    const settled = await desk.ask({
      kind: 'budget',
      cause: 'budget',
      budgetLevel: line.level,
      question: `The ${line.level} budget of ${line.slug} is spent. Raise it, or abort?`,
      detail: spentText(standing(line)),
      standing: () => standing(line),
      defaultAction: 'abort',
    });
    if (settled.answer.action === 'abort') {
      failureReason = `the ${line.level} budget of ${line.slug} was spent; ${decided('aborted', settled)}`;
      return false;
    }
    const level = settled.answer.level ?? line.level;
    const raised = applyLimit(budgets, { level, tokens: settled.answer.tokens, usd: settled.answer.usd });
    if (raised) decisionsToPlan.push({ phaseIndex: ctx.phaseIndex, pending: null, records: [], raisedLimits: { [level]: raised } });
    return true;
  };

  const resetForRetry = (ids: string[], settled: Settled) => {
    for (const id of ids) {
      const s = tasks.get(id)!;
      if (s.error) personNotes.set(id, `${s.error}. A person (${settled.record.by ?? 'unnamed'}) asked for a retry${settled.answer.note ? `: ${settled.answer.note}` : ''}`);
      else personNotes.delete(id);
      s.status = 'pending';
      s.error = undefined;
      stuck.delete(id);
      report(phase.tasks.find((t) => t.id === id)!, s);
    }
  };

  /** Applies skip/abort/retry; returns true when the phase should run again. */
  const follow = (settled: Settled, failed: string[]): boolean => {
    switch (settled.answer.action) {
      case 'retry':
        resetForRetry([...failed, ...phase.tasks.filter((t) => tasks.get(t.id)!.status === 'not_started').map((t) => t.id)], settled);
        gate = null;
        return true;
      case 'retry-phase':
        resetForRetry(phase.tasks.map((t) => t.id), settled);
        gate = null;
        return true;
      case 'skip':
        status = 'skipped';
        failureReason = `${decided('skipped', settled)}; ${failureReason ?? ''}`.replace(/; $/, '');
        return false;
      default:
        failureReason = [failureReason, decided('aborted', settled)].filter(Boolean).join('; ');
        return false;
    }
  };

  try {
    for (;;) {
      if ((await runTasks()) === 'continue-as-new') {
        await Promise.all([toPlan.close(), decisionsToPlan.close()]);
        await Promise.all(loops);
        await continueAsNew<typeof phaseWorkflow>({ ...input, budgets, paused, carry: { tasks: Object.fromEntries(tasks), desk: desk.carry } });
      }
      if (failureReason) break; // aborted while asking for budget
      for (const t of phase.tasks) {
        const s = tasks.get(t.id)!;
        if (s.status === 'pending') {
          s.status = 'not_started';
          report(t, s);
        }
      }
      const failed = trouble();
      if (failed.length > 0) {
        const blocked = failed.filter((t) => tasks.get(t.id)!.status === 'blocked');
        const detected = failed.find((t) => stuck.has(t.id));
        failureReason = failed
          .map((t) => {
            const s = tasks.get(t.id)!;
            return s.status === 'blocked' ? `task ${t.id} is blocked: ${s.error ?? ''}` : `task ${t.id} failed after ${s.attempts} attempt(s): ${s.error ?? 'failed'}`;
          })
          .join('; ');
        const settled = await desk.ask({
          kind: 'escalation',
          cause: blocked.length ? 'blocked' : detected ? (stuck.get(detected.id)!.detector === 'tool-loop' ? 'tool-loop' : 'stuck') : 'task-failed',
          question: blocked.length
            ? `Task ${blocked.map((t) => t.id).join(', ')} of phase ${phase.slug} needs a person. Retry, skip the phase, or abort?`
            : `Phase ${phase.slug}: ${failed.length} task(s) failed (${failed.map((t) => t.id).join(', ')}). Retry, skip the phase, or abort?`,
          detail: failureReason,
          failedTasks: failed.map((t) => t.id),
          defaultAction: settings.escalationDefault,
        });
        if (follow(settled, failed.map((t) => t.id))) {
          failureReason = undefined;
          continue;
        }
        break;
      }
      if (phase.gate.commands.length > 0 && !gate?.passed) {
        gate = await runGate(input, wfId);
        render();
        if (!gate.passed) {
          failureReason = `validation gate failed: ${gate.reason}`;
          const settled = await desk.ask({
            kind: 'escalation',
            cause: 'gate-failed',
            question: `Phase ${phase.slug}: the validation gate failed. Retry (the gate), retry the phase, skip it, or abort?`,
            detail: failureReason,
            defaultAction: settings.escalationDefault,
          });
          if (follow(settled, [])) {
            failureReason = undefined;
            continue;
          }
          break;
        }
      }
      if (input.requireApproval) {
        const settled = await desk.ask({
          kind: 'approval',
          cause: 'approval',
          question: `Phase ${ctx.phaseIndex} (${phase.slug}) of plan ${ctx.planSlug} passed${gate ? ' its gate' : ''}. ${
            ctx.phaseIndex === input.phasesTotal ? 'It is the last phase of the plan: approve, so the plan completes?' : 'Approve, so the next phase starts?'
          }`,
          detail: `${phase.tasks.length} task(s) completed${gate ? `; gate: ${gate.checks.map((c) => `${c.name} ${c.passed ? 'passed' : 'failed'}`).join(', ')}` : ''}`,
          defaultAction: settings.approvalDefault,
        });
        if (settled.answer.action === 'reject') {
          failureReason = `rejected ${who(settled)}${settled.answer.note ? `: ${settled.answer.note}` : ''}`;
          break;
        }
      }
      break;
    }
    if (status === 'active') status = failureReason ? 'failed' : 'completed';
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelled: wait for the running agents to stop, then say so everywhere.
    await CancellationScope.nonCancellable(async () => {
      await Promise.allSettled(running.values());
      status = 'cancelled';
      desk.withdraw();
      for (const t of phase.tasks) {
        const s = tasks.get(t.id)!;
        if (s.status === 'running' || s.status === 'pending') {
          s.status = s.status === 'running' ? 'cancelled' : 'not_started';
          report(t, s);
        }
      }
      render();
      await Promise.all([toPlan.close(), decisionsToPlan.close()]);
      await Promise.all(loops);
    });
    throw err;
  }

  render();
  let updates: TaskUpdate[] | undefined;
  if (patched('phase-result-carries-updates')) {
    // The last updates travel in the result: no waiting for a signal round trip (~20-40 ms a phase).
    updates = toPlan.drain();
    decisionsToPlan.drain(); // the result carries the decisions too
  } else {
    await Promise.all([toPlan.close(), decisionsToPlan.close()]);
    await Promise.all(loops);
  }
  return {
    status: status as PhaseOutcome['status'],
    ...(updates?.length ? { updates } : {}),
    ...(failureReason ? { failureReason } : {}),
    gate,
    tasks: phase.tasks.map((t) => ({ id: t.id, status: tasks.get(t.id)!.status, attempts: tasks.get(t.id)!.attempts })),
    usage: usage(),
    decisions: desk.records,
  };
}

async function runGate(input: PhaseInput, wfId: string): Promise<GateResult> {
  const { phase } = input;
  const acts = proxyActivities<typeof activities>({
    startToCloseTimeout: input.gateTimeoutMs * phase.gate.commands.length + 30_000,
    heartbeatTimeout: '30 seconds',
    retry: { maximumAttempts: 3, backoffCoefficient: 1.5 },
    summary: `validation gate of phase ${phase.slug} (${phase.gate.commands.length} command(s))`,
  });
  return acts.runGate({ ctx: input.ctx, commands: phase.gate.commands, successCriteria: phase.gate.successCriteria, timeoutMs: input.gateTimeoutMs, run: workflowInfo().attempt });
}


const who = (s: Settled) => (s.record.source === 'default' ? `by default (no answer in time)` : `by ${s.record.by ?? 'a person'}`);
/** "aborted by alice (too pricey)": what was done, by whom, and the person's note. */
const decided = (what: string, s: Settled) => `${what} ${who(s)}${s.answer.note ? ` (${s.answer.note})` : ''}`;
