/**
 * Runs Temporal's own dev server (`temporal server start-dev`) with a SQLite file, the way
 * `phaseflow server`, the demo and the tests need it: phaseflow's search attributes registered,
 * and not handed back until the frontend answers.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { Connection } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import { ALL_SEARCH_ATTRIBUTES } from '../domain/search-attributes';
import { withParentDeath } from '../parent-death';
import { findTemporalBinary } from './binary';

export interface DevServerOptions {
  dbFile: string;
  port?: number;
  uiPort?: number;
  headless?: boolean;
  namespace?: string;
  /** Server output is appended here (it is also kept in memory for error messages). */
  logFile?: string;
  /** Path to the `temporal` binary; default findTemporalBinary(). */
  binary?: string;
  /** How long to wait for the frontend (default 60 s). */
  startTimeoutMs?: number;
}

export interface DevServerHandle {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const STOP_GRACE_MS = 10_000;

/** The CLI's `--search-attribute NAME=TYPE` spelling of each SDK type. */
const CLI_TYPE: Record<SearchAttributeType, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

export function devServerArgs(opts: DevServerOptions): string[] {
  const port = opts.port ?? 7233;
  const args = ['server', 'start-dev', '--db-filename', opts.dbFile, '--port', String(port)];
  if (opts.headless) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort ?? 8233));
  args.push(
    '--namespace',
    opts.namespace ?? 'default',
    '--ip',
    HOST,
    '--log-format',
    'json',
    '--log-level',
    'warn',
    // WAL + NORMAL: durable across process crashes, and much faster than the default journal.
    '--sqlite-pragma',
    'journal_mode=WAL',
    '--sqlite-pragma',
    'synchronous=NORMAL',
  );
  for (const key of ALL_SEARCH_ATTRIBUTES) {
    args.push('--search-attribute', `${key.name}=${CLI_TYPE[key.type]}`);
  }
  for (const dc of [
    'limit.numPendingActivities.error=5000',
    'frontend.enableUpdateWorkflowExecution=true',
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
    // The dev server has one history shard, read by default at most 20 times a second: ~50 ms
    // on every hop (activity done → workflow task, child started/completed). Measured with
    // `npm run bench`: 410 → ~95 ms overhead per phase.
    'history.transferProcessorMaxPollRPS=1000',
    // Activities scheduled by a workflow task start on the same worker without a queue round trip.
    'system.enableActivityEagerExecution=true',
    // One worker process polls a queue: with the default 4 partitions a task can land on a
    // partition with no poller waiting and be forwarded (`npm run bench`: ~101 → ~94 ms a phase).
    'matching.numTaskqueueReadPartitions=1',
    'matching.numTaskqueueWritePartitions=1',
  ]) {
    args.push('--dynamic-config-value', dc);
  }
  return args;
}

export async function startDevServer(opts: DevServerOptions): Promise<DevServerHandle> {
  const binary = opts.binary ?? (await findTemporalBinary());
  const port = opts.port ?? 7233;
  const address = `${HOST}:${port}`;
  const uiUrl = opts.headless ? undefined : `http://${HOST}:${opts.uiPort ?? 8233}`;

  // SIGTERM when this process dies, even by kill -9 (where the 'exit' hook below never runs): the
  // server shuts down as on Ctrl-C and frees its ports, rather than running on as an orphan.
  const run = withParentDeath(binary, devServerArgs(opts), 'TERM');
  const child = spawn(run.file, run.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = new OutputTail(opts.logFile);
  child.stdout!.on('data', (c: Buffer) => output.add(c));
  child.stderr!.on('data', (c: Buffer) => output.add(c));

  let exited: string | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = signal ? `signal ${signal}` : `code ${code}`;
      resolve();
    });
    child.on('error', (err) => {
      exited = `spawn error: ${err.message}`;
      resolve();
    });
  });
  // Never leave an orphaned server behind when this process exits without calling stop().
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    if (exited === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exitPromise;
      clearTimeout(timer);
    }
    output.close();
  };

  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== undefined) {
      await stop();
      const busy = portInUse(output.tail());
      if (busy) throw new DevServerStartError(`${busy.which} port ${busy.port} is already in use on ${HOST}`, busy);
      throw new DevServerStartError(
        `temporal dev server (${binary}) exited during startup (${exited}) on ${address}.\nLast server output:\n${output.tail()}`,
      );
    }
    const probe = isServerReachable(address, opts.namespace ?? 'default', 1000);
    if (await Promise.race([probe, exitPromise.then(() => false)])) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `temporal dev server on ${address} did not become healthy within ${timeoutMs / 1000}s.\n` +
          `Last server output:\n${output.tail()}`,
      );
    }
    await Promise.race([sleep(200), exitPromise]);
  }
  return { address, uiUrl, process: child, stop };
}

/** The dev server did not come up; `portInUse` when its frontend or UI port was taken. */
export class DevServerStartError extends Error {
  constructor(
    message: string,
    readonly portInUse?: { which: 'frontend' | 'UI'; port: number },
  ) {
    super(message);
    this.name = 'DevServerStartError';
  }
}

/** `can't set frontend port 7233: listen tcp 127.0.0.1:7233: bind: address already in use` in the server's output. */
function portInUse(output: string): DevServerStartError['portInUse'] {
  const m = /can't set (frontend|UI) port (\d+):[^\n]*address already in use/.exec(output);
  if (m) return { which: m[1] as 'frontend' | 'UI', port: Number(m[2]) };
  const any = /listen tcp [^\s]*:(\d+): bind: address already in use/.exec(output);
  return any ? { which: 'frontend', port: Number(any[1]) } : undefined;
}

/** True when a frontend answers at `address` and knows `namespace`; gives up after ~timeoutMs. */
export async function isServerReachable(address: string, namespace: string, timeoutMs = 2000): Promise<boolean> {
  let connection: Connection | undefined;
  const attempt = (async () => {
    connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    const deadline = Date.now() + timeoutMs;
    await connection.withDeadline(deadline, () => connection!.healthService.check({}));
    await connection.withDeadline(deadline, () => connection!.workflowService.describeNamespace({ namespace }));
    return true;
  })().catch(() => false);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs + 500);
  });
  const ok = await Promise.race([attempt, timeout]);
  clearTimeout(timer);
  await connection?.close().catch(() => undefined);
  return ok;
}

/** A TCP port free right now on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Keeps the last lines of server output for error messages, and mirrors it to a log file. */
class OutputTail {
  private lines: string[] = [];
  private fd: number | undefined;

  constructor(logFile?: string) {
    if (logFile) this.fd = fs.openSync(logFile, 'a');
  }

  add(chunk: Buffer): void {
    if (this.fd !== undefined) fs.writeSync(this.fd, chunk);
    this.lines.push(
      ...chunk
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim()),
    );
    if (this.lines.length > 40) this.lines.splice(0, this.lines.length - 40);
  }

  tail(): string {
    return this.lines.length ? this.lines.join('\n') : '(no output)';
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
