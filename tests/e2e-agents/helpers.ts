/**
 * Fixtures for the end-to-end agent tests: the real Temporal dev server (mocha global fixture),
 * the real worker and workflows, the real agent activity, and the fake Messages API.
 */
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { workflowIds } from '../../src/domain/ids';
import { mirrorPaths } from '../../src/domain/paths';
import type { EpicSpecInput } from '../../src/domain/spec';
import { createWorker } from '../../src/worker';
import {
  fault,
  FakeAnthropic,
  type FakeFault,
  type FakeReply,
  type FakeStep,
  type RecordedRequest,
} from '../fake-anthropic/server';
import { epicWorkflow } from '../../src/workflows/epic';

export const TEST_KEY = 'sk-ant-e2e-test-key-0123456789abcdef';

/** Fast ladders: 8 s, 12 s, 18 s attempts; 0.2 s backoff; 5 s heartbeat timeout. */
export const FAST_SETTINGS = {
  timeoutBaseSeconds: 8,
  retryBackoffSeconds: 0.2,
  heartbeatSeconds: 5,
  decisionTimeoutSeconds: 1,
} as const;

export const EventType = temporal.api.enums.v1.EventType;
export type History = temporal.api.history.v1.IHistory;
export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

// ---- names and places ------------------------------------------------------------------------

/** A slug no earlier run on the same server used (workflow ids derive from it). */
export function uniqueSlug(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export interface TempWorkspace {
  dir: string;
  cleanup(): Promise<void>;
}

export async function tempWorkspace(): Promise<TempWorkspace> {
  const dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'phaseflow-e2e-agents-')));
  return {
    dir,
    cleanup: () => (process.env.E2E_KEEP === '1' ? Promise.resolve() : fs.rm(dir, { recursive: true, force: true })),
  };
}

export async function readJson(file: string): Promise<any> {
  return JSON.parse(await fs.readFile(file, 'utf8'));
}

export const mirrors = {
  progress: (ws: string, plan: string) => readJson(path.join(ws, mirrorPaths.progress(plan))),
  roadmap: (ws: string, roadmap: string) => readJson(path.join(ws, mirrorPaths.roadmap(roadmap))),
  epic: (ws: string, epic: string) => readJson(path.join(ws, mirrorPaths.epic(epic))),
};

// ---- the spec --------------------------------------------------------------------------------

export interface TaskDef {
  id: string;
  description?: string;
  outputType?: 'search' | 'analysis' | 'code' | 'tests' | 'build';
  complexity?: 'simple' | 'default' | 'complex';
  files?: string[];
  settings?: Record<string, unknown>;
  domain?: 'frontend' | 'backend' | 'testing' | 'deployment' | 'general';
}

/** One roadmap, one plan, the given phases of agent tasks; agentMode claude. */
export function agentEpic(args: {
  slug: string;
  workspace: string;
  phases: { slug: string; tasks: TaskDef[] }[];
  settings?: Record<string, unknown>;
  roadmap?: string;
  plan?: string;
}): EpicSpecInput {
  return {
    slug: args.slug,
    title: `E2E ${args.slug}`,
    workspace: args.workspace,
    agentMode: 'claude',
    settings: { ...FAST_SETTINGS, ...args.settings },
    roadmaps: [
      {
        slug: args.roadmap ?? 'mvp',
        title: 'MVP',
        plans: [
          {
            slug: args.plan ?? 'greeter',
            title: 'Greeter',
            phases: args.phases.map((ph, i) => ({
              slug: ph.slug,
              title: `Phase ${i + 1} (${ph.slug})`,
              tasks: ph.tasks.map((t) => ({
                id: t.id,
                description: t.description ?? `Task ${t.id} of the e2e test`,
                kind: 'agent' as const,
                domain: t.domain ?? 'backend',
                outputType: t.outputType ?? 'code',
                complexity: t.complexity ?? 'default',
                files: t.files ?? [],
                ...(t.settings ? { settings: t.settings } : {}),
              })),
            })),
          },
        ],
      },
    ],
  };
}

/** Workflow ids of an epic started as `epic/<slug>`: `epic/<epic>/<roadmap>/<plan>/<phase>`. */
export const ids = {
  epic: (spec: EpicSpecInput) => workflowIds.epic(spec.slug),
  roadmap: (spec: EpicSpecInput) => `${ids.epic(spec)}/${spec.roadmaps[0].slug}`,
  plan: (spec: EpicSpecInput) => `${ids.roadmap(spec)}/${spec.roadmaps[0].plans[0].slug}`,
  phase: (spec: EpicSpecInput, phaseIndex = 0) =>
    `${ids.plan(spec)}/${spec.roadmaps[0].plans[0].phases[phaseIndex].slug}`,
};

