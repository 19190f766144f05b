/**
 * `phaseflow worker --host NAME --workspace-root DIR` processes (the compiled CLI), for tests that
 * run several hosts on one machine and kill them. A worker is ready once the server lists it
 * among the pollers of its host's queue.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import { hostReport } from '../../../src/cli/hosts';
import { waitFor } from '../../support/worker-harness';

const BIN = path.resolve(__dirname, '../../../bin/phaseflow.js');

export interface HostWorker {
  host: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
  exited: Promise<void>;
  killed?: boolean;
}

export class HostWorkers {
  readonly all: HostWorker[] = [];

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly logDir: string,
  ) {}

  async start(host: string, workspaceRoot: string): Promise<HostWorker> {
    const logFile = path.join(this.logDir, `${host}-${this.all.length + 1}.log`);
    const out = fs.openSync(logFile, 'a');
    const child = spawn(process.execPath, [BIN, 'worker', '--host', host, '--workspace-root', workspaceRoot], {
      env: { ...process.env, PHASEFLOW_TASK_QUEUE: this.taskQueue, PHASEFLOW_LOG_FILE: logFile },
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    const w: HostWorker = {
      host,
      child,
      pid: child.pid!,
      logFile,
      exited: new Promise((resolve) => child.once('exit', () => resolve())),
    };
    this.all.push(w);
    const before = (await hostReport(this.client, this.taskQueue, host)).liveWorkers;
    await waitFor(
      `worker ${w.pid} of host ${host} polling`,
      async () => {
        if (child.exitCode !== null) throw new Error(`worker of host ${host} exited ${child.exitCode}; log ${logFile}`);
        return (await hostReport(this.client, this.taskQueue, host)).liveWorkers > before;
      },
      90_000,
      200,
    );
    return w;
  }

  async kill9(host: string): Promise<number> {
    const victims = this.all.filter((w) => w.host === host && !w.killed);
    for (const w of victims) {
      w.killed = true;
      w.child.kill('SIGKILL');
    }
    await Promise.all(victims.map((w) => w.exited));
    return victims.length;
  }

  /** Workers that exited without being killed by the test. */
  unexpectedExits(): string[] {
    return this.all
      .filter((w) => !w.killed && w.child.exitCode !== null)
      .map((w) => `${w.host} pid ${w.pid} (${w.logFile})`);
  }

  async stopAll(): Promise<void> {
    const alive = this.all.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    for (const w of alive) {
      w.killed = true;
      w.child.kill('SIGTERM');
    }
    const t = setTimeout(() => alive.forEach((w) => w.child.kill('SIGKILL')), 15_000);
    await Promise.all(alive.map((w) => w.exited));
    clearTimeout(t);
  }
}
