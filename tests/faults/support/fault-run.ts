/**
 * One run of the fault epic under a fault plan: workers as child processes, the mirror watcher
 * on, the epic started, the faults injected by the test, then the result awaited (through server
 * outages) and the evidence collected. The undisturbed run the others are compared with is the
 * same thing with no faults, run once per suite.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Client, WorkflowFailedError, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { workflowIds } from '../../../src/domain/ids';
import type { EpicSpec } from '../../../src/domain/spec';
import { ids, testClient, tempWorkspace, uniqueName, waitFor } from '../../support/worker-harness';
import { historyEvidence, type HistoryEvidence, normalisedMirrors, type TaskExecution } from './evidence';
import { commandRuns, type CommandRuns, FAULT_EPIC, faultEpic } from './fault-epic';
import { describeRun } from './invariants';
import { MirrorWatcher, type WatchReport } from './mirror-watch';
import { WorkerPool } from './workers';
import { epicWorkflow } from '../../../src/workflows/epic';

export interface FaultContext {
  workspace: string;
  pool: WorkerPool;
  handle: WorkflowHandleWithFirstExecutionRunId;
  startedAt: number;
  /** True once the epic has closed (the fault plan stops injecting then). */
  closed: () => boolean;
  /** The phase running now, from the last PROGRESS.json read (for logging where a fault hit). */
  where: () => string;
  /** Resolves when the epic has made progress (a new mirror version) since this call, or has closed. */
  progress: (what: string) => Promise<void>;
  /** Activities running now (started, not finished), with the worker running each. */
  runningActivities: () => Promise<RunningActivity[]>;
  /** The identities of the workers the server has seen polling the task queue (for workflow tasks and for activities). */
  pollers: () => Promise<{ workflow: Set<string>; activity: Set<string> }>;
}

export interface FaultOutcome {
  result: any;
  durationMs: number;
  watch: WatchReport;
  executions: TaskExecution[];
  timeouts: Record<string, number>;
  pickups: HistoryEvidence['pickups'];
  commandFiles: CommandRuns[];
  mirrors: Record<string, unknown>;
  pool: WorkerPool;
  workspace: string;
}

/** Longest a fault run may take before the test gives up on it. */
const RUN_LIMIT_MS = 8 * 60_000;

export async function runFaultEpic(
  name: string,
  opts: { workers: number },
  inject: (ctx: FaultContext) => Promise<void> = async () => {},
): Promise<FaultOutcome> {
  const client = await testClient();
  const taskQueue = uniqueName(`faults-${name}`);
  const workspace = tempWorkspace(`phaseflow-fault-${name}-`);
  const pool = new WorkerPool(taskQueue, tempWorkspace(`phaseflow-fault-${name}-logs-`));
  const watcher = new MirrorWatcher(workspace);
  let handle: WorkflowHandleWithFirstExecutionRunId | undefined;
  let closed = false;
  try {
    await Promise.all(Array.from({ length: opts.workers }, () => pool.start()));
    const spec = faultEpic(workspace);
    watcher.start();
    const startedAt = Date.now();
    handle = await client.workflow.start(epicWorkflow, {
      taskQueue,
      workflowId: ids.epic(FAULT_EPIC),
      args: [spec],
      workflowExecutionTimeout: RUN_LIMIT_MS,
    });
    const resultPromise = resultThroughOutages(handle, startedAt + RUN_LIMIT_MS).finally(() => (closed = true));
    resultPromise.catch(() => undefined); // awaited below; the fault plan may still be running when it fails
    const progress = async (what: string) => {
      const seen = watcher.versionsSeen;
      await waitFor(`progress of the epic ${what}`, () => closed || watcher.versionsSeen > seen, 120_000, 20);
    };
    await inject({
      workspace,
      pool,
      handle,
      startedAt,
      closed: () => closed,
      where: () => currentPhase(workspace),
      progress,
      runningActivities: () => runningActivities(client, epicWorkflowIds(spec)),
      pollers: () => pollers(client, taskQueue),
    });
    const result = await resultPromise;
    const durationMs = Date.now() - startedAt;
    const watch = watcher.stop();
    const { executions, timeouts, pickups } = await historyEvidence(client, {
      workflowId: handle.workflowId,
      runId: handle.firstExecutionRunId,
    });
    return {
      result,
      durationMs,
      watch,
      executions,
      timeouts,
      pickups,
      commandFiles: commandRuns(workspace),
      mirrors: normalisedMirrors(workspace),
      pool,
      workspace,
    };
  } finally {
    watcher.stop();
    await pool.stopAll();
    // A failed test must not leave the epic running: the next run reuses its workflow id.
    if (handle && !closed) await handle.terminate(`fault test ${name} ended`).catch(() => undefined);
  }
}

