/** docker-compose.yml and Dockerfile cannot run here (no Docker engine): check their wiring. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { ALL_SEARCH_ATTRIBUTES } from '../src/domain/search-attributes';
import {
  DATABASE,
  DYNAMIC_CONFIG,
  GO_BUILDS,
  NAMESPACE,
  NUM_HISTORY_SHARDS,
  SEARCH_ATTRIBUTE_NAMES,
  STACK_VERSIONS,
} from '../src/stack/config';

const root = path.join(__dirname, '..');

interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  volumes?: string[];
  command?: string[];
  healthcheck?: unknown;
}

// Compose resolves YAML merge keys (`<<: *anchor`); so must we.
const compose = parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
  configs: Record<string, { content: string }>;
};
const services = compose.services;

function dependsOn(name: string): Record<string, string> {
  const deps = services[name].depends_on ?? {};
  return Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, v.condition]));
}

describe('docker-compose.yml', () => {
  it('uses PostgreSQL 16, Temporal server 1.29.x, admin-tools and the UI', () => {
    assert.equal(services.postgresql.image, 'postgres:16');
    assert.match(services.temporal.image!, /^temporalio\/server:1\.29\.\d+$/);
    assert.match(services['temporal-admin-tools'].image!, /^temporalio\/admin-tools:1\.29\./);
    assert.match(services['temporal-create-namespace'].image!, /^temporalio\/admin-tools:/);
    assert.match(services['temporal-ui'].image!, /^temporalio\/ui:/);
    assert.ok(services.postgresql.healthcheck && services.temporal.healthcheck);
  });

  it('points the server at PostgreSQL and sets up the schema first', () => {
    assert.equal(services.temporal.environment?.DB, 'postgres12');
    assert.equal(services.temporal.environment?.POSTGRES_SEEDS, 'postgresql');
    assert.match(services['temporal-admin-tools'].command!.join('\n'), /update-schema/);
  });

  it('chains depends_on: postgres -> schema setup -> server -> namespace -> worker; UI after server', () => {
    assert.deepEqual(dependsOn('temporal-admin-tools'), { postgresql: 'service_healthy' });
    assert.deepEqual(dependsOn('temporal'), { 'temporal-admin-tools': 'service_completed_successfully' });
    assert.deepEqual(dependsOn('temporal-create-namespace'), { temporal: 'service_healthy' });
    assert.deepEqual(dependsOn('temporal-ui'), { temporal: 'service_healthy' });
    assert.equal(dependsOn('phaseflow-worker').temporal, 'service_healthy');
    assert.equal(dependsOn('phaseflow-worker')['temporal-create-namespace'], 'service_completed_successfully');
  });

  it('registers every Phaseflow search attribute as Keyword', () => {
    const script = services['temporal-create-namespace'].command!.join('\n');
    assert.match(script, /temporal operator search-attribute create .*--type Keyword/);
    for (const key of ALL_SEARCH_ATTRIBUTES) assert.ok(script.includes(key.name), key.name);
  });

  it('points the UI and the worker at the temporal service', () => {
    const ui = services['temporal-ui'];
    assert.equal(ui.environment?.TEMPORAL_ADDRESS, 'temporal:7233');
    assert.ok(ui.ports?.includes('8080:8080'));
    assert.ok(services.temporal.ports?.includes('7233:7233'));

    const worker = services['phaseflow-worker'];
    assert.equal(worker.build, '.');
    assert.equal(worker.environment?.TEMPORAL_ADDRESS, 'temporal:7233');
    assert.equal(worker.environment?.ANTHROPIC_API_KEY, '${ANTHROPIC_API_KEY:-}');
    const workspace = worker.volumes?.find((v) => v.endsWith(':/workspace'));
    assert.ok(workspace, 'worker has a workspace volume');
    assert.ok(workspace.split(':')[0] in compose.volumes, 'workspace volume is declared');
  });
});

describe('docker-compose.yml runs what `phaseflow stack` runs (src/stack/config.ts)', () => {
  const script = (name: string) => services[name].command!.join('\n');

  it('the same versions', () => {
    assert.equal(services.temporal.image, `temporalio/server:${STACK_VERSIONS.temporalServer}`);
    assert.equal(services['temporal-admin-tools'].image, STACK_VERSIONS.adminToolsImage);
    assert.ok(STACK_VERSIONS.adminToolsImage.startsWith(`temporalio/admin-tools:${STACK_VERSIONS.temporalServer}-`));
    assert.equal(services['temporal-ui'].image, `temporalio/ui:${STACK_VERSIONS.uiServer}`);
    assert.equal(services.postgresql.image, `postgres:${STACK_VERSIONS.postgresMajor}`);
    assert.equal(GO_BUILDS.server.version, `v${STACK_VERSIONS.temporalServer}`);
    assert.equal(GO_BUILDS.ui.version, `v${STACK_VERSIONS.uiServer}`);
  });

  it('the same dynamic config', () => {
    assert.equal(services.temporal.environment?.DYNAMIC_CONFIG_FILE_PATH, 'config/dynamicconfig/phaseflow.yaml');
    assert.deepEqual(parse(compose.configs['temporal-dynamic-config'].content), DYNAMIC_CONFIG);
  });

  it('the same databases, plugin, shards and schema commands (temporal-sql-tool with the embedded schemas)', () => {
    assert.equal(services.temporal.environment?.DB, DATABASE.plugin);
    assert.equal(services.temporal.environment?.NUM_HISTORY_SHARDS, String(NUM_HISTORY_SHARDS));
    assert.equal(services.temporal.environment?.POSTGRES_USER, DATABASE.user);
    const setup = script('temporal-admin-tools');
    assert.match(setup, new RegExp(`--plugin ${DATABASE.plugin} `));
    assert.match(setup, /create\b[\s\S]*setup-schema -v 0\.0[\s\S]*update-schema --schema-name/);
    for (const s of DATABASE.stores)
      assert.match(setup, new RegExp(`^\\s*setup_db ${s.database} ${s.schema}$`, 'm'), s.database);
  });

  it('the same namespace and search attributes', () => {
    const ns = script('temporal-create-namespace');
    assert.match(ns, new RegExp(`namespace create -n "\\$\\$TEMPORAL_NAMESPACE" --retention ${NAMESPACE.retention}`));
    assert.equal(services['temporal-create-namespace'].environment?.TEMPORAL_NAMESPACE, NAMESPACE.name);
    const loop = /for name in ([^;]+); do/.exec(ns)?.[1].trim().split(/\s+/);
    assert.deepEqual(loop, SEARCH_ATTRIBUTE_NAMES);
  });
});

describe('Dockerfile', () => {
  const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');

  it('builds on node:20-bookworm-slim with npm ci and npm run build', () => {
    assert.match(dockerfile, /^FROM node:20-bookworm-slim\b/m);
    assert.match(dockerfile, /^RUN npm ci\b/m);
    assert.match(dockerfile, /npm run build/);
  });

  it('runs the worker', () => {
    const cmd = dockerfile
      .split('\n')
      .filter((l) => l.startsWith('CMD '))
      .pop();
    assert.ok(cmd, 'has a CMD');
    assert.deepEqual(JSON.parse(cmd.slice(4)), ['node', 'bin/phaseflow.js', 'worker']);
  });

  it('keeps node_modules, lib and secrets out of the build context', () => {
    const ignored = fs.readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', 'lib', '.git', '.env']) assert.ok(ignored.includes(entry), entry);
  });
});
