/**
 * The phaseflow worker: hosts the workflows and activities on the task queue. Temporal's own
 * runtime logs go through the same pino logger.
 */
import { DefaultLogger, type LogEntry, makeTelemetryFilterString, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import * as activities from './activities';
import { createLogger } from './log';

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
      log[level]({ ...e.meta, sdk: true }, e.message);
    }),
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) } },
  });
}

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** Tasks (activities) this worker runs at once. */
  maxConcurrentActivities?: number;
  identity?: string;
}

export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowsPath: require.resolve('./workflows'),
    activities,
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? 100,
    ...(opts.identity ? { identity: opts.identity } : {}),
  });
}

export const defaultLogger = () => createLogger({ name: 'phaseflow-worker', file: process.env.PHASEFLOW_LOG_FILE });