export function phaseWorkflowId(spec: EpicSpecInput, phaseIndex = 0): string {
  return ids.phase(spec, phaseIndex);
}

// ---- environment for the in-process activity -------------------------------------------------

/** Points the worker's agent activity at the fake (it reads process.env); returns the restore. */
export function useFakeApi(fake: FakeAnthropic, key = TEST_KEY): () => void {
  const saved = {
    ANTHROPIC_BASE_URL: process.env.ANTHROPIC_BASE_URL,
    ANTHROPIC_API_KEY: process.env.ANTHROPIC_API_KEY,
  };
  process.env.ANTHROPIC_BASE_URL = fake.baseURL;
  process.env.ANTHROPIC_API_KEY = key;
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** What an e2e test works with; the fields are filled in by the hooks useE2eRig registers. */
export interface E2eRig {
  readonly client: Client;
  readonly fake: FakeAnthropic;
  readonly ws: TempWorkspace;
}

/**
 * Registers, in the calling describe: one Temporal client for the suite, and a fresh fake
 * Messages API, temp workspace and worker env (useFakeApi) for each test (`'each'`) or once for
 * the suite (`'all'`, for a suite whose tests all check one run made in its own before hook,
 * which runs after this one as it is registered later).
 */
export function useE2eRig(fresh: 'each' | 'all' = 'each'): E2eRig {
  const t = {} as { client: Client; fake: FakeAnthropic; ws: TempWorkspace };
  let restoreEnv: (() => void) | undefined;
  before(async () => {
    t.client = await connectClient();
  });
  after(async () => {
    await t.client?.connection.close();
  });
  (fresh === 'each' ? beforeEach : before)(async () => {
    t.fake = await FakeAnthropic.start();
    t.ws = await tempWorkspace();
    restoreEnv = useFakeApi(t.fake);
  });
  (fresh === 'each' ? afterEach : after)(async () => {
    restoreEnv?.();
    await t.fake?.close();
    await t.ws?.cleanup();
  });
  return t;
}

// ---- scripting the fake by task --------------------------------------------------------------

/** The task id a request belongs to, read from the system prompt ("Task 1.1 (backend, ..."). */
export function taskIdOf(body: any): string | undefined {
  const system = Array.isArray(body?.system)
    ? body.system.map((b: any) => b.text).join('\n')
    : String(body?.system ?? '');
  const first = body?.messages?.[0]?.content;
  // Claude Code (the claude-code runtime) gets the task in its first user message, not the system prompt.
  const opening = Array.isArray(first) ? first.map((b: any) => b.text ?? '').join('\n') : String(first ?? '');
  return /^Task (\S+) \(/m.exec(system)?.[1] ?? /^Task (\S+) \(/m.exec(opening)?.[1];
}

export interface ScriptedRequest {
  taskId: string | undefined;
  at: number;
  req: RecordedRequest;
  served: FakeReply['kind'] | FakeFault['kind'];
}

/**
 * Scripts per task: parallel tasks reach the fake in any order, so each request takes the next
 * step of *its* task (found in the request), not the next step of one global queue.
 */
export class AgentScript {
  private readonly queues = new Map<string, FakeStep[]>();
  readonly seen: ScriptedRequest[] = [];

  constructor(private readonly fake: FakeAnthropic) {}

  on(taskId: string, ...steps: FakeStep[]): this {
    if (!this.queues.has(taskId)) this.queues.set(taskId, []);
    this.queues.get(taskId)!.push(...steps);
    // One dispatcher per step keeps the fake's global queue exactly as long as all the scripts.
    this.fake.enqueue(...steps.map(() => (req: RecordedRequest) => this.dispatch(req)));
    return this;
  }

  /** Requests of one task, in arrival order. */
  requests(taskId: string): ScriptedRequest[] {
    return this.seen.filter((s) => s.taskId === taskId);
  }

  left(taskId: string): number {
    return this.queues.get(taskId)?.length ?? 0;
  }

  private dispatch(req: RecordedRequest): FakeReply | FakeFault {
    const taskId = taskIdOf(req.body);
    const queue = taskId === undefined ? undefined : this.queues.get(taskId);
    const step: FakeStep | undefined = queue?.shift();
    const out: FakeReply | FakeFault =
      step === undefined
        ? fault.badRequest(`e2e script: nothing scripted for task ${taskId ?? '(unknown)'} (request #${req.index})`)
        : typeof step === 'function'
          ? step(req)
          : step;
    this.seen.push({ taskId, at: Date.now(), req, served: out.kind });
    return out;
  }
}

/** The messages of a recorded request, as roles and the tool ids / results they carry. */
export function toolUseIds(body: any): string[] {
  return body.messages.flatMap((m: any) =>
    Array.isArray(m.content) ? m.content.filter((b: any) => b.type === 'tool_use').map((b: any) => b.id) : [],
  );
}

export function toolResultIds(body: any): string[] {
  return body.messages.flatMap((m: any) =>
    Array.isArray(m.content)
      ? m.content.filter((b: any) => b.type === 'tool_result').map((b: any) => b.tool_use_id)
      : [],
  );
}

// ---- Temporal --------------------------------------------------------------------------------

export function temporalAddress(): string {
  const a = process.env.TEMPORAL_ADDRESS;
  if (!a) throw new Error('TEMPORAL_ADDRESS is not set: run through mocha (tests/support/global.ts starts the server)');
  return a;
}

export const namespace = () => process.env.TEMPORAL_NAMESPACE || 'default';

export async function connectClient(): Promise<Client> {
  const connection = await Connection.connect({ address: temporalAddress() });
  return new Client({ connection, namespace: namespace() });
}

export interface EpicRun {
  /** The epic's result, or the error it failed with. */
  result?: unknown;
  error?: unknown;
  ms: number;
}

/**
 * The SDK's default runtime logs each worker state change at INFO: keep tests to errors
 * (PHASEFLOW_TEST_SDK_LOGS=1 keeps the default). Only if no runtime exists yet (one per process).
 */
export function quietRuntime(level: 'WARN' | 'ERROR' = 'ERROR'): void {
  if (Runtime._instance || process.env.PHASEFLOW_TEST_SDK_LOGS) return;
  Runtime.install({
    logger: new DefaultLogger(level),
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) } },
  });
}

