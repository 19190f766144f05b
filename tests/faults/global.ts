/**
 * Mocha global fixture of the fault suite (.mocharc.faults.js): one restartable Temporal dev
 * server with a SQLite file for the whole run. The shared test helpers (worker-harness) reach it
 * through TEMPORAL_ADDRESS, which startTestTemporal() accepts as an external server (and gives
 * phaseflow's search attributes).
 */
import { startTestTemporal, stopTestTemporal } from '../support/temporal-server';
import { faultSeed } from './support/prng';
import { RestartableServer, setFaultServer } from './support/fault-server';

let server: RestartableServer | undefined;

export async function mochaGlobalSetup(): Promise<void> {
  faultSeed();
  server = await RestartableServer.create();
  await server.start();
  setFaultServer(server);
  process.env.TEMPORAL_ADDRESS = server.address;
  process.env.TEMPORAL_NAMESPACE = server.namespace;
  await startTestTemporal();
}

export async function mochaGlobalTeardown(): Promise<void> {
  await stopTestTemporal();
  await server?.dispose();
  setFaultServer(undefined);
}
