/**
 * What a fault run leaves behind, read back and judged: every task execution in the phase
 * histories (all runs, continue-as-new included), the command tasks' own run files, and the final
 * mirror files normalised for comparison with an undisturbed run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time';
import { walkWorkflowTree } from '../../replay/history-walk';
import type { CommandRuns } from './fault-epic';
import { mirrorFilesIn } from './mirror-watch';

export interface TaskExecution {
  /** `<phase workflow id>#<run>` */
  phaseRun: string;
  phaseWorkflowId: string;
  run: number;
  plan: string;
  task: string;
  kind: 'agent' | 'command';
  attempt: number;
  scheduledEventId: number;
  scheduledAt: number;
  /** Who ran it, from ActivityTaskStarted. */
  identity?: string;
  closedAt?: number;
  outcome?: 'completed' | 'failed' | 'timedOut' | 'cancelled';
  /** The activity completed and the task with it (result status success). */
  succeeded: boolean;
}

const decode = (p: any): any => (p?.payloads?.length ? defaultPayloadConverter.fromPayload(p.payloads[0]) : undefined);

export interface HistoryEvidence {
  /** Every runAgentTask/runCommandTask execution of every phase run of the epic, in history order. */
  executions: TaskExecution[];
  /** What the faults cost, over all workflows of the epic: timed-out activities and workflow tasks, retried activity attempts, by type. */
  timeouts: Record<string, number>;
  /** Who picked up which task when: every ActivityTaskStarted and WorkflowTaskStarted event of the epic. */
  pickups: { identity: string; at: number; what: string }[];
  workflowRuns: number;
}

export async function historyEvidence(
  client: Client,
  epic: { workflowId: string; runId: string },
): Promise<HistoryEvidence> {
  const runs = await walkWorkflowTree(client, epic);
  const out: TaskExecution[] = [];
  const timeouts: Record<string, number> = {};
  const pickups: HistoryEvidence['pickups'] = [];
  for (const r of runs) {
    const types = new Map<number, string>();
    for (const e of r.history.events ?? []) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s) types.set(Number(e.eventId), s.activityType?.name ?? '?');
      // Activities with a retry policy (writeMirror, runGate, prepareWorkspace) retry inside the
      // server: a timed-out attempt leaves no event, only a higher attempt number when one starts.
      const retried = (e.activityTaskStartedEventAttributes?.attempt ?? 1) - 1;
      if (retried > 0) {
        const key = `${types.get(Number(e.activityTaskStartedEventAttributes!.scheduledEventId))} retry`;
        timeouts[key] = (timeouts[key] ?? 0) + retried;
      }
      const picked = e.activityTaskStartedEventAttributes ?? e.workflowTaskStartedEventAttributes;
      if (picked?.identity) {
        const what = e.activityTaskStartedEventAttributes
          ? `${types.get(Number(e.activityTaskStartedEventAttributes.scheduledEventId))}`
          : 'workflow task';
        pickups.push({ identity: picked.identity, at: tsToMs(e.eventTime), what: `${what} of ${r.workflowId}` });
      }
      const timedOut = e.activityTaskTimedOutEventAttributes;
      const key = timedOut
        ? `${types.get(Number(timedOut.scheduledEventId))} activity`
        : e.workflowTaskTimedOutEventAttributes
          ? 'workflow task'
          : undefined;
      if (key) timeouts[key] = (timeouts[key] ?? 0) + 1;
    }
  }
  for (const r of runs.filter((x) => x.workflowType === 'phaseWorkflow')) {
    const byScheduled = new Map<number, TaskExecution>();
    for (const e of r.history.events ?? []) {
      const t = tsToMs(e.eventTime);
      const s = e.activityTaskScheduledEventAttributes;
      if (s && (s.activityType?.name === 'runAgentTask' || s.activityType?.name === 'runCommandTask')) {
        const input = decode(s.input);
        const x: TaskExecution = {
          phaseRun: `${r.workflowId}#${r.run}`,
          phaseWorkflowId: r.workflowId,
          run: r.run,
          plan: input.ctx.planSlug,
          task: input.task.id,
          kind: input.task.kind,
          attempt: input.attempt,
          scheduledEventId: Number(e.eventId),
          scheduledAt: t,
          succeeded: false,
        };
        byScheduled.set(x.scheduledEventId, x);
        out.push(x);
        continue;
      }
      const started = e.activityTaskStartedEventAttributes;
      if (started) {
        const x = byScheduled.get(Number(started.scheduledEventId));
        if (x) x.identity = started.identity ?? undefined;
      }
      const closed =
        (e.activityTaskCompletedEventAttributes && {
          a: e.activityTaskCompletedEventAttributes,
          outcome: 'completed' as const,
        }) ||
        (e.activityTaskFailedEventAttributes && {
          a: e.activityTaskFailedEventAttributes,
          outcome: 'failed' as const,
        }) ||
        (e.activityTaskTimedOutEventAttributes && {
          a: e.activityTaskTimedOutEventAttributes,
          outcome: 'timedOut' as const,
        }) ||
        (e.activityTaskCanceledEventAttributes && {
          a: e.activityTaskCanceledEventAttributes,
          outcome: 'cancelled' as const,
        });
      if (closed) {
        const x = byScheduled.get(Number(closed.a.scheduledEventId));
        if (!x) continue;
        x.closedAt = t;
        x.outcome = closed.outcome;
        x.succeeded =
          closed.outcome === 'completed' &&
          decode(e.activityTaskCompletedEventAttributes!.result)?.status === 'success';
      }
    }
  }
  return { executions: out, timeouts, pickups, workflowRuns: runs.length };
}

