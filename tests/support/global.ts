/** Mocha global fixture (listed in .mocharc.js `require`): one Temporal server per test run. */
import { startTestTemporal, stopTestTemporal } from './temporal-server';

export async function mochaGlobalSetup(): Promise<void> {
  await startTestTemporal();
}

export async function mochaGlobalTeardown(): Promise<void> {
  await stopTestTemporal();
}
