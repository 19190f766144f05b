/**
 * Mocha global fixture of the stack suite (.mocharc.stack.js): `phaseflow stack up` in a fresh
 * directory on free ports (building the server, SQL tool and UI with Go the first time), its
 * address in TEMPORAL_ADDRESS for the shared test helpers, and `stack down` at the end (which
 * must leave nothing running).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Stack } from '../../src/stack/stack';
import { startTestTemporal, stopTestTemporal } from '../support/temporal-server';
import { faultSeed } from '../faults/support/prng';
import { freeStackPorts, setStackUnderTest } from './support/stack-fixture';

let stack: Stack | undefined;
let dir: string | undefined;

export async function mochaGlobalSetup(): Promise<void> {
  faultSeed();
  // Under /tmp, entered by the postgres user when we are root (mkdtemp makes it 0700).
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phaseflow-stack-'));
  fs.chmodSync(dir, 0o755);
  stack = new Stack({ dir, ports: await freeStackPorts(), log: (m) => console.error(`      stack: ${m}`) });
  const t = Date.now();
  const { info, ms } = await stack.up();
  console.error(
    `      stack up in ${((Date.now() - t) / 1000).toFixed(1)} s (${Object.entries(ms)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
      .join(', ')}): ${info.address}, UI ${info.uiUrl}, ${dir}`,
  );
  setStackUnderTest(stack);
  process.env.TEMPORAL_ADDRESS = info.address;
  process.env.TEMPORAL_NAMESPACE = info.namespace;
  await startTestTemporal();
}

export async function mochaGlobalTeardown(): Promise<void> {
  await stopTestTemporal();
  try {
    await stack?.down();
  } finally {
    setStackUnderTest(undefined);
    if (dir && !process.env.PHASEFLOW_KEEP_TEST_DIRS) fs.rmSync(dir, { recursive: true, force: true });
  }
}
