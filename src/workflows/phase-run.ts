/**
 * The state of a phase run, beside its workflow function: each task's state and usage, the
 * budgets and what the phase has spent, pause, the gate's result, the questions desk; what the
 * phase reports to its plan (task updates, decisions), its Web UI details, search attribute and
 * status query; and how the run ends (result, continue-as-new, cancellation).
 */
import {
  continueAsNew,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../activities';
import { applyLimit, type BudgetLine, type BudgetStanding, type Limit, remaining } from '../domain/budget';
import { controlProblem, type DecisionRecord } from '../domain/decisions';
import { budgetLedgerKey } from '../domain/paths';
import { type EffectiveSettings, mergeSettings } from '../domain/settings';
import type { ExecutionSettings, PhaseSpec, TaskSpec } from '../domain/spec';
import { type PhaseStatus, shownStatus, type TaskStatus } from '../domain/status';
import {
  addUsage,
  type GateResult,
  microUsd,
  type TaskContext,
  type TaskRunInput,
  totalTokens,
  type Usage,
  ZERO_USAGE,
} from '../domain/types';
import type { GitSpec } from '../domain/git-spec';
import { DecisionDesk } from './decision-desk';
import { phaseDetails } from './details';
import { StatusAttribute } from './lifecycle';
import {
  controlSignal,
  ignoredSignal,
  type PhaseDecisionEvent,
  phaseDecisionSignal,
  pendingQuery,
  type StatusNode,
  statusQuery,
  apiWeatherSignal,
  apiWeatherProblem,
  taskUpdatesSignal,
} from './messages';
import { Outbox } from './outbox';
import { PhaseGit, type PhaseGitCarry } from './phase-git';
import type { TaskUpdate } from './plan-state';
import { fileConflicts } from '../domain/shared-files';
import type { TaskResult } from '../domain/types';
import type { AttemptReport, TaskOutcome } from './task-attempts';
import { onWorkspaceHost } from './workspace-host';

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
  /** The epic's `git` block: a commit per phase (phase-git.ts). */
  git?: GitSpec;
  /** Set when the phase continued as new. */
  carry?: PhaseCarry;
}

export interface TaskRun {
  status: TaskStatus;
  attempts: number;
  usage: Usage;
  error?: string;
  /** Paths its attempts wrote, and the API weather they waited out (all attempts). */
  changedPaths?: string[];
  apiRetries?: number;
  apiWaitMs?: number;
  /** The last completed attempt's summary (a phase commit's message lists them). */
  summary?: string;
}

/** One debug-before-escalation round after a failed gate (gate-debug.ts). */
export interface GateDebugRound {
  round: number;
  taskId: string;
  status: string;
  summary?: string;
  gatePassed: boolean;
}

export interface PhaseCarry {
  tasks: Record<string, TaskRun>;
  desk: { records: DecisionRecord[]; seq: number };
  git?: PhaseGitCarry;
}

export interface PhaseOutcome {
  status: 'completed' | 'failed' | 'skipped';
  /** Task updates the plan may not have received as signals yet (the phase does not wait for them). */
  updates?: TaskUpdate[];
  failureReason?: string;
  gate: GateResult | null;
  tasks: { id: string; status: TaskStatus; attempts: number }[];
  usage: Usage;
  decisions: DecisionRecord[];
  /** Files two or more of its tasks wrote. */
  conflicts?: { file: string; tasks: string[] }[];
  /** Debug rounds after a failed gate (gateDebugAttempts), when there were any. */
  gateDebug?: GateDebugRound[];
  /** The phase's commit (spec `git`). */
  commit?: string;
}

