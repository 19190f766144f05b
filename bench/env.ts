/**
 * The bench's own Temporal: a dev server on a temp SQLite file and a free port, one worker as a
 * child process (the real `phaseflow worker` from lib/, so its memory is the product's), and a
 * client. Everything lives under one temp directory that is removed at the end.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startEpic } from '../src/cli/start';
import type { EpicSpec } from '../src/domain/spec';
import { findTemporalBinary } from '../src/temporal/binary';
import { type DevServerHandle, freePort, startDevServer } from '../src/temporal/dev-server';

const REPO = path.resolve(__dirname, '..');

export interface BenchEnv {
  dir: string;
  /** The Temporal frontend (the bench's own dev server, or `--address`). */
  address: string;
  /** False with `--address`: the server is not the bench's, its CPU time is not readable. */
  ownServer: boolean;
  client: Client;
  taskQueue: string;
  binary: string;
  worker: WorkerProcess;
  /** CPU seconds (user + system) the server and the worker have used so far. */
  cpuSeconds(): { server: number; worker: number };
  /** A fresh workspace directory for one epic. */
  workspace(name: string): string;
  /** Starts an epic the way `phaseflow start` does and waits for it; returns its workflow id and client-side duration. */
  runEpic(spec: EpicSpec, taskQueue?: string): Promise<{ workflowId: string; clientMs: number }>;
  /** Another `phaseflow worker` process on its own task queue (stopped by close() if still running). */
  startWorker(opts: {
    taskQueue: string;
    env?: NodeJS.ProcessEnv;
    nodeArgs?: string[];
    name: string;
  }): Promise<WorkerProcess>;
  close(): Promise<void>;
}

