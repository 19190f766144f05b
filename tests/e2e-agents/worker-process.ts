/**
 * A phaseflow worker in its own process, for tests that kill it: connects to
 * process.env.TEMPORAL_ADDRESS, runs createWorker (src/worker.ts) on the task queue named in
 * argv[2], and runs until it is killed (or shut down by SIGINT/SIGTERM). The agent activity reads
 * ANTHROPIC_BASE_URL / ANTHROPIC_API_KEY from this process's environment.
 *
 *   node --require tsx/cjs tests/e2e-agents/worker-process.ts <task-queue>
 */
import { NativeConnection } from '@temporalio/worker';
import { createWorker } from '../../src/worker';
import { quietRuntime } from './helpers';

async function main(): Promise<void> {
  const taskQueue = process.argv[2];
  const address = process.env.TEMPORAL_ADDRESS;
  if (!taskQueue || !address) throw new Error('usage: TEMPORAL_ADDRESS=host:port worker-process.ts <task-queue>');
  // Its output is only shown when a test fails: warnings included.
  quietRuntime('WARN');
  const connection = await NativeConnection.connect({ address });
  const worker = await createWorker({
    connection,
    namespace: process.env.TEMPORAL_NAMESPACE || 'default',
    taskQueue,
    identity: `e2e-worker-process-${process.pid}`,
  });
  console.log(`worker-process ${process.pid} polling ${taskQueue}`);
  await worker.run();
  await connection.close();
}

main().catch((err) => {
  console.error('worker-process failed:', err);
  process.exit(1);
});