export class PhaseRun {
  readonly ctx: TaskContext;
  readonly spec: PhaseSpec;
  readonly settings: EffectiveSettings;
  readonly budgets: BudgetLine[];
  readonly tasks: Map<string, TaskRun>;
  /** Tasks the stuck detector stopped, and why. */
  readonly stuck = new Map<string, NonNullable<TaskOutcome['stuck']>>();
  /** Set by a person's retry: what the agent's next round reads (the last failure and their note). */
  readonly personNotes = new Map<string, string>();
  readonly desk: DecisionDesk;
  readonly git: PhaseGit;
  paused: boolean;
  gate: GateResult | null = null;
  failureReason: string | undefined;
  status: PhaseStatus = 'active';
  /** Tasks waiting on the Anthropic API now (their agents say so by the apiWeather signal). */
  readonly apiWaits = new Map<string, { what: string; nextTryAt: string }>();
  /** Bumped by everything that may let the scheduler start a task. */
  wake = 0;
  /** Debug-before-escalation rounds after a failed gate (gate-debug.ts), and what their agents spent. */
  readonly debugRounds: GateDebugRound[] = [];
  debugUsage: Usage = ZERO_USAGE;
  private readonly toPlan = new Outbox<TaskUpdate>(taskUpdatesSignal);
  private readonly decisionsToPlan = new Outbox<PhaseDecisionEvent>(phaseDecisionSignal, (batch) => ({
    phaseIndex: this.ctx.phaseIndex,
    pending: batch[batch.length - 1].pending,
    records: batch.flatMap((e) => e.records),
    raisedLimits: Object.assign({}, ...batch.map((e) => e.raisedLimits ?? {})),
    gate: batch[batch.length - 1].gate,
  }));
  private readonly loops: Promise<void>[];
  /**
   * The most an agent refused by the phase budget ledger saw spent: it counts running attempts,
   * which usage() counts only once they end, so new agent tasks are held from then on.
   */
  private ledgerSpent = { tokens: 0, costUsd: 0 };
  /** One ledger per phase run, the same across continue-as-new. */
  private readonly ledger: string;
  private readonly statusAttribute = new StatusAttribute();
  private shown = '';

  constructor(private readonly input: PhaseInput) {
    const { ctx, phase } = input;
    this.ctx = ctx;
    this.spec = phase;
    this.settings = mergeSettings(...input.inherited, phase.settings);
    this.budgets = (input.budgets ?? []).map((b) => ({ ...b, limit: { ...b.limit } }));
    this.paused = input.paused ?? false;
    this.git = new PhaseGit(ctx, input.git, input.carry?.git);
    this.loops = [this.toPlan.run(), this.decisionsToPlan.run()];
    this.tasks = new Map(
      phase.tasks.map((t) => [
        t.id,
        input.carry?.tasks[t.id] ?? {
          // A task an imported plan marks done does not run; its dependants may start at once.
          status: (t.status === 'completed' ? 'completed' : 'pending') as TaskStatus,
          attempts: 0,
          usage: ZERO_USAGE,
        },
      ]),
    );
    this.ledger = budgetLedgerKey(ctx.planSlug, phase.slug, workflowInfo().firstExecutionRunId);
    this.desk = new DecisionDesk(
      {
        workflowId: workflowInfo().workflowId,
        epicSlug: ctx.epicSlug,
        roadmapSlug: ctx.roadmapSlug,
        planSlug: ctx.planSlug,
        phaseSlug: phase.slug,
        phaseTitle: phase.title,
      },
      {
        timeoutMs: this.settings.decisionTimeoutSeconds * 1000,
        reminderBeforeMs: this.settings.reminderBeforeSeconds * 1000,
      },
      ({ pending, record }) => {
        this.decisionsToPlan.push({
          phaseIndex: ctx.phaseIndex,
          pending: pending ?? null,
          records: record ? [record] : [],
          gate: this.gate,
        });
        this.render();
      },
      input.carry?.desk,
    );
    setHandler(statusQuery, () => this.statusNode());
    setHandler(pendingQuery, () => (this.desk.pending ? [this.desk.pending] : []));
    setHandler(apiWeatherSignal, (w) => {
      if (ignoredSignal('apiWeather', apiWeatherProblem(w))) return;
      if (!this.tasks.has(w.taskId)) return;
      if (w.what && w.nextTryAt) this.apiWaits.set(w.taskId, { what: w.what, nextTryAt: w.nextTryAt });
      else this.apiWaits.delete(w.taskId);
      this.render();
    });
    setHandler(controlSignal, (msg) => {
      if (ignoredSignal('control', controlProblem(msg))) return;
      if (msg.paused !== undefined) this.paused = msg.paused;
      if (msg.budget) applyLimit(this.budgets, msg.budget);
      this.wake++;
      this.render();
    });
    this.render();
  }

