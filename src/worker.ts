/**
 * The phaseflow worker: hosts the workflows and activities on the task queue (`phaseflow
 * worker`, and the demo and tests through createWorker). Temporal's own runtime logs go through
 * the same pino logger.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { types } from 'node:util';
import {
  DefaultLogger,
  type LogEntry,
  makeTelemetryFilterString,
  NativeConnection,
  Runtime,
  Worker,
} from '@temporalio/worker';
import type { Logger } from 'pino';
import * as activities from './activities';
import { sandboxStatus } from './activities/sandbox';
import { hideSecretsFromProcEnviron } from './activities/secrets';
import { requireServer } from './cli/target';
import { createLogger } from './log';
import { hostTaskQueue } from './domain/hosts';
import { connectNative, ensureSearchAttributes } from './temporal/config';
import { createHostWorker, type HostOptions, hostSetUp, runTogether } from './worker-host';

let runtimeInstalled = false;

/** Installs the Temporal runtime logger once per process (the SDK allows only one). */
export function installRuntimeLogger(log: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  // The runtime exists once per process; if something created it already, keep that one.
  try {
    installLogger(log);
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'Temporal runtime already installed; its logger is kept');
  }
}

function installLogger(log: Logger): void {
  Runtime.install({
    logger: new DefaultLogger('INFO', (e: LogEntry) => {
      const level = e.level === 'TRACE' ? 'trace' : (e.level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error');
      log[level]({ ...errorsReadable(e.meta), sdk: true }, e.message);
    }),
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) } },
  });
}

/**
 * The SDK hands failures to the logger as Error objects (`{error: ApplicationFailure}`), and JSON
 * keeps only an error's enumerable fields: the message and cause would be lost
 * (`"error":{"type":"Permanent","nonRetryable":true}`). Each error becomes plain fields here.
 */
export function errorsReadable(meta: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta ?? {})) out[k] = isError(v) ? errorFields(v) : v;
  return out;
}

/** Errors made inside the workflow sandbox come from another realm: `instanceof Error` misses them. */
const isError = (v: unknown): v is Error => v instanceof Error || types.isNativeError(v);

function errorFields(err: Error, depth = 0): Record<string, unknown> {
  const e = err as Error & { type?: unknown; nonRetryable?: unknown; failure?: unknown; cause?: unknown };
  const fields: Record<string, unknown> = { name: e.name, message: e.message };
  if (e.type !== undefined) fields.type = e.type;
  if (e.nonRetryable !== undefined) fields.nonRetryable = e.nonRetryable;
  if (isError(e.cause) && depth < 5) fields.cause = errorFields(e.cause, depth + 1);
  if (e.stack && depth === 0) fields.stack = e.stack;
  return fields;
}

/**
 * A cancelled task (a cancelled or paused epic, a phase that stops) reaches its running activity
 * only in the answer to a heartbeat, and the worker sends heartbeats at most every
 * 0.8 x heartbeatTimeout (8 s for the default 10 s), capped by these intervals (SDK default
 * 60 s / 30 s). Two seconds, with activities heartbeating every second (heartbeat.ts), brings a cancel
 * to a running agent, command or gate within about 2-3 s, for one small RPC per running activity
 * every 2 s.
 */
export const HEARTBEAT_THROTTLE = {
  maxHeartbeatThrottleInterval: '2 seconds',
  defaultHeartbeatThrottleInterval: '2 seconds',
} as const;

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** Tasks (activities) this worker runs at once. */
  maxConcurrentActivities?: number;
  identity?: string;
  /** The workflows to host (default: phaseflow's); tests run small workflows of their own on the same settings. */
  workflowsPath?: string;
}

/**
 * Workflows kept in the worker's cache. Past it, a workflow's next task replays its whole history.
 * The SDK sizes the cache from the heap (32 under the Dockerfile's 256 MB), and every running
 * epic keeps four workflows open (epic, roadmap, plan, phase): 20 epics at once thrashed it,
 * workflow tasks took 10-14 s and timed out (`npm run bench -- --only many`: 34 tasks/s). A
 * cached phaseflow workflow holds little (summaries, not outputs), so the cache is sized by
 * count; PHASEFLOW_MAX_CACHED_WORKFLOWS overrides it.
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 1000;

export function maxCachedWorkflows(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.PHASEFLOW_MAX_CACHED_WORKFLOWS;
  if (raw === undefined || raw === '') return DEFAULT_MAX_CACHED_WORKFLOWS;
  if (!/^\d+$/.test(raw) || Number(raw) < 2)
    throw new Error(`PHASEFLOW_MAX_CACHED_WORKFLOWS: expected a whole number of at least 2, got "${raw}"`);
  return Number(raw);
}

/** Built by `npm run build` next to the compiled worker; absent when running from the sources. */
const PREBUILT_BUNDLE = path.join(__dirname, 'workflow-bundle.js');

