/**
 * Running phaseflow against the test Temporal server from inside a test: an in-process worker with
 * the real workflows and activities (any of them replaceable), starting epics, and reading
 * workflow histories back as activity timelines and mirror files as JSON.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, Connection, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { optionalTsToMs, tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import {
  bundleWorkflowCode,
  DefaultLogger,
  makeTelemetryFilterString,
  NativeConnection,
  Runtime,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import * as realActivities from '../../src/activities';
import { HEARTBEAT_THROTTLE } from '../../src/worker';
import { mirrorPaths } from '../../src/domain/paths';
import type { EpicSpec, EpicSpecInput } from '../../src/domain/spec';
import { validateEpic } from '../../src/domain/validate';
import { epicWorkflow } from '../../src/workflows/epic';
import { testTemporal } from './temporal-server';

export type Activities = typeof realActivities;
export { realActivities };

const EventType = temporal.api.enums.v1.EventType;

// ---------------------------------------------------------------------------------------------
// Connections (one client connection and one worker connection per test process)

let clientPromise: Promise<Client> | undefined;
let nativePromise: Promise<NativeConnection> | undefined;

export function testClient(): Promise<Client> {
  clientPromise ??= (async () => {
    const { address, namespace } = testTemporal();
    const connection = await Connection.connect({ address });
    return new Client({ connection, namespace });
  })();
  return clientPromise;
}

function nativeConnection(): Promise<NativeConnection> {
  quietRuntime();
  nativePromise ??= NativeConnection.connect({ address: testTemporal().address });
  return nativePromise;
}

/**
 * The SDK's default runtime logs every worker state change at INFO; tests want errors only
 * (PHASEFLOW_TEST_SDK_LOGS=1 keeps the default).
 * Installed only if nothing in this process created the runtime yet (the SDK allows one).
 */
function quietRuntime(): void {
  if (Runtime._instance || process.env.PHASEFLOW_TEST_SDK_LOGS) return;
  Runtime.install({
    // ERROR: the expected failures these tests provoke are logged as warnings ("Workflow failed").
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) } },
  });
}

// Bundling the workflows takes seconds on a small machine: do it once per test process.
let bundlePromise: Promise<WorkflowBundleWithSourceMap> | undefined;

export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundlePromise ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    logger: new DefaultLogger('WARN'),
  });
  return bundlePromise;
}

// ---------------------------------------------------------------------------------------------
// Workers

export interface WithWorkerOptions {
  /** Activities to use instead of the real ones (the rest stay real). */
  activities?: Partial<Activities>;
  maxConcurrentActivityTaskExecutions?: number;
}

/**
 * Runs a worker with the real workflows and activities on `taskQueue` while `fn` runs, then shuts
 * it down (also when `fn` throws). Returns what `fn` returns.
 */
export async function withWorker<T>(taskQueue: string, fn: () => Promise<T>, opts: WithWorkerOptions = {}): Promise<T> {
  const [connection, bundle] = await Promise.all([nativeConnection(), workflowBundle()]);
  const worker = await Worker.create({
    connection,
    namespace: testTemporal().namespace,
    taskQueue,
    workflowBundle: bundle,
    activities: { ...realActivities, ...opts.activities },
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivityTaskExecutions ?? 100,
    // Fast shutdown at the end of a test: activities still running are cancelled.
    shutdownGraceTime: '1 second',
    // As in production: a cancel reaches running activities within ~2 s.
    ...HEARTBEAT_THROTTLE,
  });
  return worker.runUntil(fn);
}

