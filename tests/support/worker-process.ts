/**
 * A phaseflow worker in its own process, for tests that kill workers:
 *   node -r tsx/cjs tests/support/worker-process.ts <taskQueue>
 * Connects to TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE, runs createWorker (the real workflows and
 * activities) until killed (SIGINT/SIGTERM shut it down gracefully; SIGKILL is a crash), and
 * prints `worker ready <pid>` on stdout once it polls.
 */
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime } from '@temporalio/worker';
import { createWorker } from '../../src/worker';

async function main(): Promise<void> {
  const taskQueue = process.argv[2];
  const address = process.env.TEMPORAL_ADDRESS;
  if (!taskQueue || !address) {
    console.error('usage: TEMPORAL_ADDRESS=host:port node -r tsx/cjs tests/support/worker-process.ts <taskQueue>');
    process.exit(2);
  }
  Runtime.install({
    logger: new DefaultLogger((process.env.PHASEFLOW_TEST_WORKER_LOG_LEVEL as 'WARN') ?? 'ERROR'),
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) } },
  });
  const connection = await NativeConnection.connect({ address });
  try {
    const worker = await createWorker({
      connection,
      namespace: process.env.TEMPORAL_NAMESPACE || 'default',
      taskQueue,
      identity: `test-worker-${process.pid}`,
    });
    const running = worker.run();
    console.log(`worker ready ${process.pid}`);
    await running;
  } finally {
    await connection.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
