/**
 * What a plan workflow knows about its phases and tasks, and how that renders into PROGRESS.json
 * and .claude/orchestrator/state.json. Pure functions: no I/O, no clocks (callers pass `now`).
 */
import { fileConflicts } from '../domain/shared-files';
import type { DecisionRecord, PendingDecision } from '../domain/decisions';
import type { OrchestratorStateDoc, ProgressDoc, ProgressTaskDoc, UsageDoc } from '../domain/mirrors';
import type { PhaseSpec, PlanSpec } from '../domain/spec';
import { addUsage, type GateResult, type Usage, ZERO_USAGE } from '../domain/types';
import { completionPercent } from '../domain/format';
import { mirrorPaths } from '../domain/paths';
import {
  ccaspStatus,
  type PhaseStatus,
  type RunStatus,
  type ShownStatus,
  shownStatus,
  type TaskStatus,
} from '../domain/status';

export interface TaskState {
  id: string;
  description: string;
  kind: 'agent' | 'command';
  domain: 'frontend' | 'backend' | 'testing' | 'deployment' | 'general';
  agent?: string;
  dependsOn: string[];
  files: string[];
  status: TaskStatus;
  attempts: number;
  summary?: string;
  detailsFile?: string;
  error?: string;
  usage: Usage;
  durationMs?: number;
  startedAt?: string;
  completedAt?: string;
  /** Set when the task was done before this run (an imported plan): "imported". */
  source?: string;
  /** Paths its agent wrote (for `conflicts`); model requests retried after API weather and the time waited. */
  changedPaths?: string[];
  apiRetries?: number;
  apiWaitMs?: number;
}

/** A change to one task, sent from a phase workflow to its plan (signal `taskUpdates`). */
export type TaskUpdate = { phaseIndex: number; at: string } & Pick<TaskState, 'id' | 'status' | 'attempts'> &
  Partial<
    Pick<
      TaskState,
      'summary' | 'detailsFile' | 'error' | 'usage' | 'durationMs' | 'changedPaths' | 'apiRetries' | 'apiWaitMs'
    >
  >;

export interface PhaseState {
  index: number; // 1-based
  slug: string;
  title: string;
  status: PhaseStatus;
  tasks: TaskState[];
  successCriteria: string[];
  gate: GateResult | null;
  failureReason?: string;
  startedAt?: string;
  completedAt?: string;
  /** Set when the phase was done before this run (an imported plan): "imported". */
  source?: string;
  /** Debug-agent rounds after a failed gate (settings.gateDebugAttempts). */
  gateDebug?: { round: number; taskId: string; status: string; summary?: string; gatePassed: boolean }[];
  /** Its commit on the epic's branch (spec `git`). */
  commit?: string;
}

export interface PlanState {
  epicSlug: string;
  roadmapSlug: string;
  planSlug: string;
  title: string;
  workflowId: string;
  status: RunStatus;
  currentPhase: number; // 1-based index of the phase running or last run
  created: string;
  updated: string;
  failureReason?: string;
  phases: PhaseState[];
  /** Every decision taken in this plan, by whom (person, default, detector). */
  decisions: DecisionRecord[];
  /** The question the running phase waits on. */
  pending?: PendingDecision;
  /** The GitHub issue the plan syncs to, and its pull request (spec `github`). */
  github?: { owner: string; repo: string; issue?: number; url?: string; pullRequest?: string; lastSyncAt?: string };
  paused: boolean;
}

export function initialTaskState(t: PhaseSpec['tasks'][number]): TaskState {
  return {
    id: t.id,
    description: t.description,
    kind: t.kind,
    domain: t.domain,
    agent: t.agent,
    dependsOn: t.dependsOn,
    files: t.files,
    // A task an imported plan marks done never runs; it shows completed with its source.
    status: t.status === 'completed' ? 'completed' : 'pending',
    attempts: 0,
    usage: ZERO_USAGE,
    ...(t.status === 'completed' ? { source: t.source ?? 'imported' } : {}),
  };
}

