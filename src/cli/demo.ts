/**
 * `phaseflow demo`: the demo epic end to end on the local server, no API key needed. Starts a
 * server if none is reachable, runs a worker in this process, runs the epic in a fresh workspace,
 * prints the outcome, the mirror paths and the Web UI link.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { workflowIds } from '../domain/ids';
import { loadEpicFile } from '../domain/load-spec';
import { createLogger } from '../log';
import { connectClient, connectNative, ensureSearchAttributes, temporalConfig } from '../temporal/config';
import type { DevServerHandle } from '../temporal/dev-server';
import { isServerReachable } from '../temporal/dev-server';
import { createWorker, installRuntimeLogger } from '../worker';
import { defaultWorkerLog, webUiUrl } from './paths';
import { startLocalServer } from './server';
import { CliError } from './errors';
import { printMirrors, startEpic } from './start';
import { watchEpic } from './watch';

export const DEMO_SPEC = path.resolve(__dirname, '../../examples/demo-epic.yaml');

export async function demoCommand(opts: { workspace?: string; keepServer?: boolean }): Promise<void> {
  const started = Date.now();
  const config = temporalConfig();
  let server: DevServerHandle | undefined;
  if (!(await isServerReachable(config.address, config.namespace))) {
    if (process.env.TEMPORAL_ADDRESS) throw new CliError(`TEMPORAL_ADDRESS=${config.address} is set but no server answers there`);
    server = await startLocalServer({}, console.log, () => `stop what listens there, or set TEMPORAL_ADDRESS to a running Temporal server`);
  }
  const uiBase = server?.uiUrl ?? 'http://127.0.0.1:8233';
  const spec = loadEpicFile(DEMO_SPEC);
  spec.workspace = path.resolve(opts.workspace ?? spec.workspace);
  rmSync(spec.workspace, { recursive: true, force: true }); // a fresh workspace every run

  const logFile = process.env.PHASEFLOW_LOG_FILE ?? defaultWorkerLog();
  installRuntimeLogger(createLogger({ name: 'phaseflow-demo', file: logFile }));
  const native = await connectNative(config);
  const client = await connectClient(config);
  try {
    await ensureSearchAttributes(native, config.namespace);
    const id = workflowIds.epic(spec.slug);
    // A demo interrupted earlier may still be running in the persisted server: replace it.
    await client.workflow
      .getHandle(id)
      .terminate('superseded by a new `phaseflow demo` run')
      .catch((e) => {
        if (!(e instanceof WorkflowNotFoundError)) throw e;
      });
    const taskQueue = `${config.taskQueue}-demo-${process.pid}`;
    const worker = await createWorker({ connection: native, namespace: config.namespace, taskQueue });
    console.log(`Running the demo epic "${spec.title}" in ${spec.workspace} (worker log: ${logFile})`);
    console.log(`Web UI: ${webUiUrl(uiBase, config.namespace, id)}`);
    const result = await worker.runUntil(async () => {
      await startEpic(client, spec, { taskQueue });
      return watchEpic(client, id);
    });
    console.log(result.message);
    printMirrors(spec);
    console.log(`Web UI: ${webUiUrl(uiBase, config.namespace, id)}`);
    console.log(`Demo wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (!result.ok) throw new CliError('the demo epic did not complete', 1);
    if (server && opts.keepServer) {
      console.log('The server keeps running for the Web UI; Ctrl-C stops it.');
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    } else if (server) {
      console.log('The demo stopped the server it started; `npm run phaseflow -- server` brings it back with this run in it.');
    }
  } finally {
    await client.connection.close();
    await native.close();
    await server?.stop();
  }
}
