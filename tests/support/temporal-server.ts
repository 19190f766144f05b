/**
 * The one Temporal dev server shared by the whole test run (started by the mocha global fixture
 * in ./global.ts), or the server the caller named in TEMPORAL_ADDRESS.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { findTemporalBinary } from '../../src/temporal/binary';
import { ensureSearchAttributes } from '../../src/temporal/config';
import { DevServerHandle, freePort, isServerReachable, startDevServer } from '../../src/temporal/dev-server';

export interface TestTemporal {
  address: string;
  namespace: string;
  /** The temporal CLI, for tests that start servers of their own. */
  binary: string;
}

let current: TestTemporal | undefined;
let server: DevServerHandle | undefined;
let tmpDir: string | undefined;

export function testTemporal(): TestTemporal {
  if (!current)
    throw new Error('no test Temporal server: run mocha with tests/support/global.ts in `require` (.mocharc.js)');
  return current;
}

export async function startTestTemporal(): Promise<TestTemporal> {
  const binary = await findTemporalBinary({ log: (m) => console.error(m) });
  const namespace = process.env.TEMPORAL_NAMESPACE || 'default';
  const external = process.env.TEMPORAL_ADDRESS;
  if (external) {
    if (!(await isServerReachable(external, namespace, 5000))) {
      throw new Error(
        `TEMPORAL_ADDRESS=${external} (namespace ${namespace}) is not reachable; unset it to let the tests start a dev server`,
      );
    }
    const connection = await Connection.connect({ address: external });
    try {
      await ensureSearchAttributes(connection, namespace);
    } finally {
      await connection.close();
    }
    current = { address: external, namespace, binary };
    return current;
  }

  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'phaseflow-test-temporal-'));
  server = await startDevServer({
    binary,
    dbFile: path.join(tmpDir, 'temporal.sqlite'),
    logFile: path.join(tmpDir, 'server.log'),
    port: await freePort(),
    headless: true,
    namespace,
  });
  // Child processes spawned by tests (CLI, worker) find the server the same way as in production.
  process.env.TEMPORAL_ADDRESS = server.address;
  process.env.TEMPORAL_NAMESPACE = namespace;
  current = { address: server.address, namespace, binary };
  return current;
}

export async function stopTestTemporal(): Promise<void> {
  if (server) {
    await server.stop();
    delete process.env.TEMPORAL_ADDRESS;
    server = undefined;
  }
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  tmpDir = undefined;
  current = undefined;
}