export function initialPlanState(args: {
  epicSlug: string;
  roadmapSlug: string;
  plan: PlanSpec;
  workflowId: string;
  now: string;
}): PlanState {
  return {
    epicSlug: args.epicSlug,
    roadmapSlug: args.roadmapSlug,
    planSlug: args.plan.slug,
    title: args.plan.title,
    workflowId: args.workflowId,
    status: 'pending',
    currentPhase: 1,
    decisions: [],
    paused: false,
    created: args.now,
    updated: args.now,
    phases: args.plan.phases.map((p, i) => initialPhaseState(p, i + 1)),
  };
}

/** A phase as the plan first knows it (at the start, or added by a replan). */
export function initialPhaseState(p: PhaseSpec, index: number): PhaseState {
  return {
    index,
    slug: p.slug,
    title: p.title,
    // A phase an imported plan marks done (or skipped) starts no child workflow: isDone() passes over it.
    status: p.status === 'completed' || p.status === 'skipped' ? p.status : 'pending',
    ...(p.status === 'completed' || p.status === 'skipped' ? { source: p.source ?? 'imported' } : {}),
    tasks: p.tasks.map(initialTaskState),
    successCriteria: p.gate.successCriteria,
    gate: null,
  };
}

/** Applies a task update; a stale update (fewer attempts, or a terminal state overwritten) is ignored. */
export function applyTaskUpdate(plan: PlanState, u: TaskUpdate): boolean {
  const task = plan.phases[u.phaseIndex - 1]?.tasks.find((t) => t.id === u.id);
  if (!task) return false;
  if (u.attempts < task.attempts) return false;
  if (
    u.attempts === task.attempts &&
    (task.status === 'completed' || task.status === 'failed') &&
    u.status === 'running'
  )
    return false;
  task.status = u.status;
  task.attempts = u.attempts;
  if (u.status === 'running' && !task.startedAt) task.startedAt = u.at;
  if (u.status === 'completed' || u.status === 'failed') task.completedAt = u.at;
  if (u.summary !== undefined) task.summary = u.summary;
  if (u.detailsFile !== undefined) task.detailsFile = u.detailsFile;
  if (u.error !== undefined) task.error = u.error;
  // A task that completed after a failed attempt keeps no error; the attempts count tells the story.
  if (u.status === 'completed') delete task.error;
  if (u.usage !== undefined) task.usage = u.usage;
  if (u.durationMs !== undefined) task.durationMs = u.durationMs;
  if (u.changedPaths !== undefined) task.changedPaths = u.changedPaths;
  if (u.apiRetries !== undefined) task.apiRetries = u.apiRetries;
  if (u.apiWaitMs !== undefined) task.apiWaitMs = u.apiWaitMs;
  plan.updated = u.at;
  return true;
}

export const allTasks = (plan: PlanState) => plan.phases.flatMap((p) => p.tasks);
export const countDone = (tasks: TaskState[]) => tasks.filter((t) => t.status === 'completed').length;
export const sumUsage = (tasks: TaskState[]) => tasks.reduce((u, t) => addUsage(u, t.usage), ZERO_USAGE);

/** See completionPercent: one rule for every level. */
export const percent = completionPercent;

export function usageDoc(u: Usage): UsageDoc {
  return {
    input_tokens: u.inputTokens,
    output_tokens: u.outputTokens,
    cache_write_tokens: u.cacheWriteTokens,
    cache_read_tokens: u.cacheReadTokens,
    cost_usd: u.costUsd,
    ...(u.simulated ? { simulated: true as const } : {}),
  };
}

function taskType(t: TaskState): ProgressTaskDoc['task_type'] {
  if (t.domain === 'testing') return 'testing';
  return t.kind === 'command' ? 'validation' : 'implementation';
}

