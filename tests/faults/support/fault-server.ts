/**
 * The fault suite's Temporal dev server: a SQLite file (`--db-filename`) so its state survives a
 * restart, and a fixed port, so that after a stop (SIGTERM or SIGKILL) it comes back at the same
 * address with the same workflows and workers can reconnect. Started by ../global.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findTemporalBinary } from '../../../src/temporal/binary';
import { type DevServerHandle, freePort, startDevServer } from '../../../src/temporal/dev-server';

export interface Restart {
  signal: 'SIGTERM' | 'SIGKILL';
  /** Until the process had exited. */
  stopMs: number;
  /** Kept down on purpose. */
  pauseMs: number;
  /** Until the frontend answered again. */
  startMs: number;
  /** The whole time the server was unreachable. */
  downMs: number;
}

export class RestartableServer {
  private handle: DevServerHandle | undefined;
  /** Restarts so far, with how long the frontend was unreachable each time. */
  readonly restarts: Restart[] = [];

  private constructor(
    readonly binary: string,
    readonly dir: string,
    readonly port: number,
    readonly namespace: string,
  ) {}

  static async create(): Promise<RestartableServer> {
    const binary = await findTemporalBinary({ log: (m) => console.error(m) });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phaseflow-fault-temporal-'));
    return new RestartableServer(binary, dir, await freePort(), process.env.TEMPORAL_NAMESPACE || 'default');
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }
  get dbFile(): string {
    return path.join(this.dir, 'temporal.sqlite');
  }
  get logFile(): string {
    return path.join(this.dir, 'server.log');
  }
  get pid(): number | undefined {
    return this.handle?.process.pid;
  }

  async start(): Promise<void> {
    if (this.handle) throw new Error(`the fault server on ${this.address} is already running`);
    this.handle = await startDevServer({
      binary: this.binary,
      dbFile: this.dbFile,
      logFile: this.logFile,
      port: this.port,
      headless: true,
      namespace: this.namespace,
    });
  }

  /** Stops the server with `signal` (SIGTERM: its graceful shutdown; SIGKILL: a crash) and waits for it to exit. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const h = this.handle;
    if (!h) return;
    this.handle = undefined;
    if (signal === 'SIGKILL' && h.process.exitCode === null && h.process.signalCode === null) {
      const exited = new Promise((resolve) => h.process.once('exit', resolve));
      h.process.kill('SIGKILL');
      await exited;
    }
    // SIGTERM with a SIGKILL after a grace period; after a SIGKILL it only closes the log.
    await h.stop();
  }

  /** Stops the server, keeps it down for `downMs`, starts it again on the same port with the same file. */
  async restart(signal: 'SIGTERM' | 'SIGKILL', pauseMs: number): Promise<Restart> {
    const t0 = Date.now();
    await this.stop(signal);
    const stopMs = Date.now() - t0;
    await new Promise((r) => setTimeout(r, pauseMs));
    const t1 = Date.now();
    await this.start();
    const r = { signal, stopMs, pauseMs, startMs: Date.now() - t1, downMs: Date.now() - t0 };
    this.restarts.push(r);
    return r;
  }

  async dispose(): Promise<void> {
    await this.stop('SIGTERM');
    if (!process.env.PHASEFLOW_KEEP_TEST_DIRS) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

let current: RestartableServer | undefined;

export function setFaultServer(s: RestartableServer | undefined): void {
  current = s;
}

export function faultServer(): RestartableServer {
  if (!current)
    throw new Error(
      'no fault server: run the fault tests with `npm run test:faults` (.mocharc.faults.js loads tests/faults/global.ts)',
    );
  return current;
}
