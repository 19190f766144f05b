/**
 * One production-shaped stack on this machine: PostgreSQL, the Temporal server on it and the Web
 * UI, under one directory (data, configuration, logs, pid files). `up` builds what is missing,
 * starts what is not running and is safe to repeat; `down` stops all three and leaves nothing
 * running; `status` says what runs and answers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isServerReachable } from '../temporal/dev-server';
import { DEFAULT_PORTS, defaultStackDir, NAMESPACE, portProblem, STACK_VERSIONS, type StackPorts } from './config';
import { cachedPath, ensureGoProgram } from './go-build';
import { ensurePostgresInstalled, Postgres, postgresBinDir } from './postgres';
import { isRunning, stopProcess, waitUntil } from './processes';
import {
  prepareNamespace,
  serverPaths,
  serverPid,
  setupSchema,
  startServer,
  writeServerConfig,
} from './temporal-server';
import { startUi, uiAnswers, uiPaths, uiPid, waitForUi } from './ui';

export interface StackOptions {
  dir?: string;
  ports?: Partial<StackPorts>;
  /** No Web UI. */
  headless?: boolean;
  log?: (m: string) => void;
}

/** What `stack.json` keeps: the ports of the last `up` (later commands use them) and when each part started. */
interface StackState {
  ports: StackPorts;
  headless: boolean;
  versions: typeof STACK_VERSIONS;
  upAt?: string;
}

export interface StackInfo {
  dir: string;
  ports: StackPorts;
  address: string;
  namespace: string;
  uiUrl?: string;
}

export class Stack {
  readonly dir: string;
  private readonly log: (m: string) => void;

  constructor(opts: StackOptions = {}) {
    this.dir = path.resolve(opts.dir ?? defaultStackDir());
    this.log = opts.log ?? ((m) => process.stderr.write(`stack: ${m}\n`));
    const saved = this.saved();
    this.ports = { ...DEFAULT_PORTS, ...saved?.ports, ...definedOnly(opts.ports ?? {}) };
    this.headless = opts.headless ?? saved?.headless ?? false;
  }

  readonly ports: StackPorts;
  readonly headless: boolean;

  private get stateFile(): string {
    return path.join(this.dir, 'stack.json');
  }