/** What the plan shows (mirrors, search attribute, status tree). */
export const shownPlanStatus = (plan: PlanState): ShownStatus =>
  shownStatus(plan.status, { waiting: plan.pending !== undefined, paused: plan.paused });

/** A paused plan holds its running phase too (it takes no new tasks); a phase's own `waiting` comes from the phase. */
const shownPhaseStatus = (plan: PlanState, p: PhaseState): PhaseStatus =>
  shownStatus(p.status, { waiting: false, paused: plan.paused });

export function progressDoc(plan: PlanState, revision: number): ProgressDoc {
  const tasks = allTasks(plan);
  const current = plan.phases[plan.currentPhase - 1];
  return {
    plan_id: plan.planSlug,
    phase_id: current?.slug ?? '',
    roadmap_id: plan.roadmapSlug,
    epic_id: plan.epicSlug,
    project_name: plan.title,
    status: ccaspStatus('progress', shownPlanStatus(plan)),
    created: plan.created,
    updated: plan.updated,
    completion_percentage: percent(countDone(tasks), tasks.length, plan.status === 'completed'),
    ...(plan.failureReason ? { failure_reason: plan.failureReason } : {}),
    phases: plan.phases.map((p) => phaseDoc(p, shownPhaseStatus(plan, p))),
    // A copy: the mirror writer diffs against what it last wrote, so nothing it holds may change under it.
    decisions: [...plan.decisions],
    ...(plan.pending ? { waiting_for: plan.pending } : {}),
    ...(plan.github ? { github_issue: plan.github.issue ?? null, phaseflow_github: plan.github } : {}),
    phaseflow: meta(plan, revision),
  };
}

function phaseDoc(p: PhaseState, shown: PhaseStatus): ProgressDoc['phases'][number] {
  return {
    id: p.index,
    slug: p.slug,
    name: p.title,
    status: ccaspStatus('progress', shown),
    ...(ccaspStatus('progress', shown) !== shown ? { phaseflow_status: shown } : {}),
    ...(p.status === 'skipped' ? { skipped: true } : {}),
    ...(p.gateDebug?.length ? { gate_debug: p.gateDebug } : {}),
    success_criteria: p.successCriteria,
    completion_percentage: percent(
      countDone(p.tasks),
      p.tasks.length,
      p.status === 'completed' || p.status === 'skipped',
    ),
    gate: p.gate && {
      passed: p.gate.passed,
      ...(p.gate.reason ? { reason: p.gate.reason } : {}),
      checked_at: p.gate.checkedAt,
      checks: p.gate.checks.map((c) => ({
        name: c.name,
        command: c.command,
        exit_code: c.exitCode,
        passed: c.passed,
        duration_ms: c.durationMs,
        output_excerpt: c.outputExcerpt,
        log_file: c.logFile,
        ...(c.timedOut ? { timed_out: true } : {}),
      })),
    },
    ...(p.failureReason ? { failure_reason: p.failureReason } : {}),
    ...(p.source ? { source: p.source } : {}),
    ...(p.commit ? { commit_hash: p.commit } : {}),
    ...(p.startedAt ? { started_at: p.startedAt } : {}),
    ...(p.completedAt ? { completed_at: p.completedAt } : {}),
    usage: usageDoc(sumUsage(p.tasks)),
    ...conflictsDoc(p.tasks),
    tasks: p.tasks.map((t) => ({
      id: t.id,
      description: t.description,
      completed: t.status === 'completed',
      ...(t.agent ? { agent: t.agent } : {}),
      task_type: taskType(t),
      status: t.status,
      kind: t.kind,
      attempts: t.attempts,
      ...(t.summary !== undefined ? { summary: t.summary } : {}),
      ...(t.detailsFile ? { details_file: t.detailsFile } : {}),
      ...(t.error ? { error: t.error } : {}),
      usage: usageDoc(t.usage),
      ...(t.durationMs !== undefined ? { duration_ms: Math.round(t.durationMs) } : {}),
      ...(t.apiRetries ? { api_retries: t.apiRetries, api_wait_ms: Math.round(t.apiWaitMs ?? 0) } : {}),
      ...(t.startedAt ? { started_at: t.startedAt } : {}),
      ...(t.completedAt ? { completed_at: t.completedAt } : {}),
      ...(t.source ? { source: t.source } : {}),
      depends_on: t.dependsOn,
      files: t.files,
    })),
  };
}

