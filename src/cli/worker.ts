/** `phaseflow worker`: runs the workflows and activities against the configured server. */
import { ensureSearchAttributes, connectNative } from '../temporal/config';
import { createWorker, installRuntimeLogger } from '../worker';
import { createLogger } from '../log';
import { requireServer } from './target';
import { hideSecretsFromProcEnviron } from '../activities/secrets';
import { sandboxStatus } from '../activities/sandbox';

export async function workerCommand(opts: { concurrency?: number; logFile?: string }): Promise<void> {
  // First thing, before Temporal's native threads start: credentials leave /proc/<pid>/environ.
  const scrub = hideSecretsFromProcEnviron();
  // No server: one line, rather than the native client's transport error.
  const config = await requireServer();
  const log = createLogger({ name: 'phaseflow-worker', file: opts.logFile ?? process.env.PHASEFLOW_LOG_FILE });
  installRuntimeLogger(log);
  const sandbox = sandboxStatus();
  log.info({ sandbox, environScrub: { hidden: scrub.hidden.length, error: scrub.error } }, 'worker start-up');
  if (sandbox.workspace === 'none') log.warn({ reason: sandbox.reason }, "no sandbox for the agents' Bash: commands run unconfined (only the file tools are confined)");
  if (sandbox.diesWithWorker.startsWith('none')) log.warn({ reason: sandbox.diesWithWorker }, 'commands can outlive a killed worker (no setpriv --pdeathsig here)');
  const connection = await connectNative(config);
  try {
    const added = await ensureSearchAttributes(connection, config.namespace);
    if (added.length) log.info({ added }, 'registered search attributes');
    const worker = await createWorker({ connection, namespace: config.namespace, taskQueue: config.taskQueue, maxConcurrentActivities: opts.concurrency });
    console.log(`phaseflow worker on ${config.address} (namespace ${config.namespace}, task queue ${config.taskQueue}); Ctrl-C stops it.`);
    await worker.run();
  } finally {
    await connection.close();
  }
}
