/**
 * Reading the figures off Temporal itself: times come from history event timestamps (the
 * server's clock, as Temporal saw the run), sizes from the encoded histories.
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const History = temporal.api.history.v1.History;
const Payloads = temporal.api.common.v1.Payloads;

/** One run of a workflow: a workflow that continued as new has several under one id. */
export interface Execution {
  workflowId: string;
  runId?: string;
}

export interface FetchedHistory {
  workflowId: string;
  runId?: string;
  events: HistoryEvent[];
  /** Size of the history as the server sends it (protobuf-encoded). */
  bytes: number;
}

/** The history of one run (default: the latest run of the id). */
export async function fetchHistory(client: Client, workflowId: string, runId?: string): Promise<FetchedHistory> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  return { workflowId, runId, events: history.events ?? [], bytes: History.encode(history).finish().length };
}

const at = (e: HistoryEvent) => tsToMs(e.eventTime);

/**
 * Workflow start → close in ms of server time: from the first run's start to the close of the run
 * that completed, when given every run of a workflow that continued as new.
 */
export function workflowSpanMs(runs: FetchedHistory | FetchedHistory[]): number {
  const all = Array.isArray(runs) ? runs : [runs];
  const id = all[0]?.workflowId;
  for (const h of all) {
    if (!h.events[0]?.workflowExecutionStartedEventAttributes)
      throw new Error(`${id}: history does not begin with WorkflowExecutionStarted`);
  }
  const done = all.filter((h) => h.events[h.events.length - 1]?.workflowExecutionCompletedEventAttributes);
  if (done.length !== 1)
    throw new Error(`${id}: ${done.length} of its ${all.length} run(s) completed, expected exactly one`);
  return at(done[0].events[done[0].events.length - 1]) - Math.min(...all.map((h) => at(h.events[0])));
}

export interface ActivityRecord {
  type: string;
  scheduledAt: number;
  startedAt?: number;
  completedAt?: number;
  input: unknown;
  /** Encoded size of the result payloads (data + metadata). */
  resultBytes: number;
}

/** The activities of one history, in scheduling order. */
export function activities(h: FetchedHistory): ActivityRecord[] {
  const byId = new Map<number, ActivityRecord>();
  for (const e of h.events) {
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched) {
      const p = sched.input?.payloads?.[0];
      byId.set(Number(e.eventId), {
        type: sched.activityType?.name ?? '',
        scheduledAt: at(e),
        input: p ? defaultPayloadConverter.fromPayload(p as never) : undefined,
        resultBytes: 0,
      });
      continue;
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const r = byId.get(Number(started.scheduledEventId));
      if (r) r.startedAt = at(e);
      continue;
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const r = byId.get(Number(done.scheduledEventId));
      if (r) {
        r.completedAt = at(e);
        r.resultBytes = done.result ? Payloads.encode(done.result).finish().length : 0;
      }
    }
  }
  return [...byId.values()];
}

/** First `type` activity scheduled → last one completed (every one must have completed). */
export function activitySpan(h: FetchedHistory, type: string): { ms: number; count: number; maxConcurrent: number } {
  const acts = activities(h).filter((a) => a.type === type);
  if (acts.length === 0) throw new Error(`${h.workflowId}: no ${type} activity in history`);
  const open = acts.filter((a) => a.completedAt === undefined);
  if (open.length) throw new Error(`${h.workflowId}: ${open.length} ${type} activities did not complete`);
  const first = Math.min(...acts.map((a) => a.scheduledAt));
  const last = Math.max(...acts.map((a) => a.completedAt!));
  return {
    ms: last - first,
    count: acts.length,
    maxConcurrent: maxOverlap(acts.map((a) => ({ start: a.startedAt ?? a.scheduledAt, end: a.completedAt! }))),
  };
}

/** First child workflow initiated → last child completed (a plan's phases, say). */
export function childSpan(h: FetchedHistory): { ms: number; count: number } {
  const initiated = h.events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes);
  const completed = h.events.filter((e) => e.childWorkflowExecutionCompletedEventAttributes);
  if (initiated.length === 0 || completed.length !== initiated.length) {
    throw new Error(`${h.workflowId}: ${initiated.length} children started, ${completed.length} completed`);
  }
  return { ms: at(completed[completed.length - 1]) - at(initiated[0]), count: initiated.length };
}

/**
 * Where a phase's time goes, as medians over the phases of the given plans (each plan's phases
 * in order): the plan starting the child, the phase's first workflow task (set-up, scheduling its
 * tasks), its tasks, its close after the last task, and the plan's turn before the next phase.
 */