  task(id: string): TaskRun {
    return this.tasks.get(id)!;
  }

  usage(): Usage {
    return [...this.tasks.values()].reduce((u, s) => addUsage(u, s.usage), this.debugUsage);
  }

  get agentMode(): TaskRunInput['agentMode'] {
    return this.input.agentMode;
  }

  /** Failed or blocked tasks: no new task starts, and a person is asked once the running ones are done. */
  troubled(): TaskSpec[] {
    return this.spec.tasks.filter((t) => ['failed', 'blocked'].includes(this.task(t.id).status));
  }

  /** What the budgets have left after this phase's spend; `exhausted` names a spent line. */
  budgetLeft() {
    const spent = this.phaseSpent();
    return remaining(this.budgets, spent.tokens, spent.usd);
  }

  /** A budget line as it stands now: spent before this phase plus this phase's spend. */
  standing(line: BudgetLine): BudgetStanding {
    const spent = this.phaseSpent();
    return {
      level: line.level,
      slug: line.slug,
      limit: { ...line.limit },
      spentTokens: line.usedTokens + spent.tokens,
      spentUsd: microUsd(line.usedUsd + spent.usd),
    };
  }

  /** What an agent attempt may spend, read as it starts; the phase ledger lets parallel agents stop together. */
  taskBudget(): TaskRunInput['budget'] {
    const left = this.budgetLeft();
    if (left.tokensLeft === undefined && left.usdLeft === undefined) return undefined;
    // What the lines allow before any of this phase's spend (raised limits included): the ledger counts that spend.
    const start = remaining(this.budgets, 0, 0);
    return {
      tokensLeft: left.tokensLeft,
      usdLeft: left.usdLeft,
      phase: { ledger: this.ledger, tokensLeft: start.tokensLeft, usdLeft: start.usdLeft },
    };
  }

  /** An attempt started or ended: the task's state and usage, reported to the plan. */
  attemptReported(task: TaskSpec, r: AttemptReport): void {
    const s = this.task(task.id);
    s.status = r.status;
    s.attempts = r.attempt;
    // An attempt starts or ends: a wait its agent announced is over (also one a dead worker left behind).
    this.apiWaits.delete(task.id);
    if (r.result) s.usage = addUsage(s.usage, r.result.usage);
    if (r.usage) s.usage = addUsage(s.usage, r.usage);
    if (r.error) s.error = r.error;
    if (r.status === 'completed') s.error = undefined;
    if (r.result?.summary) s.summary = r.result.summary;
    if (r.result) this.noteWrites(s, r.result);
    this.report(
      task,
      r.result
        ? {
            summary: r.result.summary,
            detailsFile: r.result.detailsFile,
            durationMs: r.result.durationMs,
            ...(s.changedPaths ? { changedPaths: s.changedPaths } : {}),
            ...(s.apiRetries ? { apiRetries: s.apiRetries, apiWaitMs: s.apiWaitMs } : {}),
          }
        : {},
    );
  }

  /** What an attempt wrote and waited for adds to its task's. */
  private noteWrites(s: TaskRun, result: TaskResult): void {
    if (result.changedPaths?.length)
      s.changedPaths = [...new Set([...(s.changedPaths ?? []), ...result.changedPaths])].sort();
    if (result.apiRetries) {
      s.apiRetries = (s.apiRetries ?? 0) + result.apiRetries;
      s.apiWaitMs = (s.apiWaitMs ?? 0) + (result.apiWaitMs ?? 0);
    }
  }

