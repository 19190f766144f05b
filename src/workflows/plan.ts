/**
 * A plan (CCASP's phase-dev-plan): phases strictly one at a time, each a child workflow. Phase N+1
 * starts only after phase N completed (or a person skipped it); a failed or aborted phase stops
 * the plan. The plan owns PROGRESS.json and the orchestrator state, written after every task
 * change, and passes pause/budget changes down to the running phase. Between phases it continues
 * as new when its history grows large.
 */
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { applyLimit, type BudgetLine } from '../domain/budget';
import { type ControlMessage, controlProblem, type DecisionRecord } from '../domain/decisions';
import { workflowIds } from '../domain/ids';
import { mirrorPaths } from '../domain/paths';
import { SA } from '../domain/search-attributes';
import { mergeSettings } from '../domain/settings';
import type { ExecutionSettings, PlanSpec } from '../domain/spec';
import { totalTokens } from '../domain/types';
import { bar, pendingMarkdown, STATUS_ICON, usageLine } from './details';
import type { EpicContext } from './epic-context';
import {
  childProgressSignal,
  type ChildProgress,
  controlSignal,
  ignoredSignal,
  pendingQuery,
  phaseDecisionProblem,
  phaseDecisionSignal,
  type StatusNode,
  statusQuery,
  taskUpdatesProblem,
  taskUpdatesSignal,
} from './messages';
import { MirrorWriter } from './mirror-writer';
import { Outbox } from './outbox';
import { type PhaseOutcome, phaseWorkflow } from './phase';
import { allTasks, applyTaskUpdate, countDone, initialPlanState, orchestratorStateDoc, type PlanState, progressDoc, shownPlanStatus, sumUsage } from './plan-state';