/**
 * "No completed task runs again", from both sides:
 *  - history: no execution of a task is scheduled after an execution of it succeeded;
 *  - side effects: no command task's file shows a run that started after its success was
 *    recorded, no more runs than executions, and exactly one run for a task executed once.
 */
export function reRunViolations(executions: TaskExecution[], commandFiles: CommandRuns[]): string[] {
  const problems: string[] = [];
  const byTask = new Map<string, TaskExecution[]>();
  for (const x of executions) byTask.set(`${x.plan}/${x.task}`, [...(byTask.get(`${x.plan}/${x.task}`) ?? []), x]);
  for (const [key, xs] of byTask) {
    const ordered = [...xs].sort((a, b) => a.run - b.run || a.scheduledEventId - b.scheduledEventId);
    const firstSuccess = ordered.findIndex((x) => x.succeeded);
    if (firstSuccess === -1)
      problems.push(`task ${key}: no successful execution (${ordered.map((x) => x.outcome).join(', ')})`);
    else if (firstSuccess < ordered.length - 1) {
      const later = ordered.slice(firstSuccess + 1);
      problems.push(
        `task ${key} completed (attempt ${ordered[firstSuccess].attempt}) and was scheduled again: attempts ${later.map((x) => x.attempt).join(', ')}`,
      );
    }
  }
  for (const f of commandFiles) {
    const key = `${f.plan}/${f.task}`;
    const xs = byTask.get(key) ?? [];
    const success = xs.find((x) => x.succeeded);
    if (xs.length === 0) problems.push(`${key}: ran ${f.starts.length} time(s) but no execution is in the history`);
    if (f.starts.length > xs.length)
      problems.push(
        `${key}: ${f.starts.length} runs in runs/${f.plan}-${f.task}.txt but ${xs.length} execution(s) in the history`,
      );
    if (xs.length === 1 && (f.starts.length !== 1 || f.ends.length !== 1))
      problems.push(`${key}: one execution but ${f.starts.length} start(s) and ${f.ends.length} end(s) in its file`);
    if (success?.closedAt !== undefined) {
      const late = f.starts.filter((t) => t > success.closedAt!);
      if (late.length)
        problems.push(
          `${key}: completed at ${new Date(success.closedAt).toISOString()}, started again at ${late.map((t) => new Date(t).toISOString()).join(', ')}`,
        );
    }
  }
  return problems;
}

/**
 * The fields that may differ between an undisturbed and a disturbed run of the same epic:
 * timings, attempt counts, durations, usage, revisions and workflow/run ids. Nothing else.
 */
const VOLATILE_KEYS = new Set([
  // timings
  'created',
  'updated',
  'started_at',
  'completed_at',
  'checked_at',
  'initialized',
  'lastUpdated',
  'spawnedAt',
  'failedAt',
  // attempt counts
  'attempts',
  'retryCount',
  'totalAgentsSpawned',
  // durations
  'duration_ms',
  'averageTaskDuration',
  // usage (budget limits stay: token_budget.tokens/usd are configuration)
  'usage',
  'used_tokens',
  'used_usd',
  'used',
  // revisions, workflow and run ids
  'revision',
  'owner',
  'workflow_id',
]);

/** Values that embed one of those: an attempt number in a file name, a duration in a summary. */
function normaliseValue(key: string, value: string): string {
  if (key === 'details_file' || key === 'log_file') return value.replace(/-\d+\.(json|log)$/, '-<attempt>.$1');
  if (key === 'summary') return value.replace(/\b(exit \S+ in|after) \d+ ms\b/g, '$1 <n> ms');
  return value;
}

export function normaliseMirror(doc: unknown, key = ''): unknown {
  if (Array.isArray(doc)) return doc.map((d) => normaliseMirror(d, key));
  if (doc && typeof doc === 'object') {
    return Object.fromEntries(
      Object.entries(doc)
        .filter(([k]) => !VOLATILE_KEYS.has(k))
        .map(([k, v]) => [k, normaliseMirror(v, k)]),
    );
  }
  return typeof doc === 'string' ? normaliseValue(key, doc) : doc;
}

/** The mirror files of a workspace, parsed and normalised, by workspace-relative path. */
export function normalisedMirrors(workspace: string): Record<string, unknown> {
  return Object.fromEntries(
    mirrorFilesIn(workspace).map((f) => [
      f,
      normaliseMirror(JSON.parse(fs.readFileSync(path.join(workspace, f), 'utf8'))),
    ]),
  );
}
