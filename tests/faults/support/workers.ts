/**
 * phaseflow workers as child processes (tests/support/worker-process.ts: the real createWorker),
 * so a test can kill -9 them. Each worker's output goes to its own log file; a worker that exits
 * without the test killing it is recorded (a worker that gives up while the server is down shows
 * up here).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { waitFor } from '../../support/worker-harness';

const REPO = path.resolve(__dirname, '../../..');

export interface WorkerProc {
  child: ChildProcess;
  pid: number;
  /** The identity it polls with (worker-process.ts: `test-worker-<pid>`), as history events show it. */
  identity: string;
  logFile: string;
  startedAt: number;
  readyAt?: number;
  /** Set when the test killed it. */
  killedAt?: number;
  exit?: { code: number | null; signal: NodeJS.Signals | null; at: number };
  exited: Promise<void>;
}

export class WorkerPool {
  readonly all: WorkerProc[] = [];

  constructor(
    private readonly taskQueue: string,
    private readonly logDir: string,
  ) {
    fs.mkdirSync(logDir, { recursive: true });
  }

  /** Starts a worker and waits until it polls (up to 90 s: bundling the workflows takes a while on 2 cores). */
  async start(): Promise<WorkerProc> {
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', 'tests/support/worker-process.ts', this.taskQueue], {
      cwd: REPO,
      // WARN: the SDK's reconnect warnings land in the worker's log.
      env: { ...process.env, PHASEFLOW_TEST_WORKER_LOG_LEVEL: process.env.PHASEFLOW_TEST_WORKER_LOG_LEVEL ?? 'WARN' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const logFile = path.join(this.logDir, `worker-${this.all.length + 1}-${child.pid}.log`);
    const log = fs.createWriteStream(logFile);
    let ready = false;
    child.stdout!.on('data', (d: Buffer) => {
      log.write(d);
      if (!ready && d.toString().includes('worker ready')) ready = true;
    });
    child.stderr!.on('data', (d: Buffer) => log.write(d));
    const w: WorkerProc = {
      child,
      pid: child.pid!,
      identity: `test-worker-${child.pid}`,
      logFile,
      startedAt: Date.now(),
      exited: new Promise((resolve) =>
        child.once('exit', (code, signal) => {
          w.exit = { code, signal, at: Date.now() };
          log.end();
          resolve();
        }),
      ),
    };
    this.all.push(w);
    await Promise.race([
      waitFor(`worker ${w.pid} to report ready`, () => ready, 90_000, 50),
      w.exited.then(() => {
        throw new Error(
          `worker ${w.pid} exited (${w.exit?.code ?? w.exit?.signal}) before it was ready; log: ${logFile}\n${tail(logFile)}`,
        );
      }),
    ]);
    w.readyAt = Date.now();
    return w;
  }

  /** kill -9, and wait until the process is gone. */
  async kill9(w: WorkerProc): Promise<void> {
    if (w.exit) throw new Error(`worker ${w.pid} already exited (${w.exit.code ?? w.exit.signal})`);
    w.killedAt = Date.now();
    w.child.kill('SIGKILL');
    await w.exited;
  }

  alive(): WorkerProc[] {
    return this.all.filter((w) => !w.exit);
  }

  /** Workers that exited although the test did not kill them, with the end of their logs. */
  unexpectedExits(): string[] {
    return this.all
      .filter((w) => w.exit && w.killedAt === undefined)
      .map((w) => `worker ${w.pid} exited (${w.exit!.code ?? w.exit!.signal}); log ${w.logFile}:\n${tail(w.logFile)}`);
  }

  /** Stops the workers still running: SIGTERM (graceful), SIGKILL after 10 s. */
  async stopAll(): Promise<void> {
    await Promise.all(
      this.alive().map(async (w) => {
        w.killedAt = Date.now();
        w.child.kill('SIGTERM');
        const t = setTimeout(() => w.child.kill('SIGKILL'), 10_000);
        await w.exited;
        clearTimeout(t);
      }),
    );
  }
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
