/**
 * A cancel reaches a running task within seconds, on the real Temporal server with the worker's
 * own settings (createWorker): an agent waiting on the model, an agent running a Bash command, a
 * command task, and a dry-run agent. The activity learns of a cancel only from a heartbeat's
 * answer; with the SDK's default throttle (0.8 x the 30 s heartbeat timeout) that took up to 24 s.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { NativeConnection, type Worker } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import type { TaskRunInput } from '../../src/domain/types';
import { createWorker } from '../../src/worker';
import { connectClient, namespace, quietRuntime, temporalAddress, uniqueSlug } from '../e2e-agents/helpers';
import { fault, FakeAnthropic, reply } from '../fake-anthropic/server';
import { makeSandbox, taskInput, TEST_KEY, type Sandbox } from './helpers';

const EventType = temporal.api.enums.v1.EventType;
/** The goal is "within about 3 s"; the throttle is 2 s, plus the RPC and the activity's own stop. */
const MAX_STOP_MS = 3_500;

describe('cancellation of running tasks (real Temporal server)', function () {
  this.timeout(120_000);
  const taskQueue = uniqueSlug('cancel');
  let client: Client;
  let connection: NativeConnection;
  let worker: Worker;
  let workerRun: Promise<void>;
  let fake: FakeAnthropic;
  let sb: Sandbox;
  const savedEnv = { key: process.env.ANTHROPIC_API_KEY, url: process.env.ANTHROPIC_BASE_URL };
  const figures: string[] = [];

  before(async () => {
    quietRuntime();
    fake = await FakeAnthropic.start({ apiKey: TEST_KEY });
    // The activity reads its key and endpoint from the worker's environment, as in production.
    process.env.ANTHROPIC_API_KEY = TEST_KEY;
    process.env.ANTHROPIC_BASE_URL = fake.baseURL;
    client = await connectClient();
    connection = await NativeConnection.connect({ address: temporalAddress() });
    worker = await createWorker({
      connection,
      namespace: namespace(),
      taskQueue,
      workflowsPath: require.resolve('./cancel-workflow'),
    });
    workerRun = worker.run();
  });
  after(async () => {
    worker?.shutdown();
    await workerRun?.catch(() => undefined);
    await connection?.close();
    await fake?.close();
    restoreEnv('ANTHROPIC_API_KEY', savedEnv.key);
    restoreEnv('ANTHROPIC_BASE_URL', savedEnv.url);
    if (process.env.CANCEL_FIGURES) console.log(figures.join('\n'));
  });
  beforeEach(async () => {
    sb = await makeSandbox();
  });
  afterEach(() => sb.cleanup());

  /**
   * Starts one attempt, waits until `ready` and then a few seconds more (so heartbeats are in
   * their throttled rhythm), cancels, and returns how long the activity took to stop: from the
   * cancel request to the activity's cancelled event, both as the server recorded them.
   */
  async function cancelRunning(name: string, input: TaskRunInput, ready: () => boolean = () => true): Promise<number> {
    const workflowId = uniqueSlug(`cancel-${name}`);
    const handle = await client.workflow.start('oneTaskAttempt', {
      taskQueue,
      workflowId,
      args: [input],
      workflowExecutionTimeout: '2 minutes',
    });
    await until(async () => ready() && (await activityStarted(handle)), 20_000, `${name}: the task did not start`);
    await sleep(3_000);
    const t0 = Date.now();
    await handle.cancel();
    const err = await handle.result().then(
      () => assert.fail(`${name}: finished instead of being cancelled`),
      (e: unknown) => e,
    );
    const wallMs = Date.now() - t0;
    assert.ok((err as { cause?: unknown }).cause instanceof CancelledFailure, `${name}: ${err}`);
    const events = (await handle.fetchHistory()).events ?? [];
    const at = (type: number) => tsToMs(events.find((e) => e.eventType === type)?.eventTime);
    const stopMs =
      at(EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED) - at(EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED);
    figures.push(
      `${name}: activity stopped ${stopMs} ms after the cancel request (${wallMs} ms to the workflow's end, seen by the client)`,
    );
    assert.ok(stopMs < MAX_STOP_MS, `${name}: the activity stopped ${stopMs} ms after the cancel request`);
    return stopMs;
  }

  it('an agent waiting on the model: the request is aborted', async () => {
    fake.enqueue(fault.pingsOnly(500));
    const before = fake.messageRequests.length;
    await cancelRunning('agent-model-call', taskInput(sb.workspace), () => fake.messageRequests.length > before);
    const req = fake.messageRequests.at(-1)!;
    assert.equal(req.clientGone, true, 'the stream was aborted');
  });

  it('an agent running a Bash command: its process group is killed and the model is not asked again', async () => {
    const cmd = uniqueSleep();
    // Nothing is scripted after the tool call: a model call after the cancel would get a 400.
    fake.enqueue(reply.toolUse('Bash', { command: `${cmd} & wait` }));
    const before = fake.messageRequests.length;
    await cancelRunning('agent-bash', taskInput(sb.workspace), () => processRunning(cmd));
    assert.equal(processRunning(cmd), false, 'the command was killed');
    assert.equal(fake.messageRequests.length, before + 1, 'no model call after the cancel');
  });

  it('a command task: its process group is killed', async () => {
    const cmd = uniqueSleep();
    const input = taskInput(sb.workspace, { task: { kind: 'command', command: `${cmd} & wait`, outputType: 'build' } });
    await cancelRunning('command', input, () => processRunning(cmd));
    assert.equal(processRunning(cmd), false, 'the command was killed');
  });

  it('a dry-run agent: its simulated work ends', async () => {
    await cancelRunning(
      'dry-run',
      taskInput(sb.workspace, { agentMode: 'dry-run', task: { dryRun: { durationMs: 60_000 } } }),
    );
  });
});

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** `sleep 60.<n>`: a command line no other process has (PIDs may be namespaced by a sandbox). */
function uniqueSleep(): string {
  return `sleep 60.${Date.now() % 1_000_000}${Math.floor(Math.random() * 1000)}`;
}

/** Is a live (not zombie) process running exactly this command line? Sees into child PID namespaces. */
function processRunning(commandLine: string): boolean {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim() !== commandLine) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z') return true;
    } catch {
      /* gone meanwhile */
    }
  }
  return false;
}

async function activityStarted(handle: WorkflowHandle): Promise<boolean> {
  const d = await handle.describe();
  return !!d.raw.pendingActivities?.some(
    (a) => a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
  );
}

async function until(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(what);
    await sleep(50);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
