/**
 * The production stack in one place: versions, the server's and UI's configuration, the
 * databases and the search attributes. `phaseflow stack up` runs exactly this on one machine
 * (PostgreSQL, Temporal server, Web UI), and docker-compose.yml runs the same in containers:
 * tests/docker-compose.test.ts checks that the compose file agrees with every value here.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { ALL_SEARCH_ATTRIBUTES } from '../domain/search-attributes';

export const STACK_VERSIONS = {
  /** The server the temporal CLI v1.5.1 embeds (its go.mod), so the dev server and the stack agree. */
  temporalServer: '1.29.1',
  /** The UI server the temporal CLI v1.5.1 embeds. */
  uiServer: '2.42.1',
  /** docker-compose's admin-tools image (its temporal-sql-tool is the same server release). */
  adminToolsImage: 'temporalio/admin-tools:1.29.1-tctl-1.18.4-cli-1.5.0',
  /** docker-compose's PostgreSQL; locally the machine's own PostgreSQL (12 or newer) runs. */
  postgresMajor: 16,
} as const;

/** Go packages built once into the cache (`go install`): the server, its SQL schema tool, the Web UI server. */
export const GO_BUILDS = {
  server: {
    pkg: 'go.temporal.io/server/cmd/server',
    version: `v${STACK_VERSIONS.temporalServer}`,
    name: 'temporal-server',
  },
  sqlTool: {
    pkg: 'go.temporal.io/server/cmd/tools/sql',
    version: `v${STACK_VERSIONS.temporalServer}`,
    name: 'temporal-sql-tool',
  },
  ui: {
    pkg: 'github.com/temporalio/ui-server/v2/cmd/server',
    version: `v${STACK_VERSIONS.uiServer}`,
    name: 'temporal-ui-server',
  },
} as const;

/** Temporal's SQL plugin for PostgreSQL 12+, its two databases and the embedded schemas the SQL tool applies. */
export const DATABASE = {
  plugin: 'postgres12',
  user: 'temporal',
  stores: [
    { store: 'default', database: 'temporal', schema: 'postgresql/v12/temporal' },
    { store: 'visibility', database: 'temporal_visibility', schema: 'postgresql/v12/visibility' },
  ],
} as const;

export const NUM_HISTORY_SHARDS = 4;
export const NAMESPACE = { name: 'default', retention: '72h' } as const;

/** phaseflow's search attributes (all Keyword), registered on the namespace by both routes. */
export const SEARCH_ATTRIBUTE_NAMES = ALL_SEARCH_ATTRIBUTES.map((k) => k.name);

/**
 * Dynamic config of the server, both routes. The first two as the dev server runs them (long
 * workflow ids; search attributes usable right after registration); phaseflow's phases may have
 * many pending activities; eager activities start a phase's tasks without a matching round trip;
 * idle workers poll again every 10 s instead of every minute, so a host whose workers died shows
 * as down within half a minute (cli/hosts.ts reads their last poll).
 */
export const DYNAMIC_CONFIG: Record<string, { value: unknown; constraints: Record<string, never> }[]> = {
  'limit.maxIDLength': [{ value: 255, constraints: {} }],
  'system.forceSearchAttributesCacheRefreshOnRead': [{ value: true, constraints: {} }],
  'limit.numPendingActivities.error': [{ value: 5000, constraints: {} }],
  'system.enableActivityEagerExecution': [{ value: true, constraints: {} }],
  'matching.longPollExpirationInterval': [{ value: '10s', constraints: {} }],
};

export interface StackPorts {
  /** PostgreSQL, on 127.0.0.1 only. */
  postgres: number;
  /** Temporal's frontend (gRPC): what TEMPORAL_ADDRESS names. The other services take the next ports. */
  frontend: number;
  /** The Web UI (HTTP). */
  ui: number;
}

export const DEFAULT_PORTS: StackPorts = { postgres: 55432, frontend: 7233, ui: 8080 };

