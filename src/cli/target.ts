/**
 * What the operating commands (status, watch, pending, approve, …) act on: an ID given on the
 * command line, resolved to a workflow on the server, and the queries they send it.
 */
import os from 'node:os';
import {
  type Client,
  type QueryDefinition,
  type WorkflowExecutionDescription,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { workflowIds } from '../domain/ids';
import { SLUG } from '../domain/spec';
import { SA } from '../domain/search-attributes';
import { connectClient, temporalConfig } from '../temporal/config';
import { isServerReachable } from '../temporal/dev-server';
import { pendingQuery, statusQuery } from '../workflows/messages';
import { CliError } from './errors';

/** How long a query may wait for a worker to answer. */
export const QUERY_TIMEOUT_MS = 15_000;
/** The same for a closed workflow: only a worker replaying it answers, and often none is up. */
export const CLOSED_QUERY_TIMEOUT_MS = 4_000;
/**
 * The same for a child in a live view: one that does not answer keeps the summary its parent
 * gave, and the view must not stand still meanwhile (a query lost between worker and server
 * otherwise holds every poll for the full QUERY_TIMEOUT_MS).
 */
export const CHILD_QUERY_TIMEOUT_MS = 4_000;

/** The configured server's config, or a one-line error when none answers there. */
export async function requireServer(): Promise<ReturnType<typeof temporalConfig>> {
  const config = temporalConfig();
  if (!(await isServerReachable(config.address, config.namespace))) {
    throw new CliError(
      `no Temporal server at ${config.address} (namespace ${config.namespace}); start one with \`phaseflow server\` or set TEMPORAL_ADDRESS`,
    );
  }
  return config;
}

/** Connects to the configured server (a clear error when none answers), runs `fn`, closes. */
export async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const config = await requireServer();
  const client = await connectClient(config);
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}

export interface Target {
  /** What the user typed. */
  given: string;
  workflowId: string;
  /** The epic at the top of the tree this workflow belongs to. */
  epicId: string;
  level?: string;
  /** RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, … */
  status: string;
  description: WorkflowExecutionDescription;
}

/**
 * `shop` → `epic/shop`; `epic/shop/…` as given. A bare name that is no epic slug is also tried
 * as a workflow id, for epics started with `phaseflow start --id NAME`.
 */
export function candidateIds(given: string): string[] {
  const id = given.trim();
  if (!id) throw new CliError('expected an epic slug or a workflow id (epic/<slug>[/<roadmap>/<plan>/<phase>])');
  return id.includes('/') ? [id] : [workflowIds.epic(id), id];
}

export async function resolveTarget(client: Client, given: string): Promise<Target> {
  const tried = candidateIds(given);
  for (const workflowId of tried) {
    const description = await describeOrUndefined(client, workflowId);
    if (description) return target(client, given, workflowId, description);
  }
  // An epic started under its own id (`phaseflow start --id NAME`) is still found by its slug.
  const bySlug = given.includes('/') ? undefined : await epicBySlug(client, given.trim());
  if (bySlug) return target(client, given, bySlug, (await describeOrUndefined(client, bySlug))!);
  const { address, namespace } = temporalConfig();
  throw new CliError(
    `no workflow ${tried.map((t) => `"${t}"`).join(' or ')} on ${address} (namespace ${namespace})${given.includes('/') ? '' : `, and no epic with the slug "${given.trim()}" (PhaseflowEpic)`}; \`phaseflow pending\` lists the running epics`,
  );
}