/** Runs one epic on a fresh in-process worker (src/worker.ts) on its own task queue. */
export async function runEpicInProcess(
  client: Client,
  spec: EpicSpecInput,
  taskQueue: string,
  timeoutMs = 60_000,
  /** Runs beside the epic (e.g. a person answering a question); the run ends when both have. */
  during?: (handle: WorkflowHandle) => Promise<void>,
): Promise<EpicRun> {
  quietRuntime();
  const connection = await NativeConnection.connect({ address: temporalAddress() });
  let worker: Worker | undefined;
  const t0 = Date.now();
  try {
    worker = await createWorker({ connection, namespace: namespace(), taskQueue });
    const handle = await client.workflow.start(epicWorkflow, {
      taskQueue,
      workflowId: workflowIds.epic(spec.slug),
      args: [spec],
      workflowExecutionTimeout: timeoutMs,
    });
    try {
      const result = await worker.runUntil(Promise.all([handle.result(), during?.(handle)]).then(([r]) => r));
      return { result, ms: Date.now() - t0 };
    } catch (error) {
      return { error, ms: Date.now() - t0 };
    }
  } finally {
    await connection.close();
  }
}

/** The message of an error and of each cause under it, joined. */
export function failureChain(err: unknown): string {
  const parts: string[] = [];
  let e: any = err;
  for (let i = 0; e && i < 20; i++, e = e.cause) parts.push(`${e.name ?? 'Error'}: ${e.message}`);
  return parts.join(' <- ');
}

export function isWorkflowFailed(err: unknown): err is WorkflowFailedError {
  return err instanceof WorkflowFailedError;
}

// ---- history ---------------------------------------------------------------------------------

export async function history(client: Client, workflowId: string): Promise<History> {
  return client.workflow.getHandle(workflowId).fetchHistory();
}

