/** `phaseflow server`: Temporal's dev server with a SQLite file, the Web UI and our search attributes. */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startDevServer, type DevServerHandle } from '../temporal/dev-server';
import { defaultDbFile, defaultServerLog } from './paths';

export interface ServerOptions {
  dbFile?: string;
  port?: number;
  uiPort?: number;
  headless?: boolean;
}

export async function startLocalServer(opts: ServerOptions = {}, say: (msg: string) => void = () => {}): Promise<DevServerHandle> {
  const dbFile = path.resolve(opts.dbFile ?? defaultDbFile());
  mkdirSync(path.dirname(dbFile), { recursive: true });
  say(`Starting Temporal dev server (state in ${dbFile}) …`);
  return startDevServer({
    dbFile,
    port: opts.port ?? 7233,
    uiPort: opts.uiPort ?? 8233,
    headless: opts.headless,
    logFile: defaultServerLog(),
  });
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