  /** Files two or more tasks of this phase wrote. */
  conflicts(): { file: string; tasks: string[] }[] {
    return fileConflicts(this.spec.tasks.map((t) => ({ id: t.id, paths: this.task(t.id).changedPaths ?? [] })));
  }

  /** A task's attempts are over: what the budget ledger saw, and what the stuck detector did. */
  taskEnded(task: TaskSpec, outcome: TaskOutcome): void {
    if (outcome.phaseSpent) {
      this.ledgerSpent = {
        tokens: Math.max(this.ledgerSpent.tokens, outcome.phaseSpent.tokens),
        costUsd: Math.max(this.ledgerSpent.costUsd, outcome.phaseSpent.costUsd),
      };
    }
    if (outcome.stuck) {
      this.stuck.set(task.id, outcome.stuck);
      this.desk.noteDetector(
        outcome.stuck.detector === 'tool-loop' ? 'tool-loop' : 'stuck',
        `task ${task.id}: ${outcome.stuck.reason}`,
      );
    }
  }

  /** A person raised a budget: the plan and the levels above adopt the new limit. */
  limitRaised(level: 'epic' | 'roadmap' | 'plan', raised: Limit): void {
    this.decisionsToPlan.push({
      phaseIndex: this.ctx.phaseIndex,
      pending: null,
      records: [],
      raisedLimits: { [level]: raised },
    });
  }

  /** `id: summary` of the completed tasks, in spec order (a phase commit's message). */
  summaries(): { id: string; summary: string }[] {
    return this.spec.tasks
      .filter((t) => this.task(t.id).status === 'completed')
      .map((t) => ({ id: t.id, summary: this.task(t.id).summary ?? t.description }));
  }

  /** The round is over: tasks that did not start will not start in it. */
  endRound(): void {
    for (const t of this.spec.tasks) {
      const s = this.task(t.id);
      if (s.status === 'pending') {
        s.status = 'not_started';
        this.report(t);
      }
    }
  }

  /** The gate runs when the phase has one that has not passed yet. */
  gateDue(): boolean {
    return this.spec.gate.commands.length > 0 && !this.gate?.passed;
  }

  async runGate(): Promise<GateResult> {
    const { runGate } = proxyActivities<typeof activities>(
      onWorkspaceHost({
        startToCloseTimeout: this.input.gateTimeoutMs * this.spec.gate.commands.length + 30_000,
        heartbeatTimeout: '30 seconds',
        retry: { maximumAttempts: 3, backoffCoefficient: 1.5 },
        summary: `validation gate of phase ${this.spec.slug} (${this.spec.gate.commands.length} command(s))`,
      }),
    );
    this.gate = await runGate({
      ctx: this.ctx,
      commands: this.spec.gate.commands,
      successCriteria: this.spec.gate.successCriteria,
      timeoutMs: this.input.gateTimeoutMs,
      run: workflowInfo().attempt,
    });
    this.render();
    return this.gate;
  }

  /** The phase ends as its failure reason says (a skip has set its own status). */
  settle(): void {
    if (this.status === 'active') this.status = this.failureReason ? 'failed' : 'completed';
  }

  async continueAsNew(): Promise<never> {
    await this.closeOutboxes();
    return continueAsNew<(input: PhaseInput) => Promise<PhaseOutcome>>({
      ...this.input,
      budgets: this.budgets,
      paused: this.paused,
      carry: {
        tasks: Object.fromEntries(this.tasks),
        desk: this.desk.carry,
        ...(this.input.git ? { git: this.git.carry } : {}),
      },
    });
  }

