/**
 * Signals and queries between phaseflow's workflows, and from people. Names are what
 * `temporal workflow signal|query --name …` takes.
 */
import { defineQuery, defineSignal, defineUpdate, log, workflowInfo } from '@temporalio/workflow';
import type { Limit } from '../domain/budget';
import type { GithubSyncStatus } from './github-sync';
import type { ControlMessage, DecisionAnswer, DecisionRecord, PendingDecision } from '../domain/decisions';
import { isRecord } from '../domain/guards';
import { RUN_STATUSES, type RunStatus, TASK_STATUSES } from '../domain/status';
import type { GateResult, Usage } from '../domain/types';
import type { PlanView, ReplanRequest, ReplanResult } from './plan-replan';
import type { TaskUpdate } from './plan-state';

/** Progress of a child (plan or roadmap) as its parent mirrors it. */
export interface ChildProgress {
  slug: string;
  status: RunStatus;
  tasksTotal: number;
  tasksCompleted: number;
  phasesTotal: number;
  phasesCompleted: number;
  usage: Usage;
  current?: string;
  failureReason?: string;
  /** Questions waiting on a person below this child. */
  pending?: PendingDecision[];
  paused?: boolean;
  /** Budget limits raised below (by a `raise` answer), for the levels above to adopt. */
  raisedLimits?: { epic?: Limit; roadmap?: Limit };
}

/** phase -> plan: a question asked or settled, a detector firing, a budget raised. */
export interface PhaseDecisionEvent {
  phaseIndex: number;
  pending: PendingDecision | null;
  records: DecisionRecord[];
  raisedLimits?: { epic?: Limit; roadmap?: Limit; plan?: Limit };
  /** The phase's last gate result, so PROGRESS.json shows it while the phase waits (e.g. for approval). */
  gate?: GateResult | null;
}

/** phase -> plan: task state changes, batched. */
export const taskUpdatesSignal = defineSignal<[TaskUpdate[]]>('taskUpdates');
/** plan -> roadmap and roadmap -> epic. */
export const childProgressSignal = defineSignal<[ChildProgress]>('childProgress');
/**
 * agent activity -> its phase: the agent waits on the API (`what`, `nextTryAt`) or no longer
 * (neither), with the API retries and the time waited so far in its attempt. Only shown: the
 * details, the `status` query, `phaseflow status` and `watch` say so while it lasts.
 */
export interface ApiWeather {
  taskId: string;
  attempt: number;
  what?: string;
  nextTryAt?: string;
  retries: number;
  waitedMs: number;
}
export const apiWeatherSignal = defineSignal<[ApiWeather]>('apiWeather');
/** phase -> plan. */
export const phaseDecisionSignal = defineSignal<[PhaseDecisionEvent]>('phaseDecision');

/**
 * From people (any level; passed down to the running child):
 *   temporal workflow signal --workflow-id epic/<slug> --name control --input '{"paused":true}'
 *   temporal workflow signal --workflow-id epic/<slug> --name control --input '{"budget":{"level":"epic","tokens":2000000}}'
 */
export const controlSignal = defineSignal<[ControlMessage]>('control');

/**
 * From people, to the workflow that waits (a phase; `pending` names it):
 *   temporal workflow update execute --workflow-id epic/<slug>/<roadmap>/<plan>/<phase> --name decide \
 *     --input '{"action":"retry","by":"alice","note":"fixed the fixture"}'
 * Rejected (nothing changes) when no decision is pending or the action does not answer it.
 */
export const decideUpdate = defineUpdate<DecisionRecord, [DecisionAnswer]>('decide');

/** Every question waiting on a person at or below this workflow. */
export const pendingQuery = defineQuery<PendingDecision[]>('pending');

/**
 * From people, to a running plan workflow (`phaseflow replan`, or plain temporal):
 *   temporal workflow update execute --workflow-id epic/<slug>/<roadmap>/<plan> --name replan \
 *     --input '{"plan":{…the whole plan…},"by":"alice","note":"add a docs phase"}'
 * Refused (nothing changes) when the new plan is invalid or changes a phase that has started.
 */
export const replanUpdate = defineUpdate<ReplanResult, [ReplanRequest]>('replan');

/** A plan's live spec and each phase's status: what `phaseflow replan` diffs against. */
export const planViewQuery = defineQuery<PlanView>('planView');

export interface StatusNode {
  level: 'epic' | 'roadmap' | 'plan' | 'phase';
  slug: string;
  title: string;
  status: string;
  tasksTotal: number;
  tasksCompleted: number;
  usage: Usage;
  failureReason?: string;
  /** "imported": a phase done before this run (an imported plan), which ran no workflow. */
  source?: string;
  paused?: boolean;
  /** Questions waiting on a person at or below this node. */
  pending?: PendingDecision[];
  /** Decisions taken so far (plan and phase nodes). */
  decisions?: DecisionRecord[];
  /** Tasks of a phase waiting on the Anthropic API right now. */
  apiWaits?: { taskId: string; what: string; nextTryAt: string }[];
  budget?: { limit: Limit; usedTokens: number; usedUsd: number };
  /** A phase's commit (spec `git`). */
  commit?: string;
  /** A plan's GitHub sync (spec `github`): issue, what was synced, what is pending, the last error. */
  github?: GithubSyncStatus;
  workflowId?: string;
  children?: StatusNode[];
}

/** The live status of a workflow and what it knows below it. */
export const statusQuery = defineQuery<StatusNode>('status');

/*
 * The signals between phaseflow's workflows carry what our own code sent, but anyone can send one
 * with `temporal workflow signal`. A signal cannot be refused, and a handler that throws fails the
 * workflow task again and again, so each handler checks its payload with these and ignores (and
 * logs) one that does not fit, before it reaches the workflow's state and mirror files.
 */

