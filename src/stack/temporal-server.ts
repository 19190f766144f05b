/**
 * The stack's Temporal server: its schema set up by Temporal's SQL tool (the same commands
 * docker-compose's admin-tools run), its configuration written from config.ts, the process
 * started, then the namespace and phaseflow's search attributes registered.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { ensureSearchAttributes } from '../temporal/config';
import { isServerReachable } from '../temporal/dev-server';
import { DATABASE, dynamicConfigYaml, NAMESPACE, serverConfigYaml, type StackPorts } from './config';
import type { Postgres } from './postgres';
import { readPid, run, sleep, startDetached, type Started, tail, waitUntil } from './processes';

export const SERVER_ENV = 'phaseflow';

export function serverPaths(stackDir: string) {
  return {
    configDir: path.join(stackDir, 'config'),
    configFile: path.join(stackDir, 'config', `${SERVER_ENV}.yaml`),
    dynamicConfigFile: path.join(stackDir, 'config', 'dynamicconfig.yaml'),
    logFile: path.join(stackDir, 'logs', 'temporal-server.log'),
    pidFile: path.join(stackDir, 'run', 'temporal-server.pid'),
  };
}

/**
 * Creates Temporal's two databases if missing and brings their schemas to this release's version,
 * as docker-compose.yml's temporal-admin-tools does: `create`, `setup-schema -v 0.0` on a new
 * database, then `update-schema` with the schema embedded in the tool.
 */
export function setupSchema(sqlTool: string, pg: Postgres, log: (m: string) => void): void {
  const base = ['--plugin', DATABASE.plugin, '--ep', '127.0.0.1', '-p', String(pg.port), '-u', DATABASE.user];
  // The password goes through the environment, not the command line (other users see argv).
  const env = { SQL_PASSWORD: pg.password };
  for (const s of DATABASE.stores) {
    const db = [...base, '--db', s.database];
    if (!pg.databaseExists(s.database)) {
      log(`creating database ${s.database}`);
      run(sqlTool, [...db, 'create'], { env, what: `create database ${s.database}` });
      run(sqlTool, [...db, 'setup-schema', '-v', '0.0'], { env, what: `set up the schema of ${s.database}` });
    }
    run(sqlTool, [...db, 'update-schema', '--schema-name', s.schema], {
      env,
      what: `update the schema of ${s.database}`,
    });
  }
}

export function writeServerConfig(stackDir: string, ports: StackPorts, password: string): void {
  const p = serverPaths(stackDir);
  fs.mkdirSync(p.configDir, { recursive: true });
  fs.writeFileSync(p.dynamicConfigFile, dynamicConfigYaml());
  // It holds the database password: the stack's owner only.
  fs.writeFileSync(p.configFile, serverConfigYaml({ ports, password, dynamicConfigFile: p.dynamicConfigFile }), {
    mode: 0o600,
  });
  fs.chmodSync(p.configFile, 0o600);
}

export function startServer(binary: string, stackDir: string): Started {
  const p = serverPaths(stackDir);
  for (const d of [path.dirname(p.logFile), path.dirname(p.pidFile)]) fs.mkdirSync(d, { recursive: true });
  return startDetached(
    binary,
    ['--root', stackDir, '--config', 'config', '--env', SERVER_ENV, '--allow-no-auth', 'start'],
    {
      cwd: stackDir,
      logFile: p.logFile,
      pidFile: p.pidFile,
    },
  );
}

export const serverPid = (stackDir: string) => readPid(serverPaths(stackDir).pidFile);

/** Waits for the frontend, then registers the namespace (if new) and phaseflow's search attributes. */
export async function prepareNamespace(
  address: string,
  logFile: string,
  log: (m: string) => void,
  alive: () => boolean,
): Promise<string[]> {
  await waitUntil(
    `Temporal server at ${address}`,
    () => {
      if (!alive())
        throw new Error(`the Temporal server exited while starting; end of ${logFile}:\n${tail(logFile, 5)}`);
      return isServerReachable(address, 'temporal-system', 2000);
    },
    180_000,
    logFile,
  );
  const connection = await Connection.connect({ address });
  try {
    const known = await connection.workflowService.describeNamespace({ namespace: NAMESPACE.name }).then(
      () => true,
      () => false,
    );
    if (!known) {
      log(`registering namespace ${NAMESPACE.name} (retention ${NAMESPACE.retention})`);
      await connection.workflowService.registerNamespace({
        namespace: NAMESPACE.name,
        workflowExecutionRetentionPeriod: msToTs(NAMESPACE.retention),
      });
    }
    // A new namespace reaches the frontend's cache within seconds.
    await waitUntil(
      `namespace ${NAMESPACE.name}`,
      () => isServerReachable(address, NAMESPACE.name, 2000),
      60_000,
      logFile,
    );
    // The operator API reads the namespace from a cache that a new namespace reaches up to ~10 s later.
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        return await ensureSearchAttributes(connection, NAMESPACE.name);
      } catch (err) {
        if (!/NOT_FOUND/.test((err as Error).message) || Date.now() > deadline) throw err;
        await sleep(500);
      }
    }
  } finally {
    await connection.close();
  }
}