const eventMs = (e: HistoryEvent) => tsToMs(e.eventTime);
const durMs = (d: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  d ? tsToMs(d as any) : undefined;

function decodePayload(p: temporal.api.common.v1.IPayload | null | undefined): unknown {
  if (!p?.data) return undefined;
  const text = Buffer.from(p.data).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface ActivityRecord {
  type: string;
  scheduledEventId: number;
  scheduledAt: number;
  startToCloseMs?: number;
  heartbeatMs?: number;
  input: any;
  /** How it ended, if it did. */
  end?: 'completed' | 'failed' | 'timedOut' | 'canceled';
  endedAt?: number;
  result?: any;
  failure?: temporal.api.failure.v1.IFailure | null;
}

/** Every activity of a workflow's history, with its timeouts, input and end. */
export function activities(h: History, type?: string): ActivityRecord[] {
  const byId = new Map<number, ActivityRecord>();
  for (const e of h.events ?? []) {
    const id = Number(e.eventId);
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      const a = e.activityTaskScheduledEventAttributes!;
      byId.set(id, {
        type: a.activityType?.name ?? '',
        scheduledEventId: id,
        scheduledAt: eventMs(e),
        startToCloseMs: durMs(a.startToCloseTimeout),
        heartbeatMs: durMs(a.heartbeatTimeout),
        input: decodePayload(a.input?.payloads?.[0]),
      });
      continue;
    }
    const ends: [number, 'completed' | 'failed' | 'timedOut' | 'canceled', any][] = [
      [EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, 'completed', e.activityTaskCompletedEventAttributes],
      [EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED, 'failed', e.activityTaskFailedEventAttributes],
      [EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, 'timedOut', e.activityTaskTimedOutEventAttributes],
      [EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED, 'canceled', e.activityTaskCanceledEventAttributes],
    ];
    for (const [t, end, attrs] of ends) {
      if (e.eventType !== t || !attrs) continue;
      const rec = byId.get(Number(attrs.scheduledEventId));
      if (!rec) continue;
      rec.end = end;
      rec.endedAt = eventMs(e);
      if (end === 'completed') rec.result = decodePayload(attrs.result?.payloads?.[0]);
      if (end === 'failed' || end === 'timedOut') rec.failure = attrs.failure;
    }
  }
  return [...byId.values()].filter((r) => type === undefined || r.type === type);
}

export interface TimerRecord {
  startedAt: number;
  startToFireMs?: number;
  firedAt?: number;
  summary?: string;
}

export function timers(h: History): TimerRecord[] {
  const byId = new Map<string, TimerRecord>();
  for (const e of h.events ?? []) {
    if (e.eventType === EventType.EVENT_TYPE_TIMER_STARTED) {
      const a = e.timerStartedEventAttributes!;
      byId.set(a.timerId ?? '', { startedAt: eventMs(e), startToFireMs: durMs(a.startToFireTimeout) });
    } else if (e.eventType === EventType.EVENT_TYPE_TIMER_FIRED) {
      const rec = byId.get(e.timerFiredEventAttributes?.timerId ?? '');
      if (rec) rec.firedAt = eventMs(e);
    }
  }
  return [...byId.values()];
}

/** The history as Temporal's JSON history files have it (payload bytes as base64). */
export function historyJson(h: History): string {
  const History = temporal.api.history.v1.History;
  return JSON.stringify(History.toObject(History.fromObject(h), { longs: String, enums: String, bytes: String }));
}

/** Size of the history on the wire (protobuf). */
export function historyBytes(h: History): number {
  const History = temporal.api.history.v1.History;
  return History.encode(History.fromObject(h)).finish().length;
}

/**
 * The history as readable JSON: payload bytes decoded to their text (so a transcript in a
 * payload would show as itself, not as base64), Longs as numbers.
 */
export function historyText(h: History): string {
  // Walk the message objects ourselves: protobufjs messages have a toJSON that base64s bytes.
  const plain = (v: any): any => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
    if (Array.isArray(v)) return v.map(plain);
    if (v && typeof v === 'object') {
      if (typeof v.low === 'number' && typeof v.high === 'number' && typeof v.unsigned === 'boolean')
        return Number(v.toString());
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v)) if (v[k] !== null && v[k] !== undefined) out[k] = plain(v[k]);
      return out;
    }
    return v;
  };
  return JSON.stringify(plain(h));
}

// ---- a worker in a child process -------------------------------------------------------------

export interface WorkerProcess {
  child: ChildProcess;
  /** stdout + stderr so far (for failure messages). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal to this process only (by its pid), if it is still running. */
  kill(signal: NodeJS.Signals): void;
}

/**
 * The worker processes a test starts (push them here), stopped after each test: SIGTERM, then
 * SIGKILL after 10 s. Call it before useE2eRig(), so the workers are gone before the fake and the
 * workspace go.
 */
export function useWorkerProcesses(): WorkerProcess[] {
  const workers: WorkerProcess[] = [];
  afterEach(async () => {
    for (const w of workers.splice(0)) {
      w.kill('SIGTERM');
      const gone = await Promise.race([
        w.exited.then(() => true),
        new Promise((r) => setTimeout(() => r(false), 10_000)),
      ]);
      if (!gone) w.kill('SIGKILL');
    }
  });
  return workers;
}

/** Starts tests/e2e-agents/worker-process.ts on `taskQueue` with extra environment. */
export function startWorkerProcess(taskQueue: string, env: Record<string, string>): WorkerProcess {
  const script = path.join(__dirname, 'worker-process.ts');
  const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), script, taskQueue], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => out,
    exited,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