type Problem = string | null;
type Check = (v: unknown, at: string) => Problem;

const show = (v: unknown) => (v === undefined ? 'nothing' : (JSON.stringify(v)?.slice(0, 60) ?? String(v)));
const expect = (ok: boolean, at: string, what: string, v: unknown): Problem =>
  ok ? null : `${at}: expected ${what}, got ${show(v)}`;

const str: Check = (v, at) => expect(typeof v === 'string', at, 'a string', v);
const int: Check = (v, at) => expect(typeof v === 'number' && Number.isSafeInteger(v), at, 'a whole number', v);
const count: Check = (v, at) =>
  expect(typeof v === 'number' && Number.isSafeInteger(v) && v >= 0, at, 'a whole number ≥ 0', v);
const index: Check = (v, at) =>
  expect(typeof v === 'number' && Number.isSafeInteger(v) && v >= 1, at, 'a whole number ≥ 1', v);
const amount: Check = (v, at) => expect(typeof v === 'number' && Number.isFinite(v) && v >= 0, at, 'a number ≥ 0', v);
const bool: Check = (v, at) => expect(typeof v === 'boolean', at, 'true or false', v);
const isoTime: Check = (v, at) =>
  expect(
    typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(v),
    at,
    'an ISO time',
    v,
  );
const oneOf =
  (values: readonly string[]): Check =>
  (v, at) =>
    expect(values.includes(v as string), at, `one of ${values.join(', ')}`, v);
const optional =
  (check: Check): Check =>
  (v, at) =>
    v === undefined ? null : check(v, at);
const arrayOf =
  (check: Check): Check =>
  (v, at) => {
    if (!Array.isArray(v)) return expect(false, at, 'an array', v);
    for (let i = 0; i < v.length; i++) {
      const p = check(v[i], `${at}[${i}]`);
      if (p) return p;
    }
    return null;
  };
const shape =
  (fields: Record<string, Check>): Check =>
  (v, at) => {
    if (!isRecord(v)) return expect(false, at, 'an object', v);
    for (const [k, check] of Object.entries(fields)) {
      const p = check(v[k], `${at}.${k}`);
      if (p) return p;
    }
    return null;
  };

const usage = shape({
  inputTokens: count,
  outputTokens: count,
  cacheWriteTokens: count,
  cacheReadTokens: count,
  costUsd: amount,
});
const limit = shape({ tokens: optional(index), usd: optional(amount) });
const raisedLimits = optional(shape({ epic: optional(limit), roadmap: optional(limit), plan: optional(limit) }));
const pending = shape({
  id: str,
  kind: oneOf(['escalation', 'approval', 'budget']),
  workflowId: str,
  question: str,
  detail: str,
  actions: arrayOf(str),
  askedAt: isoTime,
  defaultAt: isoTime,
});
const record = shape({
  id: str,
  kind: str,
  cause: str,
  phaseSlug: str,
  question: str,
  action: str,
  source: oneOf(['person', 'default', 'detector']),
  by: optional(str),
  note: optional(str),
  askedAt: isoTime,
  decidedAt: isoTime,
});

const taskUpdates = arrayOf(
  shape({
    phaseIndex: index,
    at: isoTime,
    id: str,
    status: oneOf(TASK_STATUSES),
    attempts: count,
    summary: optional(str),
    detailsFile: optional(str),
    error: optional(str),
    usage: optional(usage),
    durationMs: optional(amount),
  }),
);
const orNull =
  (check: Check): Check =>
  (v, at) =>
    v === null ? null : check(v, at);
const gateCheck = shape({
  name: str,
  command: str,
  exitCode: orNull(int),
  passed: bool,
  durationMs: amount,
  outputExcerpt: str,
  logFile: str,
  timedOut: optional(bool),
});
const gate = shape({
  passed: bool,
  checks: arrayOf(gateCheck),
  successCriteria: arrayOf(str),
  reason: optional(str),
  checkedAt: isoTime,
});
const phaseDecision = shape({
  phaseIndex: index,
  pending: orNull(pending),
  records: arrayOf(record),
  raisedLimits,
  gate: optional(orNull(gate)),
});
const childProgress = shape({
  slug: str,
  status: oneOf(RUN_STATUSES),
  tasksTotal: count,
  tasksCompleted: count,
  phasesTotal: count,
  phasesCompleted: count,
  usage,
  current: optional(str),
  failureReason: optional(str),
  pending: optional(arrayOf(pending)),
  paused: optional(bool),
  raisedLimits,
});

/** What is wrong with a `taskUpdates` payload (phase → plan), or null. */
export const taskUpdatesProblem = (v: unknown): Problem => taskUpdates(v, 'taskUpdates');
/** What is wrong with a `phaseDecision` payload (phase → plan), or null. */
export const phaseDecisionProblem = (v: unknown): Problem => phaseDecision(v, 'phaseDecision');
/** What is wrong with a `childProgress` payload (plan → roadmap → epic), or null. */
export const childProgressProblem = (v: unknown): Problem => childProgress(v, 'childProgress');

/** What is wrong with an `apiWeather` payload (agent activity → phase), or null. */
export const apiWeatherProblem = (v: unknown): Problem =>
  shape({
    taskId: str,
    attempt: index,
    what: optional(str),
    nextTryAt: optional(isoTime),
    retries: count,
    waitedMs: amount,
  })(v, 'apiWeather');

/** Logs and returns true when a signal's payload has a problem: the handler then ignores the signal. */
export function ignoredSignal(signal: string, problem: Problem): boolean {
  if (!problem) return false;
  const workflowId = workflowInfo().workflowId;
  log.warn(`phaseflow: ${workflowId} ignored a "${signal}" signal: ${problem}`, { workflowId, signal, problem });
  return true;
}