  private saved(): StackState | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.stateFile, 'utf8')) as StackState;
    } catch {
      return undefined;
    }
  }

  get info(): StackInfo {
    return {
      dir: this.dir,
      ports: this.ports,
      address: `127.0.0.1:${this.ports.frontend}`,
      namespace: NAMESPACE.name,
      ...(this.headless ? {} : { uiUrl: `http://127.0.0.1:${this.ports.ui}` }),
    };
  }

  postgres(): Postgres {
    const bin = postgresBinDir();
    if (!bin) throw new Error('no PostgreSQL installed (phaseflow stack up installs it)');
    return new Postgres(this.dir, this.ports.postgres, bin);
  }

  /** Brings every part up that is not running; returns timings (ms) of each step. */
  async up(): Promise<{ info: StackInfo; ms: Record<string, number> }> {
    const ms: Record<string, number> = {};
    const step = async <T>(name: string, fn: () => Promise<T> | T): Promise<T> => {
      const t = Date.now();
      const r = await fn();
      ms[name] = Date.now() - t;
      return r;
    };
    const bad = portProblem(this.ports);
    if (bad) throw new Error(bad);
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    const [server, sqlTool, ui] = await step('build', () =>
      Promise.all([
        ensureGoProgram('server', this.log),
        ensureGoProgram('sqlTool', this.log),
        this.headless ? undefined : ensureGoProgram('ui', this.log),
      ]),
    );
    const pg = await step('postgres', () => {
      const pgBin = ensurePostgresInstalled(this.log);
      const p = new Postgres(this.dir, this.ports.postgres, pgBin);
      p.init(this.log);
      p.start();
      p.ensureRole();
      return p;
    });
    fs.writeFileSync(
      this.stateFile,
      JSON.stringify(
        { ports: this.ports, headless: this.headless, versions: STACK_VERSIONS, upAt: new Date().toISOString() },
        null,
        2,
      ),
    );
    await step('schema', () => setupSchema(sqlTool, pg, this.log));
    const address = this.info.address;
    await step('server', async () => {
      if (!isRunning(serverPid(this.dir), server)) {
        writeServerConfig(this.dir, this.ports, pg.password);
        startServer(server, this.dir);
      }
      const added = await prepareNamespace(address, serverPaths(this.dir).logFile, this.log, () =>
        isRunning(serverPid(this.dir), server),
      );
      if (added.length) this.log(`registered search attributes ${added.join(', ')}`);
    });
    if (ui)
      await step('ui', async () => {
        if (!isRunning(uiPid(this.dir), ui)) startUi(ui, this.dir, this.ports);
        await waitForUi(this.ports.ui, uiPaths(this.dir).logFile);
      });
    return { info: this.info, ms };
  }

  /** Stops the UI, the server and PostgreSQL, in that order, and checks that none is left. */
  async down(): Promise<string[]> {
    const said: string[] = [];
    const ui = cachedPath('ui');
    const uPid = uiPid(this.dir);
    if (uPid) said.push(`web UI (pid ${uPid}): ${await stopProcess(uPid, ui)}`);
    const server = cachedPath('server');
    const sPid = serverPid(this.dir);
    if (sPid) said.push(`temporal server (pid ${sPid}): ${await stopProcess(sPid, server, 30_000)}`);
    if (postgresBinDir() && fs.existsSync(path.join(this.dir, 'postgres'))) {
      const pg = this.postgres();
      const pid = pg.pid();
      if (pid) {
        pg.stop('fast');
        await waitUntil('PostgreSQL to stop', () => !pg.pid(), 60_000);
        said.push(`postgres (pid ${pid}): stopped`);
      }
    }
    const left = [
      isRunning(uiPid(this.dir), ui) && 'web UI',
      isRunning(serverPid(this.dir), server) && 'temporal server',
    ].filter(Boolean);
    if (left.length) throw new Error(`still running after stack down: ${left.join(', ')}`);
    return said;
  }

  /** Each part: running (pid) and answering. */
  async status(): Promise<{ info: StackInfo; parts: { name: string; pid?: number; up: boolean; detail: string }[] }> {
    const pg = postgresBinDir() ? new Postgres(this.dir, this.ports.postgres, postgresBinDir()!) : undefined;
    const pgPid = pg?.pid();
    const sPid = serverPid(this.dir);
    const sRunning = isRunning(sPid, cachedPath('server'));
    const serverUp = sRunning && (await isServerReachable(this.info.address, NAMESPACE.name, 2000));
    const uPid = uiPid(this.dir);
    const uRunning = isRunning(uPid, cachedPath('ui'));
    const uiUp = uRunning && (await uiAnswers(this.ports.ui));
    const parts = [
      {
        name: 'postgres',
        pid: pgPid,
        up: Boolean(pgPid && pg?.ready()),
        detail: `127.0.0.1:${this.ports.postgres}, data ${pg?.paths.data ?? '(PostgreSQL not installed)'}`,
      },
      {
        name: 'temporal server',
        pid: sRunning ? sPid : undefined,
        up: serverUp,
        detail: `${this.info.address} (v${STACK_VERSIONS.temporalServer}), log ${serverPaths(this.dir).logFile}`,
      },
      ...(this.headless
        ? []
        : [
            {
              name: 'web UI',
              pid: uRunning ? uPid : undefined,
              up: uiUp,
              detail: `${this.info.uiUrl} (v${STACK_VERSIONS.uiServer}), log ${uiPaths(this.dir).logFile}`,
            },
          ]),
    ];
    return { info: this.info, parts };
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