// ---------------------------------------------------------------------------------------------
// Specs, workspaces and queues

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** A fresh temporary directory; removed at process exit unless PHASEFLOW_KEEP_TEST_DIRS is set. */
export function tempWorkspace(prefix = 'phaseflow-wf-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
const tempDirs: string[] = [];
process.on('exit', () => {
  if (process.env.PHASEFLOW_KEEP_TEST_DIRS) return;
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Settings that keep workflow tests fast. */
// decisionTimeoutSeconds: a failed phase takes its default (abort) after 1 s instead of waiting for a person.
export const FAST_SETTINGS = {
  timeoutBaseSeconds: 10,
  retryBackoffSeconds: 0.2,
  heartbeatSeconds: 5,
  decisionTimeoutSeconds: 1,
} as const;

/**
 * Validates a spec written in a test (through the same validation as the CLI); dry-run unless
 * the spec says otherwise. Loosely typed on purpose: validateEpic is the check.
 */
export function epicSpec(input: {
  slug: string;
  title: string;
  workspace: string;
  [field: string]: unknown;
}): EpicSpec {
  return validateEpic({ agentMode: 'dry-run', ...input }, 'test spec');
}

/** A dry-run agent task. */
export function agentTask(id: string, durationMs: number, extra: Record<string, unknown> = {}) {
  return {
    id,
    description: `task ${id}`,
    dryRun: { durationMs, ...((extra.dryRun as object) ?? {}) },
    ...omit(extra, 'dryRun'),
  };
}

function omit(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _, ...rest } = o;
  return rest;
}

/** The workflow ids phaseflow gives an epic started as `epic/<slug>` and its children. */
export const ids = {
  epic: (epic: string) => `epic/${epic}`,
  roadmap: (epic: string, roadmap: string) => `epic/${epic}/${roadmap}`,
  plan: (epic: string, roadmap: string, plan: string) => `epic/${epic}/${roadmap}/${plan}`,
  phase: (epic: string, roadmap: string, plan: string, phase: string) => `epic/${epic}/${roadmap}/${plan}/${phase}`,
};

// ---------------------------------------------------------------------------------------------
// Starting epics

export async function startEpic(
  taskQueue: string,
  spec: EpicSpec | EpicSpecInput | unknown,
  slug?: string,
): Promise<WorkflowHandle> {
  const client = await testClient();
  const s = slug ?? (spec as { slug: string }).slug;
  return client.workflow.start(epicWorkflow, {
    taskQueue,
    workflowId: ids.epic(s),
    // Some tests start an invalid epic on purpose: the workflow checks its input.
    args: [spec as EpicSpecInput],
    workflowExecutionTimeout: '5 minutes',
  });
}

/** Starts an epic and waits for its result (throws WorkflowFailedError when it fails). */
export async function runEpic(taskQueue: string, spec: EpicSpec): Promise<unknown> {
  const handle = await startEpic(taskQueue, spec);
  return handle.result();
}

/** True if a workflow with this id was ever started (in the test namespace). */
export async function workflowExists(workflowId: string): Promise<boolean> {
  const client = await testClient();
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Histories

export interface ActivityRun {
  workflowId: string;
  activityId: string;
  type: string;
  /** The activity's first argument, decoded. */
  input: any;
  scheduledEventId: number;
  scheduledAt: number;
  startedAt?: number;
  closedAt?: number;
  /** How it ended: completed, failed, timedOut, cancelled, or undefined while open. */
  outcome?: 'completed' | 'failed' | 'timedOut' | 'cancelled';
  startToCloseTimeoutMs?: number;
  heartbeatTimeoutMs?: number;
  result?: any;
  failure?: string;
}

export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export async function fetchEvents(workflowId: string): Promise<HistoryEvent[]> {
  const client = await testClient();
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return history.events ?? [];
}

export const eventTimeMs = (e: HistoryEvent): number => tsToMs(e.eventTime);
export const eventTypeName = (e: HistoryEvent): string => EventType[e.eventType ?? 0] ?? String(e.eventType);

const decode = (p: temporal.api.common.v1.IPayloads | null | undefined): any =>
  p?.payloads?.length ? defaultPayloadConverter.fromPayload(p.payloads[0] as any) : undefined;

/** The activities of one workflow execution, in scheduling order, with the times of their events. */
export async function activityRuns(workflowId: string): Promise<ActivityRun[]> {
  const events = await fetchEvents(workflowId);
  const byScheduled = new Map<number, ActivityRun>();
  const runs: ActivityRun[] = [];
  for (const e of events) {
    const id = Number(e.eventId);
    const t = eventTimeMs(e);
    if (e.activityTaskScheduledEventAttributes) {
      const a = e.activityTaskScheduledEventAttributes;
      const run: ActivityRun = {
        workflowId,
        activityId: a.activityId ?? '',
        type: a.activityType?.name ?? '',
        input: decode(a.input),
        scheduledEventId: id,
        scheduledAt: t,
        startToCloseTimeoutMs: optionalTsToMs(a.startToCloseTimeout),
        heartbeatTimeoutMs: optionalTsToMs(a.heartbeatTimeout),
      };
      byScheduled.set(id, run);
      runs.push(run);
    } else if (e.activityTaskStartedEventAttributes) {
      const run = byScheduled.get(Number(e.activityTaskStartedEventAttributes.scheduledEventId));
      if (run) run.startedAt = t;
    } else if (e.activityTaskCompletedEventAttributes) {
      const run = byScheduled.get(Number(e.activityTaskCompletedEventAttributes.scheduledEventId));
      if (run)
        Object.assign(run, {
          closedAt: t,
          outcome: 'completed',
          result: decode(e.activityTaskCompletedEventAttributes.result),
        });
    } else if (e.activityTaskFailedEventAttributes) {
      const run = byScheduled.get(Number(e.activityTaskFailedEventAttributes.scheduledEventId));
      if (run)
        Object.assign(run, {
          closedAt: t,
          outcome: 'failed',
          failure: e.activityTaskFailedEventAttributes.failure?.message ?? '',
        });
    } else if (e.activityTaskTimedOutEventAttributes) {
      const run = byScheduled.get(Number(e.activityTaskTimedOutEventAttributes.scheduledEventId));
      if (run)
        Object.assign(run, {
          closedAt: t,
          outcome: 'timedOut',
          failure: e.activityTaskTimedOutEventAttributes.failure?.message ?? '',
        });
    } else if (e.activityTaskCanceledEventAttributes) {
      const run = byScheduled.get(Number(e.activityTaskCanceledEventAttributes.scheduledEventId));
      if (run) Object.assign(run, { closedAt: t, outcome: 'cancelled' });
    }
  }
  return runs;
}

/** The task id of a runAgentTask/runCommandTask activity (undefined for other activities). */
export const taskIdOf = (r: ActivityRun): string | undefined => r.input?.task?.id;

/** Largest number of intervals [start, end) open at one time (an end at t comes before a start at t). */
export function maxOverlap(intervals: { start: number; end: number }[]): number {
  const points = intervals.flatMap((i) => [
    { t: i.start, d: +1 },
    { t: i.end, d: -1 },
  ]);
  points.sort((a, b) => a.t - b.t || a.d - b.d);
  let open = 0;
  let max = 0;
  for (const p of points) {
    open += p.d;
    max = Math.max(max, open);
  }
  return max;
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 10_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// ---------------------------------------------------------------------------------------------
// Mirror files

export const mirrorFile = {
  epic: (ws: string, epic: string) => path.join(ws, mirrorPaths.epic(epic)),
  roadmap: (ws: string, roadmap: string) => path.join(ws, mirrorPaths.roadmap(roadmap)),
  progress: (ws: string, plan: string) => path.join(ws, mirrorPaths.progress(plan)),
  state: (ws: string) => path.join(ws, mirrorPaths.orchestratorState()),
};

export function readJson(file: string): any {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** Reads a JSON file, or undefined if it is missing or (mid-rename) unreadable. */
export function tryReadJson(file: string): any {
  try {
    return readJson(file);
  } catch {
    return undefined;
  }
}