export interface PlanInput {
  epic: EpicContext;
  roadmapSlug: string;
  roadmapSettings?: ExecutionSettings;
  plan: PlanSpec;
  /** Budgets of the epic and roadmap, with what each had spent before this plan. */
  budgets?: BudgetLine[];
  paused?: boolean;
  /** Set when the plan continued as new. */
  carry?: { state: PlanState; revisions: { progress: number; orchestrator: number }; budgets: BudgetLine[] };
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

const phasesDone = (state: PlanState) => state.phases.filter((p) => p.status === 'completed' || p.status === 'skipped').length;

export async function planWorkflow(input: PlanInput): Promise<PlanOutcome> {
  const { epic, plan } = input;
  const now = () => new Date().toISOString();
  const wfId = workflowInfo().workflowId;
  const settings = mergeSettings(epic.settings, input.roadmapSettings, plan.settings);
  const state: PlanState = input.carry?.state ?? initialPlanState({ epicSlug: epic.slug, roadmapSlug: input.roadmapSlug, plan, workflowId: wfId, now: now() });
  if (!input.carry) state.paused = input.paused ?? false;
  // Lines above (epic, roadmap) as they stood when this plan started, and the plan's own.
  const budgets: BudgetLine[] = input.carry?.budgets ?? [
    ...(input.budgets ?? []),
    { level: 'plan', slug: plan.slug, limit: { ...plan.budget }, usedTokens: 0, usedUsd: 0 },
  ];
  // state.json's tokenBudget.limit: the nearest live token limit (plan, else roadmap, else epic), raises included.
  const tokenLimit = () => (['plan', 'roadmap', 'epic'] as const).map((level) => budgets.find((b) => b.level === level)?.limit.tokens).find((t) => t !== undefined);

  const progress = new MirrorWriter('progress', epic.workspace, mirrorPaths.progress(plan.slug), (rev) => progressDoc(state, rev), input.carry?.revisions.progress);
  const orchestrator = new MirrorWriter(
    'state',
    epic.workspace,
    mirrorPaths.orchestratorState(),
    (rev) => orchestratorStateDoc(state, rev, tokenLimit()),
    input.carry?.revisions.orchestrator,
  );
  const writers = [progress, orchestrator];
  const loops = writers.map((w) => w.run());
  const toRoadmap = new Outbox<ChildProgress>(childProgressSignal, (batch) => ({
    ...batch[batch.length - 1],
    raisedLimits: Object.assign({}, ...batch.map((b) => b.raisedLimits ?? {})),
  }));
  const outboxLoop = toRoadmap.run();
  let currentPhaseId: string | undefined;

  const shownStatus = () => shownPlanStatus(state);
  const snapshot = (): ChildProgress => {
    const tasks = allTasks(state);
    return {
      slug: plan.slug,
      status: state.status === 'cancelled' ? 'cancelled' : ['completed', 'failed', 'pending'].includes(state.status) ? (state.status as ChildProgress['status']) : 'active',
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
  };
  let saStatus = '';
  const changed = (statusChange: boolean, extra: Partial<ChildProgress> = {}) => {
    state.updated = now();
    writers.forEach((w) => w.markDirty());
    const shown = shownStatus();
    if (shown !== saStatus) {
      saStatus = shown;
      upsertSearchAttributes([{ key: SA.status, value: shown }]);
    }
    render();
    // Levels above hear of status changes, questions and phase completions, not every task:
    // their histories stay small however many tasks an epic has.
    if (statusChange) toRoadmap.push({ ...snapshot(), ...extra });
  };
  const render = () => {
    const tasks = allTasks(state);
    setCurrentDetails(
      [
        `### Plan ${plan.title}`,
        `**${shownStatus()}** · ${bar(countDone(tasks), tasks.length)} · ${usageLine(sumUsage(tasks))}`,
        ...(state.failureReason ? ['', `**Failed:** ${state.failureReason}`] : []),
        ...(state.pending ? ['', ...pendingMarkdown([state.pending])] : []),
        '',
        ...state.phases.map((p) => `- ${STATUS_ICON[p.status] ?? ''} Phase ${p.index}: ${p.title} · ${countDone(p.tasks)}/${p.tasks.length} tasks${p.gate ? ` · gate ${p.gate.passed ? 'passed' : 'failed'}` : ''}`),
        '',
        `Mirror: \`${mirrorPaths.progress(plan.slug)}\``,
      ].join('\n'),
    );
  };

  /** Decisions arrive by signal and again in the phase's result: keep each once. */
  const addDecisions = (records: DecisionRecord[]) => {
    const known = new Set(state.decisions.map((d) => `${d.id}/${d.action}`));
    state.decisions.push(...records.filter((d) => !known.has(`${d.id}/${d.action}`)));
  };

  setHandler(taskUpdatesSignal, (updates) => {
    if (ignoredSignal('taskUpdates', taskUpdatesProblem(updates))) return;
    let any = false;
    for (const u of updates) any = applyTaskUpdate(state, u) || any;
    // While the plan waits or is paused, the levels above hear of the last tasks' spend too (their
    // updates may arrive after the question did), so every level shows the same usage.
    if (any) changed((state.pending !== undefined || state.paused) && patched('plan-usage-up-while-waiting'));
  });
  setHandler(phaseDecisionSignal, (e) => {
    if (ignoredSignal('phaseDecision', phaseDecisionProblem(e))) return;
    addDecisions(e.records);
    const phase = state.phases[e.phaseIndex - 1];
    // A late signal from a phase that has ended (its result came first) changes nothing else.
    if (phase && (phase.status === 'active' || phase.status === 'waiting')) {
      state.pending = e.pending ?? undefined;
      phase.status = e.pending ? 'waiting' : 'active';
      if (e.gate !== undefined) phase.gate = e.gate;
    }
    const raised = e.raisedLimits ?? {};
    for (const level of ['epic', 'roadmap', 'plan'] as const) {
      const limit = raised[level];
      if (limit) applyLimit(budgets, { level, ...limit });
    }
    changed(true, raised.epic || raised.roadmap ? { raisedLimits: { epic: raised.epic, roadmap: raised.roadmap } } : {});
  });
  setHandler(controlSignal, (msg: ControlMessage) => {
    if (ignoredSignal('control', controlProblem(msg))) return;
    if (msg.paused !== undefined) state.paused = msg.paused;
    if (msg.budget) applyLimit(budgets, msg.budget);
    if (currentPhaseId) void getExternalWorkflowHandle(currentPhaseId).signal(controlSignal, msg).catch(() => undefined);
    changed(true);
  });
  setHandler(statusQuery, (): StatusNode => planStatusNode(state, shownStatus(), budgets));
  setHandler(pendingQuery, () => (state.pending ? [state.pending] : []));

  if (state.status === 'pending') state.status = 'active';
  changed(true);

  const flush = async () => {
    await Promise.all(writers.map((w) => w.close()));
    await Promise.all(loops);
    await toRoadmap.close();
    await outboxLoop;
  };

  try {
    for (const phase of state.phases) {
      if (phase.status === 'completed' || phase.status === 'skipped') continue;
      if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > settings.historyEventsLimit) {
        await flush();
        await continueAsNew<typeof planWorkflow>({
          ...input,
          carry: { state, revisions: { progress: progress.writtenRevision, orchestrator: orchestrator.writtenRevision }, budgets },
        });
      }
      const spec = plan.phases[phase.index - 1];
      state.currentPhase = phase.index;
      phase.status = 'active';
      phase.startedAt = now();
      changed(true);
      const phaseId = workflowIds.child(wfId, spec.slug);
      const spent = sumUsage(allTasks(state));
      let outcome: PhaseOutcome;
      try {
        const handle = await startChild(phaseWorkflow, {
          workflowId: phaseId,
          args: [
            {
              ctx: {
                epicSlug: epic.slug,
                epicTitle: epic.title,
                roadmapSlug: input.roadmapSlug,
                planSlug: plan.slug,
                planTitle: plan.title,
                phaseSlug: spec.slug,
                phaseTitle: spec.title,
                phaseIndex: phase.index,
                workspace: epic.workspace,
              },
              phase: spec,
              inherited: [epic.settings, input.roadmapSettings, plan.settings],
              agentMode: epic.agentMode,
              gateTimeoutMs: epic.gateTimeoutMs,
              requireApproval: epic.requirePhaseApproval,
              phasesTotal: state.phases.length,
              budgets: budgets.map((b) => ({ ...b, usedTokens: b.usedTokens + totalTokens(spent), usedUsd: b.usedUsd + spent.costUsd })),
              paused: state.paused,
            },
          ],
          staticSummary: `Phase ${phase.index}/${state.phases.length} of plan ${plan.slug}: ${spec.title} (${spec.tasks.length} tasks)`,
          staticDetails: spec.description || undefined,
          typedSearchAttributes: [
            { key: SA.epic, value: epic.slug },
            { key: SA.roadmap, value: input.roadmapSlug },
            { key: SA.plan, value: plan.slug },
            { key: SA.phase, value: spec.slug },
            { key: SA.level, value: 'phase' },
            { key: SA.status, value: 'active' },
          ],
        });
        currentPhaseId = phaseId;
        // A pause that arrived while the phase was starting.
        if (state.paused) await handle.signal(controlSignal, { paused: true });
        outcome = await handle.result();
      } catch (err) {
        if (isCancellation(err)) throw err;
        const reason = err instanceof ChildWorkflowFailure ? `${err.cause?.message ?? err.message}` : (err as Error).message;
        outcome = { status: 'failed', failureReason: `phase workflow ${phaseId} ended: ${reason}`, gate: null, tasks: [], usage: sumUsage(phase.tasks), decisions: [] };
      } finally {
        currentPhaseId = undefined;
      }
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
      addDecisions(outcome.decisions);
      state.pending = undefined;
      phase.gate = outcome.gate;
      phase.status = outcome.status;
      phase.completedAt = now();
      if (outcome.failureReason) phase.failureReason = outcome.failureReason;
      if (outcome.status === 'failed') {
        state.status = 'failed';
        state.failureReason = `phase ${phase.index} (${phase.slug}) failed: ${outcome.failureReason}`;
        changed(true);
        break;
      }
      changed(true);
    }
    if (state.status !== 'failed') {
      state.status = 'completed';
      changed(true);
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(async () => {
      state.status = 'cancelled';
      state.pending = undefined;
      const phase = state.phases[state.currentPhase - 1];
      if (phase && !['completed', 'skipped', 'failed'].includes(phase.status)) phase.status = 'cancelled';
      state.failureReason = 'cancelled';
      changed(true);
      await flush();
    });
    throw err;
  }

  await flush();
  if (state.status === 'failed') throw ApplicationFailure.nonRetryable(`plan ${plan.slug}: ${state.failureReason}`, 'PlanFailed');
  const tasks = allTasks(state);
  return { status: 'completed', tasksCompleted: countDone(tasks), tasksTotal: tasks.length, phasesCompleted: phasesDone(state), phasesTotal: state.phases.length };
}

function planStatusNode(state: PlanState, status: string, budgets: BudgetLine[]): StatusNode {
  const tasks = allTasks(state);
  const usage = sumUsage(tasks);
  const own = budgets.find((b) => b.level === 'plan');
  return {
    level: 'plan',
    slug: state.planSlug,
    title: state.title,
    status,
    tasksTotal: tasks.length,
    tasksCompleted: countDone(tasks),
    usage,
    failureReason: state.failureReason,
    paused: state.paused,
    pending: state.pending ? [state.pending] : [],
    decisions: state.decisions,
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
      workflowId: workflowIds.child(state.workflowId, p.slug),
    })),
  };
}