async function describeOrUndefined(
  client: Client,
  workflowId: string,
): Promise<WorkflowExecutionDescription | undefined> {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

function target(client: Client, given: string, workflowId: string, description: WorkflowExecutionDescription): Target {
  rememberTaskQueue(client, workflowId, description.taskQueue);
  return {
    given,
    workflowId,
    epicId: description.rootExecution?.workflowId ?? workflowId,
    level: description.typedSearchAttributes.get(SA.level),
    status: description.status.name,
    description,
  };
}

/**
 * The epic workflow whose PhaseflowEpic search attribute is `slug` (a visibility query): the
 * running one, else the one started last. Several running under one slug is ambiguous.
 */
async function epicBySlug(client: Client, slug: string): Promise<string | undefined> {
  if (!SLUG.test(slug)) return undefined; // the query is built from it
  const running: string[] = [];
  let latest: { id: string; at: number } | undefined;
  for await (const wf of client.workflow.list({ query: `${SA.epic.name}="${slug}" AND ${SA.level.name}="epic"` })) {
    if (wf.status.name === 'RUNNING') running.push(wf.workflowId);
    const at = wf.startTime.getTime();
    if (!latest || at > latest.at) latest = { id: wf.workflowId, at };
  }
  const unique = [...new Set(running)];
  if (unique.length > 1)
    throw new CliError(`several running epics have the slug "${slug}": ${unique.join(', ')}; give the workflow id`);
  return unique[0] ?? latest?.id;
}

/** Commands that change a run refuse closed workflows with one clear message. */
export function requireRunning(t: Target, doing: string): void {
  if (t.status !== 'RUNNING')
    throw new CliError(`cannot ${doing} ${t.workflowId}: it is ${t.status.toLowerCase()}, not running`);
}

/** A query reached a workflow that has not run its first task (it registers its handlers there). */
export class NotStartedYet extends CliError {}

/**
 * How long a task queue may go without a poll before the CLI says no worker runs. A live worker
 * long-polls, and the server records a poll when it starts: an idle worker's last poll is up to
 * a minute old (Temporal's long-poll interval), so less than that would call a live worker gone.
 * PHASEFLOW_WORKER_SILENT_SECONDS changes it (tests that stop a worker use a few seconds).
 */
export function workerSilentMs(): number {
  const s = Number(process.env.PHASEFLOW_WORKER_SILENT_SECONDS);
  return (Number.isFinite(s) && s > 0 ? s : 70) * 1000;
}

/** No worker polls the workflow's task queue: a query cannot be answered, signals and updates wait. */
export class NoWorker extends CliError {
  constructor(
    readonly taskQueue: string,
    prefix = '',
  ) {
    super(`${prefix}${noWorkerText(taskQueue)}`);
  }
}

/** "no worker is polling task queue q (start one with `phaseflow worker`)". */
export function noWorkerText(taskQueue: string): string {
  const start =
    taskQueue === temporalConfig().taskQueue
      ? 'phaseflow worker'
      : `PHASEFLOW_TASK_QUEUE=${taskQueue} phaseflow worker`;
  return `no worker is polling task queue ${taskQueue} (start one with \`${start}\`)`;
}

// Per client: a workflow's task queue, and whether a worker polled it lately (for a few seconds,
// so a live view asking many workflows asks the server once).
const taskQueues = new WeakMap<Client, Map<string, string>>();
const seenCache = new WeakMap<Client, Map<string, { at: number; seen: true }>>();
const SEEN_CACHE_MS = 2_000;

/** Notes the task queue of a workflow already described or listed, so taskQueueOf need not ask again. */
export function rememberTaskQueue(client: Client, workflowId: string, taskQueue: string): void {
  const known = taskQueues.get(client) ?? new Map<string, string>();
  taskQueues.set(client, known);
  known.set(workflowId, taskQueue);
}

/** The task queue `workflowId` runs on (a describe, unless already known; no worker needed). */
export async function taskQueueOf(client: Client, workflowId: string): Promise<string> {
  const hit = taskQueues.get(client)?.get(workflowId);
  if (hit) return hit;
  const tq = (await client.workflow.getHandle(workflowId).describe()).taskQueue;
  rememberTaskQueue(client, workflowId, tq);
  return tq;
}

/**
 * Whether a worker polled `taskQueue` for workflow tasks within workerSilentMs() (the server's
 * poller list, DescribeTaskQueue): without one, queries fail only after their full time limit.
 */
export async function workerPolling(client: Client, taskQueue: string): Promise<boolean> {
  const cache = seenCache.get(client) ?? new Map<string, { at: number; seen: true }>();
  seenCache.set(client, cache);
  const hit = cache.get(taskQueue);
  if (hit && Date.now() - hit.at < SEEN_CACHE_MS) return true;
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  const newest = Math.max(0, ...(pollers ?? []).map((p) => Number(p.lastAccessTime?.seconds ?? 0) * 1000));
  const seen = Date.now() - newest < workerSilentMs();
  // Only a worker seen is remembered: one may start any moment, and then it counts at once.
  if (seen) cache.set(taskQueue, { at: Date.now(), seen });
  return seen;
}

/** The workflow's task queue when no worker polls it, else undefined (a worker polls, or unsure). */
export async function idleTaskQueue(client: Client, workflowId: string): Promise<string | undefined> {
  const tq = await taskQueueOf(client, workflowId).catch(() => undefined);
  return tq && !(await workerPolling(client, tq).catch(() => true)) ? tq : undefined;
}

/** Throws NoWorker when no worker polls `workflowId`'s task queue. */
export async function requireWorker(client: Client, workflowId: string, prefix = ''): Promise<void> {
  const tq = await idleTaskQueue(client, workflowId);
  if (tq) throw new NoWorker(tq, prefix);
}

/** gRPC status codes (grpc-js `status`, not a direct dependency). */
const GRPC = { CANCELLED: 1, DEADLINE_EXCEEDED: 4, FAILED_PRECONDITION: 9 } as const;

/** The gRPC status codes of an error and its causes (the SDK wraps the server's ServiceError). */
function grpcCodes(err: unknown): { codes: number[]; messages: string[] } {
  const codes: number[] = [];
  const messages: string[] = [];
  for (
    let e = err as { code?: unknown; message?: string; cause?: unknown } | undefined, depth = 0;
    e && depth < 8;
    e = e.cause as typeof e, depth++
  ) {
    if (typeof e.code === 'number') codes.push(e.code);
    if (e.message) messages.push(e.message);
  }
  return { codes, messages };
}

/**
 * A query's failure in words: the SDK's own message ("Failed to query Workflow") hides the cause;
 * the server's FAILED_PRECONDITION "no poller seen" and DEADLINE_EXCEEDED are in its cause chain.
 */
export async function queryFailure(
  client: Client,
  workflowId: string,
  name: string,
  err: unknown,
  timeoutMs: number,
  deadlinePassed = false,
): Promise<CliError> {
  const { codes, messages } = grpcCodes(err);
  const prefix = `query "${name}" on ${workflowId} failed: `;
  const tq = () => taskQueueOf(client, workflowId).catch(() => temporalConfig().taskQueue);
  if (codes.includes(GRPC.FAILED_PRECONDITION) && messages.some((m) => /no poller/i.test(m)))
    return new NoWorker(await tq(), prefix);
  // Our own deadline ends the call as CANCELLED ("Call cancelled") when it comes before the server's answer.
  if (
    codes.includes(GRPC.DEADLINE_EXCEEDED) ||
    messages.some((m) => /deadline|timed out/i.test(m)) ||
    (deadlinePassed && codes.includes(GRPC.CANCELLED))
  ) {
    return new QueryTimedOut(
      `${prefix}no worker answered within ${timeoutMs / 1000} s (is \`phaseflow worker\` running on task queue ${await tq()}?)`,
    );
  }
  return new CliError(`${prefix}${messages.join(': ')}`);
}

/** A query no worker answered in time (a worker may be busy, or just gone). */
export class QueryTimedOut extends CliError {}

/** A query with a time limit: a workflow whose worker is down would otherwise hang the CLI. */
export async function queryWorkflow<T>(
  client: Client,
  workflowId: string,
  query: QueryDefinition<T>,
  timeoutMs = QUERY_TIMEOUT_MS,
): Promise<T> {
  const name = query.name;
  // No worker polls: say so now rather than after the time limit.
  await requireWorker(client, workflowId, `query "${name}" on ${workflowId} failed: `);
  const deadline = Date.now() + timeoutMs;
  try {
    return await client.connection.withDeadline(deadline, () => client.workflow.getHandle(workflowId).query(query));
  } catch (err) {
    const msg = (err as Error)?.message ?? String(err);
    if (/did not register a handler for/.test(msg))
      throw new NotStartedYet(await notStartedText(client, workflowId, name));
    throw await queryFailure(client, workflowId, name, err, timeoutMs, Date.now() >= deadline);
  }
}

/**
 * A workflow without the handler: one still starting will register it soon; one that closed
 * in its first task (an epic whose input failed its check) never will, so no "try again".
 */
async function notStartedText(client: Client, workflowId: string, name: string): Promise<string> {
  const status = await client.workflow
    .getHandle(workflowId)
    .describe()
    .then(
      (d) => d.status.name,
      () => 'RUNNING',
    );
  return status === 'RUNNING'
    ? `${workflowId} has not run its first workflow task yet (no "${name}" query handler registered); try again in a moment`
    : `${workflowId} ${status.toLowerCase()} in its first workflow task, before it registered its "${name}" query handler`;
}

export const queryStatus = (client: Client, workflowId: string, timeoutMs?: number) =>
  queryWorkflow(client, workflowId, statusQuery, timeoutMs);
export const queryPending = (client: Client, workflowId: string) => queryWorkflow(client, workflowId, pendingQuery);

/** Who answers or steers: the OS user, as `by` in decisions and control messages. */
export function operator(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER || process.env.USERNAME || 'unknown';
  }
}