  /** Cancelled: once the running agents have stopped, every task and the plan hear of it. */
  async cancelled(running: Iterable<Promise<void>>): Promise<void> {
    await Promise.allSettled(running);
    this.status = 'cancelled';
    this.desk.withdraw();
    for (const t of this.spec.tasks) {
      const s = this.task(t.id);
      if (s.status === 'running' || s.status === 'pending') {
        s.status = s.status === 'running' ? 'cancelled' : 'not_started';
        this.report(t);
      }
    }
    this.render();
    await this.closeOutboxes();
  }

  /** The phase's result; it carries the last task updates and decisions, so the plan need not wait for their signals. */
  async outcome(): Promise<PhaseOutcome> {
    this.render();
    let updates: TaskUpdate[] | undefined;
    if (patched('phase-result-carries-updates')) {
      // The last updates travel in the result: no waiting for a signal round trip (~20-40 ms a phase).
      updates = this.toPlan.drain();
      this.decisionsToPlan.drain(); // the result carries the decisions too
    } else {
      await this.closeOutboxes();
    }
    return {
      status: this.status as PhaseOutcome['status'],
      ...(updates?.length ? { updates } : {}),
      ...(this.failureReason ? { failureReason: this.failureReason } : {}),
      gate: this.gate,
      tasks: this.spec.tasks.map((t) => ({
        id: t.id,
        status: this.task(t.id).status,
        attempts: this.task(t.id).attempts,
      })),
      usage: this.usage(),
      decisions: this.desk.records,
      ...(this.conflicts().length ? { conflicts: this.conflicts() } : {}),
      ...(this.debugRounds.length ? { gateDebug: this.debugRounds } : {}),
      ...(this.git.commit ? { commit: this.git.commit } : {}),
    };
  }

  /** Reports a task's state to the plan. */
  report(task: TaskSpec, extra: Partial<TaskUpdate> = {}): void {
    const s = this.task(task.id);
    this.toPlan.push({
      phaseIndex: this.ctx.phaseIndex,
      at: new Date().toISOString(),
      id: task.id,
      status: s.status,
      attempts: s.attempts,
      usage: s.usage,
      ...(s.error ? { error: s.error } : {}),
      ...extra,
    });
    this.render();
  }

  render(): void {
    const shown = shownStatus(this.status, { waiting: this.desk.pending !== undefined, paused: this.paused });
    this.shown = shown;
    this.statusAttribute.set(shown);
    setCurrentDetails(
      phaseDetails({
        ctx: this.ctx,
        phase: this.spec,
        settings: this.settings,
        tasks: this.tasks,
        status: shown,
        gate: this.gate,
        failureReason: this.failureReason,
        pending: this.desk.pending,
        usage: this.usage(),
        budgets: this.budgets,
        decisions: this.desk.records,
        apiWaits: this.apiWaits,
        ...(this.input.git ? { git: this.git.carry } : {}),
        debugRounds: this.debugRounds,
      }),
    );
  }

  private phaseSpent() {
    const u = this.usage();
    return {
      tokens: Math.max(totalTokens(u), this.ledgerSpent.tokens),
      usd: Math.max(u.costUsd, this.ledgerSpent.costUsd),
    };
  }

  private async closeOutboxes(): Promise<void> {
    await Promise.all([this.toPlan.close(), this.decisionsToPlan.close()]);
    await Promise.all(this.loops);
  }

  private statusNode(): StatusNode {
    return {
      level: 'phase',
      slug: this.spec.slug,
      title: this.spec.title,
      status: this.shown,
      tasksTotal: this.spec.tasks.length,
      tasksCompleted: [...this.tasks.values()].filter((s) => s.status === 'completed').length,
      usage: this.usage(),
      failureReason: this.failureReason,
      paused: this.paused,
      pending: this.desk.pending ? [this.desk.pending] : [],
      decisions: this.desk.records,
      ...(this.apiWaits.size
        ? { apiWaits: [...this.apiWaits].map(([taskId, w]) => ({ taskId, what: w.what, nextTryAt: w.nextTryAt })) }
        : {}),
      workflowId: workflowInfo().workflowId,
    };
  }
}
