/**
 * A plan (CCASP's phase-dev-plan): phases strictly one at a time, each a child workflow. Phase N+1
 * starts only after phase N completed and passed its gate; a failed phase stops the plan.
 * The plan owns PROGRESS.json and the orchestrator state, written after every task change.
 */
import {
  ApplicationFailure,
  ChildWorkflowFailure,
  executeChild,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { workflowIds } from '../domain/ids';
import { mirrorPaths } from '../domain/paths';
import { SA } from '../domain/search-attributes';
import type { ExecutionSettings, PlanSpec } from '../domain/spec';
import { bar, STATUS_ICON, usageLine } from './details';
import type { EpicContext } from './epic-context';
import { childProgressSignal, type ChildProgress, type StatusNode, statusQuery, taskUpdatesSignal } from './messages';
import { MirrorWriter } from './mirror-writer';
import { Outbox } from './outbox';
import { type PhaseOutcome, phaseWorkflow } from './phase';
import { allTasks, applyTaskUpdate, countDone, initialPlanState, orchestratorStateDoc, progressDoc, sumUsage } from './plan-state';

export interface PlanInput {
  epic: EpicContext;
  roadmapSlug: string;
  roadmapSettings?: ExecutionSettings;
  plan: PlanSpec;
}

export interface PlanOutcome {
  status: 'completed';
  tasksCompleted: number;
}

export async function planWorkflow(input: PlanInput): Promise<PlanOutcome> {
  const { epic, plan } = input;
  const now = () => new Date().toISOString();
  const state = initialPlanState({ epicSlug: epic.slug, roadmapSlug: input.roadmapSlug, plan, workflowId: workflowInfo().workflowId, now: now() });

  const progress = new MirrorWriter('progress', epic.workspace, mirrorPaths.progress(plan.slug), (rev) => progressDoc(state, rev));
  const orchestrator = new MirrorWriter('state', epic.workspace, mirrorPaths.orchestratorState(), (rev) => orchestratorStateDoc(state, rev, epic.budget.tokens));
  const writers = [progress, orchestrator];
  const loops = writers.map((w) => w.run());
  const toRoadmap = new Outbox<ChildProgress>(childProgressSignal, (batch) => batch[batch.length - 1]);
  const outboxLoop = toRoadmap.run();

  const snapshot = (): ChildProgress => {
    const tasks = allTasks(state);
    return {
      slug: plan.slug,
      status: state.status === 'paused' ? 'active' : state.status,
      tasksTotal: tasks.length,
      tasksCompleted: countDone(tasks),
      phasesTotal: state.phases.length,
      phasesCompleted: state.phases.filter((p) => p.status === 'completed').length,
      usage: sumUsage(tasks),
      current: state.phases[state.currentPhase - 1]?.title,
      ...(state.failureReason ? { failureReason: state.failureReason } : {}),
    };
  };
  const changed = (statusChange: boolean) => {
    state.updated = now();
    writers.forEach((w) => w.markDirty());
    render();
    // Levels above hear of status changes and phase completions, not every task: their
    // histories stay small however many tasks an epic has.
    if (statusChange) toRoadmap.push(snapshot());
  };
  const render = () => {
    const tasks = allTasks(state);
    setCurrentDetails(
      [
        `### Plan ${plan.title}`,
        `**${state.status}** · ${bar(countDone(tasks), tasks.length)} · ${usageLine(sumUsage(tasks))}`,
        ...(state.failureReason ? ['', `**Failed:** ${state.failureReason}`] : []),
        '',
        ...state.phases.map((p) => `- ${STATUS_ICON[p.status] ?? ''} Phase ${p.index}: ${p.title} · ${countDone(p.tasks)}/${p.tasks.length} tasks${p.gate ? ` · gate ${p.gate.passed ? 'passed' : 'failed'}` : ''}`),
        '',
        `Mirror: \`${mirrorPaths.progress(plan.slug)}\``,
      ].join('\n'),
    );
  };

  setHandler(taskUpdatesSignal, (updates) => {
    let any = false;
    for (const u of updates) any = applyTaskUpdate(state, u) || any;
    if (any) changed(false);
  });
  setHandler(statusQuery, (): StatusNode => planStatusNode(state));

  state.status = 'active';
  changed(true);

  for (const phase of state.phases) {
    const spec = plan.phases[phase.index - 1];
    state.currentPhase = phase.index;
    phase.status = 'active';
    phase.startedAt = now();
    changed(true);
    const phaseId = workflowIds.child(workflowInfo().workflowId, spec.slug);
    let outcome: PhaseOutcome;
    try {
      outcome = await executeChild(phaseWorkflow, {
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
    } catch (err) {
      const reason = err instanceof ChildWorkflowFailure ? `${err.cause?.message ?? err.message}` : (err as Error).message;
      outcome = { status: 'failed', failureReason: `phase workflow ${phaseId} ended: ${reason}`, gate: null, tasks: [], usage: sumUsage(phase.tasks) };
    }
    // The phase's own result is authoritative for its tasks' final states.
    for (const t of outcome.tasks) {
      const task = phase.tasks.find((x) => x.id === t.id);
      if (task && task.status !== t.status) {
        task.status = t.status;
        task.attempts = Math.max(task.attempts, t.attempts);
      }
    }
    phase.gate = outcome.gate;
    phase.status = outcome.status;
    phase.completedAt = now();
    if (outcome.status === 'failed') {
      phase.failureReason = outcome.failureReason;
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
  upsertSearchAttributes([{ key: SA.status, value: state.status }]);
  await Promise.all(writers.map((w) => w.close()));
  await Promise.all(loops);
  await toRoadmap.close();
  await outboxLoop;
  if (state.status === 'failed') throw ApplicationFailure.nonRetryable(`plan ${plan.slug}: ${state.failureReason}`, 'PlanFailed');
  return { status: 'completed', tasksCompleted: countDone(allTasks(state)) };
}

function planStatusNode(state: ReturnType<typeof initialPlanState>): StatusNode {
  const tasks = allTasks(state);
  return {
    level: 'plan',
    slug: state.planSlug,
    title: state.title,
    status: state.status,
    tasksTotal: tasks.length,
    tasksCompleted: countDone(tasks),
    usage: sumUsage(tasks),
    failureReason: state.failureReason,
    children: state.phases.map((p) => ({
      level: 'phase' as const,
      slug: p.slug,
      title: p.title,
      status: p.status,
      tasksTotal: p.tasks.length,
      tasksCompleted: countDone(p.tasks),
      usage: sumUsage(p.tasks),
      failureReason: p.failureReason,
    })),
  };
}