export async function startBenchEnv(opts: {
  keep?: boolean;
  log: (m: string) => void;
  /** A Temporal server that is already running (e.g. the PostgreSQL stack); else the bench starts a dev server. */
  address?: string;
}): Promise<BenchEnv> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phaseflow-bench-'));
  const binary = await findTemporalBinary({ log: opts.log });
  let server: DevServerHandle | undefined;
  let worker: WorkerProcess | undefined;
  const extraWorkers: WorkerProcess[] = [];
  let connection: Connection | undefined;
  const cleanup = async () => {
    for (const w of extraWorkers) await w.stop();
    await worker?.stop();
    await connection?.close().catch(() => undefined);
    await server?.stop();
    if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
    else opts.log(`kept ${dir}`);
  };
  try {
    let address = opts.address;
    if (address) {
      opts.log(`Temporal server at ${address} (--address; not started by the bench, its CPU time is not measured)`);
    } else {
      server = await startDevServer({
        binary,
        dbFile: path.join(dir, 'temporal.sqlite'),
        logFile: path.join(dir, 'server.log'),
        port: await freePort(),
        headless: true,
      });
      address = server.address;
      opts.log(`dev server on ${server.address} (SQLite ${path.join(dir, 'temporal.sqlite')})`);
    }
    const taskQueue = `bench-${Date.now().toString(36)}`;
    worker = await WorkerProcess.start({ address, taskQueue, logFile: path.join(dir, 'worker.log') });
    opts.log(`worker pid ${worker.pid} on task queue ${taskQueue}`);
    connection = await Connection.connect({ address });
    const client = new Client({ connection, namespace: 'default' });
    return {
      dir,
      address,
      ownServer: server !== undefined,
      client,
      taskQueue,
      binary,
      worker,
      cpuSeconds: () => ({
        server: server ? cpuSecondsOf(server.process.pid!) : NaN,
        worker: cpuSecondsOf(worker!.pid),
      }),
      workspace: (name) => {
        const ws = path.join(dir, 'ws', name);
        fs.mkdirSync(ws, { recursive: true });
        return ws;
      },
      runEpic: async (spec, queue = taskQueue) => {
        const started = performance.now();
        const workflowId = await startEpic(client, spec, { taskQueue: queue });
        await client.workflow.getHandle(workflowId).result();
        return { workflowId, clientMs: performance.now() - started };
      },
      startWorker: async (w) => {
        const started = await WorkerProcess.start({
          address: address!,
          taskQueue: w.taskQueue,
          logFile: path.join(dir, `worker-${w.name}.log`),
          env: w.env,
          nodeArgs: w.nodeArgs,
        });
        extraWorkers.push(started);
        return started;
      },
      close: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** `node bin/phaseflow.js worker` in its own process, with its peak RSS readable from /proc. */
export class WorkerProcess {
  private exited: string | undefined;
  private readonly exitPromise: Promise<void>;
  private readonly stderrTail: string[] = [];

  private constructor(private readonly child: ChildProcess) {
    this.exitPromise = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        this.exited = signal ? `signal ${signal}` : `code ${code}`;
        resolve();
      }),
    );
    child.stderr!.on('data', (c: Buffer) => {
      this.stderrTail.push(c.toString('utf8'));
      if (this.stderrTail.length > 20) this.stderrTail.shift();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async start(opts: {
    address: string;
    taskQueue: string;
    logFile: string;
    env?: NodeJS.ProcessEnv;
    /** Node flags before the worker's (default: PHASEFLOW_BENCH_WORKER_NODE_ARGS or the 256 MB heap). */
    nodeArgs?: string[];
  }): Promise<WorkerProcess> {
    const cli = path.join(REPO, 'bin', 'phaseflow.js');
    if (!fs.existsSync(path.join(REPO, 'lib', 'cli', 'main.js')))
      throw new Error(`lib/ is not built; run \`npm run build\` first (npm run bench does)`);
    // PHASEFLOW_BENCH_WORKER_NODE_ARGS: extra node flags for the worker only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    // The worker runs as the Dockerfile runs it (NODE_OPTIONS=--max-old-space-size=256) unless told otherwise.
    const nodeArgs =
      opts.nodeArgs ??
      (process.env.PHASEFLOW_BENCH_WORKER_NODE_ARGS ?? '--max-old-space-size=256').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, cli, 'worker', '--log-file', opts.logFile], {
      cwd: REPO,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: opts.address,
        TEMPORAL_NAMESPACE: 'default',
        PHASEFLOW_TASK_QUEUE: opts.taskQueue,
        PHASEFLOW_LOG_LEVEL: 'warn',
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const w = new WorkerProcess(child);
    // The CLI prints one line once the worker is created (workflow bundle built, about to poll).
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error(`worker did not start within 120 s; stderr: ${w.stderrTail.join('')}`)),
        120_000,
      );
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString('utf8');
        if (out.includes('phaseflow worker on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void w.exitPromise.then(() => {
        clearTimeout(timer);
        reject(new Error(`worker exited during startup (${w.exited}); stderr: ${w.stderrTail.join('')}`));
      });
    });
    return w;
  }

  /** VmHWM and VmRSS in bytes (Linux /proc). */
  memory(): { peakRssBytes: number; rssBytes: number } {
    this.assertAlive();
    const status = fs.readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { peakRssBytes: kb('VmHWM'), rssBytes: kb('VmRSS') };
  }

  /** Resets VmHWM to the current RSS (Linux ≥ 4.0), so a scenario's peak is its own. */
  resetPeak(): boolean {
    try {
      fs.writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      return true;
    } catch {
      return false;
    }
  }

  /** kill -9, as a crash would; resolves once the process is gone. */
  async kill(): Promise<void> {
    if (this.exited !== undefined) return;
    this.child.kill('SIGKILL');
    await this.exitPromise;
  }

  assertAlive(): void {
    if (this.exited !== undefined)
      throw new Error(
        `the bench worker (pid ${this.pid}) exited (${this.exited}); stderr: ${this.stderrTail.join('')}`,
      );
  }

  async stop(): Promise<void> {
    if (this.exited !== undefined) return;
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exitPromise;
    clearTimeout(timer);
  }
}

let clockTicks: number | undefined;

/** utime + stime of a process from /proc/<pid>/stat (Linux), in seconds. */
function cpuSecondsOf(pid: number): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  // The command name (field 2) may hold spaces; count fields after its closing parenthesis.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}
