/**
 * The state of a plan run, beside its workflow function (which runs the phases one at a time):
 * PROGRESS.json and the orchestrator state, written after every task change; the phases' task
 * updates and decisions taken in; pause and budget changes relayed down to the running phase;
 * each phase's end recorded.
 */
import {
  ApplicationFailure,
  ChildWorkflowFailure,
  isCancellation,
  patched,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { applyLimit, type BudgetLine } from '../domain/budget';
import { type ControlMessage, controlProblem, type DecisionRecord } from '../domain/decisions';
import { workflowIds } from '../domain/ids';
import { mirrorPaths } from '../domain/paths';
import { type EffectiveSettings, mergeSettings } from '../domain/settings';
import type { ExecutionSettings, PlanSpec } from '../domain/spec';
import { totalTokens } from '../domain/types';
import { planDetails } from './details';
import type { EpicContext } from './epic-context';
import { LevelLifecycle } from './lifecycle';
import {
  type ChildProgress,
  controlSignal,
  ignoredSignal,
  pendingQuery,
  type PhaseDecisionEvent,
  phaseDecisionProblem,
  phaseDecisionSignal,
  type StatusNode,
  statusQuery,
  taskUpdatesProblem,
  taskUpdatesSignal,
} from './messages';
import { MirrorWriter } from './mirror-writer';
import { acceptReplans } from './plan-replan';
import type { GithubSpec } from '../domain/github-spec';
import { gitBranch } from '../domain/git-names';
import { issueDoc } from './github-docs';
import { GithubSync, type GithubSyncCarry } from './github-sync';
import type { PhaseInput, PhaseOutcome } from './phase-run';
import {
  allTasks,
  applyTaskUpdate,
  countDone,
  initialPhaseState,
  initialPlanState,
  orchestratorStateDoc,
  type PhaseState,
  type PlanState,
  progressDoc,
  shownPlanStatus,
  sumUsage,
  type TaskUpdate,
} from './plan-state';

export interface PlanInput {
  epic: EpicContext;
  roadmapSlug: string;
  roadmapSettings?: ExecutionSettings;
  plan: PlanSpec;
  /** Budgets of the epic and roadmap, with what each had spent before this plan. */
  budgets?: BudgetLine[];
  paused?: boolean;
  /** The roadmap's `github` block (the plan's own wins, then the roadmap's, then the epic's). */
  roadmapGithub?: GithubSpec;
  /** Set when the plan continued as new. */
  carry?: {
    state: PlanState;
    revisions: { progress: number; orchestrator: number };
    budgets: BudgetLine[];
    github?: GithubSyncCarry;
  };
}

/** What a plan ends with: its counts, which the roadmap takes as final (skipped phases' tasks never ran). */
export interface PlanOutcome {
  status: 'completed';
  tasksCompleted: number;
  tasksTotal: number;
  /** Completed or skipped phases, as the plan's progress reports count them. */
  phasesCompleted: number;
  phasesTotal: number;
}

export class PlanRun {
  readonly state: PlanState;
  readonly settings: EffectiveSettings;
  /** Lines above (epic, roadmap) as they stood when this plan started, and the plan's own. */
  private readonly budgets: BudgetLine[];
  private readonly progress: MirrorWriter;
  private readonly orchestrator: MirrorWriter;
  private readonly lifecycle: LevelLifecycle;
  /** The GitHub issue sync (spec `github`), or none. */
  private readonly github?: GithubSync;

  constructor(private readonly input: PlanInput) {
    const { epic, plan, carry } = input;
    this.settings = mergeSettings(epic.settings, input.roadmapSettings, plan.settings);
    this.state =
      carry?.state ??
      initialPlanState({
        epicSlug: epic.slug,
        roadmapSlug: input.roadmapSlug,
        plan,
        workflowId: workflowInfo().workflowId,
        now: now(),
      });
    if (!carry) this.state.paused = input.paused ?? false;
    this.budgets = carry?.budgets ?? [
      ...(input.budgets ?? []),
      { level: 'plan', slug: plan.slug, limit: { ...plan.budget }, usedTokens: 0, usedUsd: 0 },
    ];
    this.progress = new MirrorWriter(
      'progress',
      epic.workspace,
      mirrorPaths.progress(plan.slug),
      (rev) => progressDoc(this.state, rev),
      carry?.revisions.progress,
    );
    this.orchestrator = new MirrorWriter(
      'state',
      epic.workspace,
      mirrorPaths.orchestratorPlan(epic.slug, plan.slug),
      (rev) => orchestratorStateDoc(this.state, rev, this.tokenLimit()),
      carry?.revisions.orchestrator,
    );
    this.lifecycle = new LevelLifecycle([this.progress, this.orchestrator]);
    const github = plan.github ?? input.roadmapGithub ?? epic.github;
    if (github) this.github = this.startGithub(github, carry?.github);
    setHandler(taskUpdatesSignal, (updates) => this.tasksUpdated(updates));
    setHandler(phaseDecisionSignal, (e) => this.phaseDecided(e));
    setHandler(controlSignal, (msg) => this.control(msg));
    setHandler(statusQuery, () => this.statusNode());
    setHandler(pendingQuery, () => (this.state.pending ? [this.state.pending] : []));
    acceptReplans({
      epic,
      roadmapSlug: input.roadmapSlug,
      plan: () => input.plan,
      state: this.state,
      apply: (next, change, record) => this.replanned(next, change.kept.length, record),
    });
  }

  /** A replan was accepted: phases from index `from` on are the new plan's; the loop reaches them between phases. */
  private replanned(next: PlanSpec, from: number, record: DecisionRecord): void {
    this.input.plan.phases.splice(from, Infinity, ...next.phases.slice(from));
    this.state.phases.splice(
      from,
      Infinity,
      ...next.phases.slice(from).map((p, k) => initialPhaseState(p, from + k + 1)),
    );
    this.addDecisions([record]);
    this.changed(true);
  }

  begin(): void {
    if (this.state.status === 'pending') this.state.status = 'active';
    this.changed(true);
  }

  isDone(phase: PhaseState): boolean {
    return phase.status === 'completed' || phase.status === 'skipped';
  }

  phaseStarts(phase: PhaseState): void {
    this.state.currentPhase = phase.index;
    phase.status = 'active';
    phase.startedAt = now();
    this.changed(true);
  }

  /** What the phase workflow starts with: its spec, the settings above it, and the budgets with this plan's spend so far. */
  phaseInput(phase: PhaseState): PhaseInput {
    const { epic, plan } = this.input;
    const spec = plan.phases[phase.index - 1];
    const spent = sumUsage(allTasks(this.state));
    return {
      ctx: {
        epicSlug: epic.slug,
        epicTitle: epic.title,
        roadmapSlug: this.input.roadmapSlug,
        planSlug: plan.slug,
        planTitle: plan.title,
        phaseSlug: spec.slug,
        phaseTitle: spec.title,
        phaseIndex: phase.index,
        workspace: epic.workspace,
        ...(epic.host ? { host: epic.host } : {}),
      },
      phase: spec,
      inherited: [epic.settings, this.input.roadmapSettings, plan.settings],
      agentMode: epic.agentMode,
      gateTimeoutMs: epic.gateTimeoutMs,
      requireApproval: epic.requirePhaseApproval,
      phasesTotal: this.state.phases.length,
      budgets: this.budgets.map((b) => ({
        ...b,
        usedTokens: b.usedTokens + totalTokens(spent),
        usedUsd: b.usedUsd + spent.costUsd,
      })),
      paused: this.state.paused,
      ...(epic.git ? { git: epic.git } : {}),
    };
  }

  /** The phase started: control messages are relayed to it until it ends. */
  phaseRunning<H extends { workflowId: string }>(handle: H): H {
    this.lifecycle.childStarted(handle.workflowId);
    return handle;
  }

  /** The phase workflow failed or could not start: a failed phase. A cancellation goes on up. */
  phaseWorkflowFailed(phase: PhaseState, err: unknown): PhaseOutcome {
    this.lifecycle.childEnded();
    if (isCancellation(err)) throw err;
    const reason =
      err instanceof ChildWorkflowFailure ? `${err.cause?.message ?? err.message}` : (err as Error).message;
    const phaseId = workflowIds.child(this.state.workflowId, phase.slug);
    return {
      status: 'failed',
      failureReason: `phase workflow ${phaseId} ended: ${reason}`,
      gate: null,
      tasks: [],
      usage: sumUsage(phase.tasks),
      decisions: [],
    };
  }

  /** Every phase ran (none failed): the plan is completed. */
  complete(): void {
    if (this.state.status === 'failed') return;
    this.state.status = 'completed';
    this.changed(true);
  }

  async cancelled(): Promise<void> {
    const { state } = this;
    state.status = 'cancelled';
    state.pending = undefined;
    const phase = state.phases[state.currentPhase - 1];
    if (phase && !['completed', 'skipped', 'failed'].includes(phase.status)) phase.status = 'cancelled';
    state.failureReason = 'cancelled';
    this.changed(true);
    await this.lifecycle.flush();
  }

  /** The carry for continue-as-new, after flushing the mirrors and the roadmap's progress. */
  async carry(): Promise<NonNullable<PlanInput['carry']>> {
    await this.lifecycle.flush();
    return {
      state: this.state,
      revisions: { progress: this.progress.writtenRevision, orchestrator: this.orchestrator.writtenRevision },
      budgets: this.budgets,
      ...(this.github ? { github: this.github.carry } : {}),
    };
  }

  /** Flushes the mirrors and the roadmap's progress, then ends the workflow as the state says. */
  async finish(): Promise<PlanOutcome> {
    if (this.github && this.state.status !== 'cancelled') await this.closeGithub(this.github);
    await this.lifecycle.flush();
    const { state } = this;
    if (state.status === 'failed')
      throw ApplicationFailure.nonRetryable(`plan ${state.planSlug}: ${state.failureReason}`, 'PlanFailed');
    const tasks = allTasks(state);
    return {
      status: 'completed',
      tasksCompleted: countDone(tasks),
      tasksTotal: tasks.length,
      phasesCompleted: phasesDone(state),
      phasesTotal: state.phases.length,
    };
  }

  /** Records how a phase ended; a failed phase fails the plan. */
  phaseEnded(phase: PhaseState, outcome: PhaseOutcome): void {
    this.lifecycle.childEnded();
    const { state } = this;
    // Updates the phase handed over in its result (maybe also received as a signal: harmless).
    for (const u of outcome.updates ?? []) applyTaskUpdate(state, u);
    // The phase's own result is authoritative for its tasks' final states and its decisions.
    for (const t of outcome.tasks) {
      const task = phase.tasks.find((x) => x.id === t.id);
      if (task && task.status !== t.status) {
        task.status = t.status;
        task.attempts = Math.max(task.attempts, t.attempts);
      }
    }
    this.addDecisions(outcome.decisions);
    state.pending = undefined;
    phase.gate = outcome.gate;
    if (outcome.gateDebug) phase.gateDebug = outcome.gateDebug;
    phase.status = outcome.status;
    phase.completedAt = now();
    if (outcome.failureReason) phase.failureReason = outcome.failureReason;
    if (outcome.commit) phase.commit = outcome.commit;
    if (outcome.status === 'failed') {
      state.status = 'failed';
      state.failureReason = `phase ${phase.index} (${phase.slug}) failed: ${outcome.failureReason}`;
    }
    this.changed(true);
  }

  /**
   * Every change rewrites the mirrors; the roadmap hears of status changes, questions and phase
   * completions, not every task, so the histories above stay small however many tasks an epic has.
   */
  private changed(statusChange: boolean, extra: Partial<ChildProgress> = {}): void {
    this.state.updated = now();
    this.lifecycle.changed(statusChange ? { ...this.snapshot(), ...extra } : undefined);
    this.lifecycle.status.set(shownPlanStatus(this.state));
    this.github?.changed();
    setCurrentDetails(planDetails(this.state, mirrorPaths.progress(this.state.planSlug)));
  }

  private snapshot(): ChildProgress {
    const { state } = this;
    const tasks = allTasks(state);
    return {
      slug: state.planSlug,
      status: state.status,
      tasksTotal: tasks.length,
      tasksCompleted: countDone(tasks),
      phasesTotal: state.phases.length,
      phasesCompleted: phasesDone(state),
      usage: sumUsage(tasks),
      current: state.phases[state.currentPhase - 1]?.title,
      ...(state.failureReason ? { failureReason: state.failureReason } : {}),
      pending: state.pending ? [state.pending] : [],
      paused: state.paused,
    };
  }

  /** state.json's tokenBudget.limit: the nearest live token limit (plan, else roadmap, else epic), raises included. */
  private tokenLimit(): number | undefined {
    return (['plan', 'roadmap', 'epic'] as const)
      .map((level) => this.budgets.find((b) => b.level === level)?.limit.tokens)
      .find((t) => t !== undefined);
  }

  /** Decisions arrive by signal and again in the phase's result: keep each once. */
  private addDecisions(records: DecisionRecord[]): void {
    const known = new Set(this.state.decisions.map((d) => `${d.id}/${d.action}`));
    this.state.decisions.push(...records.filter((d) => !known.has(`${d.id}/${d.action}`)));
  }

  private tasksUpdated(updates: TaskUpdate[]): void {
    if (ignoredSignal('taskUpdates', taskUpdatesProblem(updates))) return;
    let any = false;
    for (const u of updates) any = applyTaskUpdate(this.state, u) || any;
    // While the plan waits or is paused, the levels above hear of the last tasks' spend too (their
    // updates may arrive after the question did), so every level shows the same usage.
    if (any)
      this.changed((this.state.pending !== undefined || this.state.paused) && patched('plan-usage-up-while-waiting'));
  }

  private phaseDecided(e: PhaseDecisionEvent): void {
    if (ignoredSignal('phaseDecision', phaseDecisionProblem(e))) return;
    this.addDecisions(e.records);
    const phase = this.state.phases[e.phaseIndex - 1];
    // A late signal from a phase that has ended (its result came first) changes nothing else.
    if (phase && (phase.status === 'active' || phase.status === 'waiting')) {
      this.state.pending = e.pending ?? undefined;
      phase.status = e.pending ? 'waiting' : 'active';
      if (e.gate !== undefined) phase.gate = e.gate;
    }
    const raised = e.raisedLimits ?? {};
    for (const level of ['epic', 'roadmap', 'plan'] as const) {
      const limit = raised[level];
      if (limit) applyLimit(this.budgets, { level, ...limit });
    }
    this.changed(
      true,
      raised.epic || raised.roadmap ? { raisedLimits: { epic: raised.epic, roadmap: raised.roadmap } } : {},
    );
  }

  private control(msg: ControlMessage): void {
    if (ignoredSignal('control', controlProblem(msg))) return;
    if (msg.paused !== undefined) this.state.paused = msg.paused;
    if (msg.budget) applyLimit(this.budgets, msg.budget);
    this.lifecycle.relay(msg);
    this.changed(true);
  }

  /** The sync beside the plan; the issue's number and link go to the mirrors as soon as it has them. */
  private startGithub(spec: GithubSpec, carry?: GithubSyncCarry): GithubSync {
    const { epic } = this.input;
    this.state.github ??= { owner: spec.owner, repo: spec.repo, ...(spec.issue ? { issue: spec.issue } : {}) };
    const sync: GithubSync = new GithubSync(
      spec,
      `${epic.slug}/${this.state.planSlug}`,
      () =>
        issueDoc(this.state, spec, {
          pullRequest: sync.pullRequest,
          sharedIssue: !!spec.issue && !this.input.plan.github,
          ...(epic.git ? { gitBranch: gitBranch(epic.git, epic.slug) } : {}),
        }),
      () => this.state.pending,
      () => {
        const c = sync.carry;
        this.state.github = {
          owner: spec.owner,
          repo: spec.repo,
          ...(c.issue ? { issue: c.issue } : {}),
          ...(c.url ? { url: c.url } : {}),
          ...(c.pullRequest ? { pullRequest: c.pullRequest } : {}),
          lastSyncAt: now(),
        };
        this.changed(false);
      },
      carry,
    );
    return sync;
  }

  /** The plan ended: its pull request (a completed plan, spec `pullRequest` and `git`), then the last sync. */
  private async closeGithub(sync: GithubSync): Promise<void> {
    const { epic, plan } = this.input;
    const completed = this.state.status === 'completed';
    await sync.close(
      completed && epic.git
        ? {
            workspace: epic.workspace,
            branch: gitBranch(epic.git, epic.slug),
            title: `phaseflow: ${plan.title} (plan ${plan.slug} of epic ${epic.slug})`,
            body: pullRequestBody(this.state, sync.issue),
          }
        : undefined,
    );
  }

  private statusNode(): StatusNode {
    const { state } = this;
    const tasks = allTasks(state);
    const usage = sumUsage(tasks);
    const own = this.budgets.find((b) => b.level === 'plan');
    return {
      level: 'plan',
      slug: state.planSlug,
      title: state.title,
      status: shownPlanStatus(state),
      tasksTotal: tasks.length,
      tasksCompleted: countDone(tasks),
      usage,
      failureReason: state.failureReason,
      paused: state.paused,
      pending: state.pending ? [state.pending] : [],
      decisions: state.decisions,
      ...(this.github ? { github: this.github.statusNode() } : {}),
      ...(own ? { budget: { limit: own.limit, usedTokens: totalTokens(usage), usedUsd: usage.costUsd } } : {}),
      workflowId: state.workflowId,
      children: state.phases.map((p) => ({
        level: 'phase' as const,
        slug: p.slug,
        title: p.title,
        status: p.status,
        tasksTotal: p.tasks.length,
        tasksCompleted: countDone(p.tasks),
        usage: sumUsage(p.tasks),
        failureReason: p.failureReason,
        ...(p.source ? { source: p.source } : {}),
        ...(p.commit ? { commit: p.commit } : {}),
        workflowId: workflowIds.child(state.workflowId, p.slug),
      })),
    };
  }
}

const now = () => new Date().toISOString();
/** Completed or skipped phases, as the plan's progress reports count them. */
const phasesDone = (state: PlanState) =>
  state.phases.filter((p) => p.status === 'completed' || p.status === 'skipped').length;

/** A pull request's body: each phase's summary, gate evidence and commit, and the usage. */
function pullRequestBody(state: PlanState, issue?: number): string {
  const tasks = allTasks(state);
  return [
    `Plan **${state.planSlug}** (${state.title}) of epic **${state.epicSlug}**, run by phaseflow.${issue ? ` Progress: #${issue}.` : ''}`,
    '',
    ...state.phases.map((p) => {
      const gate = p.gate
        ? ` · gate ${p.gate.passed ? 'passed' : 'failed'} (${p.gate.checks.map((c) => `\`${c.command}\` exit ${c.exitCode}`).join(', ')})`
        : '';
      return `- Phase ${p.index}: ${p.title}: ${p.status}, ${countDone(p.tasks)}/${p.tasks.length} tasks${gate}${p.commit ? ` · ${p.commit.slice(0, 7)}` : ''}`;
    }),
    '',
    `Usage: ${totalTokens(sumUsage(tasks)).toLocaleString('en-US')} tokens, $${sumUsage(tasks).costUsd.toFixed(4)}`,
  ].join('\n');
}