/** handle.result(), retried while the server is unreachable (a restart in progress). */
async function resultThroughOutages(handle: WorkflowHandleWithFirstExecutionRunId, deadline: number): Promise<any> {
  for (;;) {
    try {
      return await handle.result();
    } catch (err) {
      if (err instanceof WorkflowFailedError || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** The ids of every workflow the epic can start: the epic, its roadmaps, plans and phases. */
function epicWorkflowIds(spec: EpicSpec): string[] {
  const epic = ids.epic(spec.slug);
  return [
    epic,
    ...spec.roadmaps.flatMap((r) => [
      workflowIds.child(epic, r.slug),
      ...r.plans.flatMap((p) => {
        const plan = workflowIds.child(workflowIds.child(epic, r.slug), p.slug);
        return [plan, ...p.phases.map((ph) => workflowIds.child(plan, ph.slug))];
      }),
    ]),
  ];
}

export interface RunningActivity {
  workflowId: string;
  type: string;
  identity: string;
  startedAt: number;
}

/** Started, unfinished activities of the running workflows among `workflowIdList` (from their pending activities). */
async function runningActivities(client: Client, workflowIdList: string[]): Promise<RunningActivity[]> {
  const out: RunningActivity[] = [];
  await Promise.all(
    workflowIdList.map(async (id) => {
      const d = await client.workflow
        .getHandle(id)
        .describe()
        .catch(() => undefined);
      if (d?.status.name !== 'RUNNING') return;
      for (const a of d.raw.pendingActivities ?? []) {
        if (
          a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED &&
          a.lastWorkerIdentity
        ) {
          out.push({
            workflowId: id,
            type: a.activityType?.name ?? '?',
            identity: a.lastWorkerIdentity,
            startedAt: optionalTsToMs(a.lastStartedTime) ?? 0,
          });
        }
      }
    }),
  );
  return out;
}

async function pollers(client: Client, taskQueue: string): Promise<{ workflow: Set<string>; activity: Set<string> }> {
  const { TASK_QUEUE_TYPE_WORKFLOW, TASK_QUEUE_TYPE_ACTIVITY } = temporal.api.enums.v1.TaskQueueType;
  const ask = async (taskQueueType: number) => {
    const r = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType,
    });
    return new Set((r.pollers ?? []).map((p) => p.identity ?? ''));
  };
  return { workflow: await ask(TASK_QUEUE_TYPE_WORKFLOW), activity: await ask(TASK_QUEUE_TYPE_ACTIVITY) };
}

function currentPhase(workspace: string): string {
  const dir = path.join(workspace, '.claude/phase-plans');
  let newest = { at: '', where: 'before the first plan' };
  for (const plan of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    try {
      const p = JSON.parse(fs.readFileSync(path.join(dir, plan, 'PROGRESS.json'), 'utf8'));
      const active = p.phases.find((x: any) => x.status === 'active');
      if (p.updated > newest.at) newest = { at: p.updated, where: `${plan}/${active?.slug ?? p.status}` };
    } catch {
      // not written yet
    }
  }
  return newest.where;
}

let baselinePromise: Promise<FaultOutcome> | undefined;

/** The undisturbed run (one worker, no faults), once per suite. */
export function undisturbedRun(): Promise<FaultOutcome> {
  baselinePromise ??= runFaultEpic('undisturbed', { workers: 1 }).then((run) => {
    console.log(`      (${describeRun('undisturbed run for comparison', run)})`);
    return run;
  });
  return baselinePromise;
}
