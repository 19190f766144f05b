/**
 * `phaseflow demo`: the demo epic end to end on the local server, no API key needed. Uses the
 * server at TEMPORAL_ADDRESS (default 127.0.0.1:7233) and starts one if none answers, runs a
 * worker in this process, runs the epic in a fresh workspace, prints the outcome, the mirror
 * paths and the Web UI link (when it knows where the UI is).
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { workflowIds } from '../domain/ids';
import { loadEpicFile } from '../domain/load-spec';
import { createLogger } from '../log';
import { connectClient, connectNative, ensureSearchAttributes, temporalConfig } from '../temporal/config';
import { createWorker, installRuntimeLogger } from '../worker';
import { defaultWorkerLog, uiBaseUrl, webUiUrl } from './paths';
import { serverForDemo } from './server';
import { CliError } from './errors';
import { printMirrors, startEpic } from './start';
import { watchEpic } from './watch';

export const DEMO_SPEC = path.resolve(__dirname, '../../examples/demo-epic.yaml');

export async function demoCommand(opts: { workspace?: string; keepServer?: boolean; uiUrl?: string }): Promise<void> {
  const started = Date.now();
  const config = temporalConfig();
  const givenUi = uiBaseUrl(opts.uiUrl);
  const server = await serverForDemo(
    config,
    () => `stop what listens there, or set TEMPORAL_ADDRESS to a running Temporal server`,
  );
  if (!server) console.log(`Using the Temporal server already at ${config.address} (namespace ${config.namespace})`);
  // A server the demo started has its UI where it put it; another's UI could be anywhere.
  const uiBase = givenUi ?? server?.uiUrl;
  const uiLine = (id: string) =>
    uiBase
      ? `Web UI: ${webUiUrl(uiBase, config.namespace, id)}`
      : `Web UI: the one of the server at ${config.address} (pass --ui-url or set PHASEFLOW_UI_URL to print links)`;
  const spec = loadEpicFile(DEMO_SPEC);
  spec.workspace = path.resolve(opts.workspace ?? spec.workspace);
  rmSync(spec.workspace, { recursive: true, force: true }); // a fresh workspace every run
  mkdirSync(spec.workspace, { recursive: true });

  const logFile = process.env.PHASEFLOW_LOG_FILE ?? defaultWorkerLog();
  installRuntimeLogger(createLogger({ name: 'phaseflow-demo', file: logFile }));
  const native = await connectNative(config);
  const client = await connectClient(config);
  try {
    const added = await ensureSearchAttributes(native, config.namespace);
    if (added.length) console.log(`Registered phaseflow's search attributes on ${config.address}: ${added.join(', ')}`);
    const id = workflowIds.epic(spec.slug);
    await terminateEarlierDemo(client, id, config.address);
    const taskQueue = `${config.taskQueue}-demo-${process.pid}`;
    const worker = await createWorker({ connection: native, namespace: config.namespace, taskQueue });
    console.log(`Running the demo epic "${spec.title}" in ${spec.workspace} (worker log: ${logFile})`);
    console.log(uiLine(id));
    const result = await worker.runUntil(async () => {
      await startEpic(client, spec, { taskQueue });
      return watchEpic(client, id);
    });
    console.log(result.message);
    printMirrors(spec);
    if (uiBase) console.log(uiLine(id));
    console.log(`Demo wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (!result.ok) throw new CliError('the demo epic did not complete', 1);
    if (server && opts.keepServer) {
      console.log('The server keeps running for the Web UI; Ctrl-C stops it.');
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    } else if (server) {
      console.log(
        'The demo stopped the server it started; `npm run phaseflow -- server` brings it back with this run in it.',
      );
    }
  } finally {
    await client.connection.close();
    await native.close();
    await server?.stop();
  }
}

/** A demo interrupted earlier may still be running on this server: it is replaced, and said so. */
async function terminateEarlierDemo(client: Client, id: string, address: string): Promise<void> {
  const running = await client.workflow
    .getHandle(id)
    .describe()
    .then((d) => (d.status.name === 'RUNNING' ? d.runId : undefined))
    .catch((e) => {
      if (e instanceof WorkflowNotFoundError) return undefined;
      throw e;
    });
  if (!running) return;
  await client.workflow.getHandle(id, running).terminate('superseded by a new `phaseflow demo` run');
  console.log(`Terminated the earlier demo run still running on ${address} (${id}, run ${running})`);
}