/** The server stores membership ports in a PostgreSQL smallint: above this it dies at start-up. */
export const MAX_SERVER_PORT = 32767;

/** A problem with these ports, said before anything starts. */
export function portProblem(ports: StackPorts): string | undefined {
  for (const [name, port] of Object.entries(ports))
    if (!Number.isInteger(port) || port < 1 || port > 65535) return `--${name} ${port}: expected a port number 1-65535`;
  const highest = Math.max(...Object.values(serverPorts(ports.frontend)).flatMap((s) => Object.values(s) as number[]));
  if (highest > MAX_SERVER_PORT)
    return (
      `--port ${ports.frontend}: the server also listens on the next ports up to ${highest}, and Temporal keeps ` +
      `membership ports in a PostgreSQL smallint (at most ${MAX_SERVER_PORT}); choose a frontend port up to ${MAX_SERVER_PORT - 103}`
    );
  return undefined;
}

/**
 * Every port the server listens on, from the frontend's: gRPC of frontend, history, matching and
 * worker at +0..+3, their membership ports at +100..+103, the frontend's HTTP API at +10.
 */
export function serverPorts(frontend: number) {
  return {
    frontend: { grpcPort: frontend, membershipPort: frontend + 100, httpPort: frontend + 10 },
    history: { grpcPort: frontend + 1, membershipPort: frontend + 101 },
    matching: { grpcPort: frontend + 2, membershipPort: frontend + 102 },
    worker: { grpcPort: frontend + 3, membershipPort: frontend + 103 },
  };
}

/** Where a stack keeps its data, configuration, logs and pid files. */
export function defaultStackDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PHASEFLOW_STACK_DIR) return path.resolve(env.PHASEFLOW_STACK_DIR);
  // As root, PostgreSQL runs as the `postgres` user, who cannot enter /root: keep the stack where it can.
  if (process.getuid?.() === 0) return '/var/lib/phaseflow/stack';
  const base = env.PHASEFLOW_DATA_DIR || path.join(os.homedir(), '.local', 'share', 'phaseflow');
  return path.join(base, 'stack');
}

/** The server's static configuration (config/phaseflow.yaml under the stack directory). */
export function serverConfigYaml(opts: { ports: StackPorts; password: string; dynamicConfigFile: string }): string {
  const sql = (database: string, maxConns: number) => ({
    sql: {
      pluginName: DATABASE.plugin,
      databaseName: database,
      connectAddr: `127.0.0.1:${opts.ports.postgres}`,
      connectProtocol: 'tcp',
      user: DATABASE.user,
      password: opts.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const services = Object.fromEntries(
    Object.entries(serverPorts(opts.ports.frontend)).map(([name, rpc]) => [
      name,
      { rpc: { ...rpc, bindOnIP: '127.0.0.1' } },
    ]),
  );
  return stringify({
    log: { stdout: true, level: 'info' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: NUM_HISTORY_SHARDS,
      datastores: {
        'postgres-default': sql(DATABASE.stores[0].database, 20),
        'postgres-visibility': sql(DATABASE.stores[1].database, 10),
      },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
    services,
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `127.0.0.1:${opts.ports.frontend}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: opts.dynamicConfigFile, pollInterval: '10s' },
  });
}

export function dynamicConfigYaml(): string {
  return stringify(DYNAMIC_CONFIG);
}

/** The Web UI server's configuration (ui/phaseflow.yaml under the stack directory). */
export function uiConfigYaml(ports: StackPorts): string {
  return stringify({
    temporalGrpcAddress: `127.0.0.1:${ports.frontend}`,
    host: '127.0.0.1',
    port: ports.ui,
    enableUi: true,
    defaultNamespace: NAMESPACE.name,
    refreshInterval: '0s',
    cors: { cookieInsecure: true, allowOrigins: [`http://127.0.0.1:${ports.ui}`, `http://localhost:${ports.ui}`] },
    auth: { enabled: false },
  });
}
