/**
 * Replays recorded histories against the current workflow code (the same bundle of
 * src/workflows the worker runs), and says which ones it cannot replay and why.
 */
import type { History } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, makeTelemetryFilterString, Runtime, Worker } from '@temporalio/worker';
import { workflowBundle } from '../support/worker-harness';
import type { HistoryEntry } from './history-files';

/** One line per history that does not replay: `<file> (<type> <id>): <error>`; empty when all do. */
export async function replayEntries(items: { entry: HistoryEntry; history: History }[]): Promise<string[]> {
  quietRuntime();
  const failures: string[] = [];
  const results = Worker.runReplayHistories(
    { workflowBundle: await workflowBundle() },
    items.map(({ entry, history }) => ({ workflowId: entry.workflowId, history })),
  );
  // Replay goes one history at a time, results in input order.
  let i = 0;
  for await (const result of results) {
    const { entry } = items[i++];
    if (result.workflowId !== entry.workflowId)
      throw new Error(`replay results out of order: got ${result.workflowId}, expected ${entry.workflowId}`);
    if (result.error)
      failures.push(
        `${entry.file} (${entry.workflowType} ${entry.workflowId}): ${result.error.name}: ${essence(result.error.message)}`,
      );
  }
  if (i !== items.length) throw new Error(`replay returned ${i} results for ${items.length} histories`);
  return failures;
}

/** Core's own sentence ("[TMPRL1100] Nondeterminism error: …") without the SDK's wrapping, when there is one. */
function essence(message: string): string {
  return /\[TMPRL\d+\][^"]*/.exec(message)?.[0] ?? message;
}

/**
 * The SDK's default runtime logs every replay worker's state changes at INFO; errors are enough
 * here (PHASEFLOW_TEST_SDK_LOGS=1 keeps the default). Only if nothing in this process made the
 * runtime yet: there is one per process.
 */
function quietRuntime(): void {
  if (Runtime._instance || process.env.PHASEFLOW_TEST_SDK_LOGS) return;
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) } },
  });
}
