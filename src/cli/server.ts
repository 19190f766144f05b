/** `phaseflow server`: Temporal's dev server with a SQLite file, the Web UI and our search attributes. */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { TemporalConfig } from '../temporal/config';
import { DevServerStartError, isServerReachable, startDevServer, type DevServerHandle } from '../temporal/dev-server';
import { CliError } from './errors';
import { defaultDbFile, defaultServerLog } from './paths';

export interface ServerOptions {
  dbFile?: string;
  port?: number;
  uiPort?: number;
  headless?: boolean;
}

/** What to do about a port in use; `phaseflow server` has flags for it, the demo does not. */
type BusyHint = (busy: NonNullable<DevServerStartError['portInUse']>) => string;

const flagHint: BusyHint = (busy) =>
  busy.which === 'UI'
    ? 'pick another with --ui-port N (or --headless)'
    : `pick another with --port N, or use the server running there (TEMPORAL_ADDRESS=127.0.0.1:${busy.port})`;

export async function startLocalServer(
  opts: ServerOptions = {},
  say: (msg: string) => void = () => {},
  hint: BusyHint = flagHint,
): Promise<DevServerHandle> {
  const dbFile = path.resolve(opts.dbFile ?? defaultDbFile());
  mkdirSync(path.dirname(dbFile), { recursive: true });
  say(`Starting Temporal dev server (state in ${dbFile}) …`);
  try {
    return await startDevServer({
      dbFile,
      port: opts.port ?? 7233,
      uiPort: opts.uiPort ?? 8233,
      headless: opts.headless,
      logFile: defaultServerLog(),
    });
  } catch (err) {
    const busy = err instanceof DevServerStartError ? err.portInUse : undefined;
    if (!busy) throw err;
    throw new CliError(
      `cannot start the Temporal dev server: the ${busy.which} port ${busy.port} is already in use (another server or program listens there); ${hint(busy)}`,
    );
  }
}

/**
 * The demos' server: the one that answers at the configured address (undefined), else a dev server
 * started here. A TEMPORAL_ADDRESS that nothing answers at is an error, not a reason to start one.
 */
export async function serverForDemo(
  config: Pick<TemporalConfig, 'address' | 'namespace'>,
  hint: BusyHint = () => 'stop what listens there, or set TEMPORAL_ADDRESS',
): Promise<DevServerHandle | undefined> {
  if (await isServerReachable(config.address, config.namespace)) return undefined;
  if (process.env.TEMPORAL_ADDRESS)
    throw new CliError(`TEMPORAL_ADDRESS=${config.address} is set but no server answers there`);
  return startLocalServer({}, console.log, hint);
}

export async function serverCommand(opts: ServerOptions): Promise<void> {
  const server = await startLocalServer(opts, console.log);
  console.log(`Temporal is ready at ${server.address}${server.uiUrl ? `; Web UI: ${server.uiUrl}` : ''}`);
  console.log('Press Ctrl-C to stop.');
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    server.process.once('exit', stop);
  });
  await server.stop();
}