export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  const workflows =
    !opts.workflowsPath && fs.existsSync(PREBUILT_BUNDLE)
      ? { workflowBundle: { codePath: PREBUILT_BUNDLE } }
      : { workflowsPath: opts.workflowsPath ?? require.resolve('./workflows') };
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...workflows,
    activities,
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? 100,
    ...HEARTBEAT_THROTTLE,
    // All tasks of a phase (up to its cap) start eagerly on this worker, not only the first 3.
    maxEagerActivityReservationsPerWorkflowTask: 64,
    maxCachedWorkflows: maxCachedWorkflows(),
    // A workflow task for a workflow this worker had cached goes to its sticky queue; if the worker
    // is dead it waits there this long before going to any worker. The SDK's 10 s came on top of
    // the heartbeat timeout after a kill -9 (`npm run bench -- --only recovery`: 20 s → 13 s).
    stickyQueueScheduleToStartTimeout: '3 seconds',
    ...(opts.identity ? { identity: opts.identity } : {}),
  });
}

/** `phaseflow worker`: runs the workflows and activities against the configured server. */
export async function workerCommand(
  opts: { concurrency?: number; logFile?: string } & Partial<HostOptions>,
): Promise<void> {
  // A bad --host is refused before anything connects.
  const hostIdentity = opts.host ? hostSetUp({ host: opts.host, workspaceRoot: opts.workspaceRoot }) : undefined;
  // First thing, before Temporal's native threads start: credentials leave /proc/<pid>/environ.
  const scrub = hideSecretsFromProcEnviron();
  const hasApiKey = Boolean(process.env.ANTHROPIC_API_KEY);
  // No server: one line, rather than the native client's transport error.
  const config = await requireServer();
  const log = createLogger({ name: 'phaseflow-worker', file: opts.logFile ?? process.env.PHASEFLOW_LOG_FILE });
  installRuntimeLogger(log);
  const sandbox = sandboxStatus();
  log.info({ sandbox, environScrub: { hidden: scrub.hidden.length, error: scrub.error } }, 'worker start-up');
  if (sandbox.workspace === 'none')
    log.warn(
      { reason: sandbox.reason },
      "no sandbox for the agents' Bash: commands run unconfined (only the file tools are confined)",
    );
  if (sandbox.diesWithWorker.startsWith('none'))
    log.warn({ reason: sandbox.diesWithWorker }, 'commands can outlive a killed worker (no setpriv --pdeathsig here)');
  if (!hasApiKey) {
    // Said at once, not at the first agent task an hour into a run.
    const why =
      'no ANTHROPIC_API_KEY in the environment: agent tasks of epics with agentMode "claude" will fail at once (dry-run epics and command tasks are fine)';
    log.warn(why);
    console.error(`warning: ${why}`);
  }
  const connection = await connectNative(config);
  try {
    const added = await ensureSearchAttributes(connection, config.namespace);
    if (added.length) log.info({ added }, 'registered search attributes');
    const worker = await createWorker({
      connection,
      namespace: config.namespace,
      taskQueue: config.taskQueue,
      maxConcurrentActivities: opts.concurrency,
      ...(hostIdentity ? { identity: hostIdentity } : {}),
    });
    if (opts.host && hostIdentity) {
      const hostWorker = await createHostWorker({
        connection,
        namespace: config.namespace,
        sharedQueue: config.taskQueue,
        host: opts.host,
        identity: hostIdentity,
        maxConcurrentActivities: opts.concurrency,
        heartbeatThrottle: HEARTBEAT_THROTTLE,
      });
      console.log(
        `phaseflow worker for host ${opts.host} on ${config.address} (namespace ${config.namespace}, task queues ${config.taskQueue} and ${hostTaskQueue(config.taskQueue, opts.host)}${opts.workspaceRoot ? `, workspaces under ${opts.workspaceRoot}` : ''}); Ctrl-C stops it.`,
      );
      await runTogether(worker, hostWorker);
      return;
    }
    console.log(
      `phaseflow worker on ${config.address} (namespace ${config.namespace}, task queue ${config.taskQueue}); Ctrl-C stops it.`,
    );
    await worker.run();
  } finally {
    await connection.close();
  }
}

export const defaultLogger = () => createLogger({ name: 'phaseflow-worker', file: process.env.PHASEFLOW_LOG_FILE });