/** `conflicts`: files two or more tasks of the phase wrote (present only when there are some). */
function conflictsDoc(tasks: TaskState[]): { conflicts?: { file: string; tasks: string[] }[] } {
  const conflicts = fileConflicts(tasks.map((t) => ({ id: t.id, paths: t.changedPaths ?? [] })));
  return conflicts.length ? { conflicts } : {};
}

function meta(plan: PlanState, revision: number) {
  const tasks = allTasks(plan);
  return mirrorMeta(plan.workflowId, revision, shownPlanStatus(plan), sumUsage(tasks), tasks.length, countDone(tasks));
}

/** phaseflow's own block in every mirror (`phaseflow`): revision, owner workflow, shown status, usage, counts. */
export function mirrorMeta(
  workflowId: string,
  revision: number,
  status: string,
  usage: Usage,
  total: number,
  done: number,
) {
  return {
    revision,
    workflow_id: workflowId,
    status,
    usage: usageDoc(usage),
    tasks_total: total,
    tasks_completed: done,
  };
}

export function orchestratorStateDoc(plan: PlanState, revision: number, tokenLimit?: number): OrchestratorStateDoc {
  const tasks = allTasks(plan);
  const done = tasks.filter((t) => t.status === 'completed');
  const usage = sumUsage(tasks);
  const durations = done.map((t) => t.durationMs ?? 0);
  return {
    planId: plan.planSlug,
    planPath: mirrorPaths.progress(plan.planSlug),
    initialized: plan.created,
    lastUpdated: plan.updated,
    status: ccaspStatus('orchestrator', shownPlanStatus(plan)),
    currentPhase: plan.phases[plan.currentPhase - 1]?.slug ?? '',
    activeAgents: tasks
      .filter((t) => t.status === 'running')
      .map((t) => ({
        agentId: `${plan.planSlug}--${t.id}-${t.attempts}`,
        taskId: t.id,
        level: 'L3' as const,
        domain: t.domain,
        spawnedAt: t.startedAt ?? plan.updated,
        status: 'running' as const,
      })),
    completedTasks: done.map((t) => t.id),
    pendingTasks: tasks.filter((t) => t.status === 'pending').map((t) => t.id),
    failedTasks: tasks
      .filter((t) => t.status === 'failed')
      .map((t) => ({
        taskId: t.id,
        error: t.error ?? 'failed',
        retryCount: Math.max(0, t.attempts - 1),
        failedAt: t.completedAt ?? plan.updated,
      })),
    ...(plan.github
      ? {
          githubConfig: {
            enabled: true,
            owner: plan.github.owner,
            repo: plan.github.repo,
            ...(plan.github.issue ? { issueNumber: plan.github.issue } : {}),
            ...(plan.github.lastSyncAt ? { lastSyncAt: plan.github.lastSyncAt } : {}),
          },
        }
      : {}),
    tokenBudget: {
      used: usage.inputTokens + usage.outputTokens + usage.cacheReadTokens + usage.cacheWriteTokens,
      ...(tokenLimit ? { limit: tokenLimit } : {}),
    },
    metrics: {
      tasksCompleted: done.length,
      tasksFailed: tasks.filter((t) => t.status === 'failed').length,
      totalAgentsSpawned: tasks.reduce((n, t) => n + (t.kind === 'agent' ? t.attempts : 0), 0),
      averageTaskDuration: durations.length ? Math.round(durations.reduce((a, b) => a + b, 0) / durations.length) : 0,
    },
    phaseflow: meta(plan, revision),
  };
}