export function phaseBreakdown(plans: { plan: FetchedHistory; phases: FetchedHistory[] }[]) {
  const rows = plans.flatMap(({ plan, phases }) => {
    const initiated = plan.events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).map(at);
    const completed = plan.events.filter((e) => e.childWorkflowExecutionCompletedEventAttributes).map(at);
    return phases.map((h, i) => {
      const started = at(h.events[0]);
      const firstTask = h.events.findIndex((e) => e.workflowTaskCompletedEventAttributes);
      const acts = activities(h).filter((a) => a.type === 'runAgentTask');
      const lastDone = Math.max(...acts.map((a) => a.completedAt ?? NaN));
      // The first workflow task, split: waiting for a worker to take it, then the worker running it.
      const firstStarted = h.events.findIndex((e) => e.workflowTaskStartedEventAttributes);
      const lastIndex = (pred: (e: HistoryEvent) => unknown) => h.events.reduce((k, e, j) => (pred(e) ? j : k), -1);
      const lastTaskDone = lastIndex((e) => e.activityTaskCompletedEventAttributes);
      const closeStarted = lastIndex((e) => e.workflowTaskStartedEventAttributes);
      return {
        childStartMs: started - initiated[i],
        firstWorkflowTaskMs: at(h.events[firstTask]) - started,
        firstTaskPickupMs: at(h.events[firstStarted]) - started,
        firstTaskRunMs: at(h.events[firstTask]) - at(h.events[firstStarted]),
        closePickupMs: closeStarted > lastTaskDone ? at(h.events[closeStarted]) - lastDone : NaN,
        tasksMs: lastDone - Math.min(...acts.map((a) => a.scheduledAt)),
        closeMs: at(h.events[h.events.length - 1]) - lastDone,
        planTurnMs: i + 1 < initiated.length ? initiated[i + 1] - completed[i] : NaN,
      };
    });
  });
  const med = (key: keyof (typeof rows)[number]) => {
    const s = rows
      .map((r) => r[key])
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    return s.length ? s[Math.floor(s.length / 2)] : NaN;
  };
  return {
    childStartMs: med('childStartMs'),
    firstWorkflowTaskMs: med('firstWorkflowTaskMs'),
    firstTaskPickupMs: med('firstTaskPickupMs'),
    firstTaskRunMs: med('firstTaskRunMs'),
    closePickupMs: med('closePickupMs'),
    tasksMs: med('tasksMs'),
    closeMs: med('closeMs'),
    planTurnMs: med('planTurnMs'),
  };
}

/** Largest number of intervals open at once (an end at t comes before a start at t). */
function maxOverlap(intervals: { start: number; end: number }[]): number {
  const points = intervals.flatMap((i) => [
    { t: i.start, d: 1 },
    { t: i.end, d: -1 },
  ]);
  points.sort((a, b) => a.t - b.t || a.d - b.d);
  let open = 0;
  let max = 0;
  for (const p of points) max = Math.max(max, (open += p.d));
  return max;
}

/**
 * Every run of every workflow of an epic, found through visibility (`PhaseflowEpic="<slug>"`),
 * once the server lists `expected` distinct workflows and none still running (visibility trails
 * the histories a little).
 */
export function listEpicRuns(client: Client, epicSlug: string, expected: number): Promise<Execution[]> {
  return listRuns(client, `PhaseflowEpic="${epicSlug}"`, expected);
}

/** Every run of one workflow id (several when it continued as new). */
export async function fetchWorkflowRuns(client: Client, workflowId: string): Promise<FetchedHistory[]> {
  return fetchHistories(client, await listRuns(client, `WorkflowId="${workflowId}"`, 1));
}

async function listRuns(client: Client, query: string, expected: number, timeoutMs = 60_000): Promise<Execution[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const runs: Execution[] = [];
    let running = 0;
    for await (const wf of client.workflow.list({ query })) {
      runs.push({ workflowId: wf.workflowId, runId: wf.runId });
      if (wf.status.name === 'RUNNING') running++;
    }
    const ids = new Set(runs.map((r) => r.workflowId)).size;
    if (ids >= expected && running === 0) return runs;
    if (Date.now() > deadline)
      throw new Error(
        `visibility (${query}) lists ${ids} workflows, ${running} running; expected ${expected}, all closed`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Fetches many histories, a few at a time. */
export async function fetchHistories(
  client: Client,
  runs: (Execution | string)[],
  concurrency = 8,
): Promise<FetchedHistory[]> {
  const out: FetchedHistory[] = new Array(runs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, runs.length) }, async () => {
      while (next < runs.length) {
        const i = next++;
        const r = runs[i];
        out[i] =
          typeof r === 'string' ? await fetchHistory(client, r) : await fetchHistory(client, r.workflowId, r.runId);
      }
    }),
  );
  return out;
}

/**
 * Workflow tasks that timed out, by kind: schedule-to-start (a task left waiting on a worker's
 * sticky queue, then handed to any worker, which replays the whole history) and start-to-close
 * (a worker took longer than the task timeout).
 */
export function workflowTaskTimeouts(hs: FetchedHistory[]): { scheduleToStart: number; startToClose: number } {
  const out = { scheduleToStart: 0, startToClose: 0 };
  for (const h of hs)
    for (const e of h.events) {
      const t = e.workflowTaskTimedOutEventAttributes?.timeoutType;
      if (t === undefined || t === null) continue;
      if (t === temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START) out.scheduleToStart++;
      else out.startToClose++;
    }
  return out;
}
