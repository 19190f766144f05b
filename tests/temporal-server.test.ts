import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { ALL_SEARCH_ATTRIBUTES } from '../src/domain/search-attributes';
import { findTemporalBinary } from '../src/temporal/binary';
import { ensureSearchAttributes, temporalConfig } from '../src/temporal/config';
import { freePort, isServerReachable, startDevServer } from '../src/temporal/dev-server';
import { testTemporal } from './support/temporal-server';

/** Runs `fn` with some environment variables replaced (undefined = unset), then restores them. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, val] of Object.entries(v)) {
      if (val === undefined) delete process.env[k];
      else process.env[k] = val;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'phaseflow-test-'));
}

describe('findTemporalBinary', () => {
  const quiet = { log: () => undefined };

  it('uses PHASEFLOW_TEMPORAL_BIN when it is executable', async () => {
    const { binary } = testTemporal();
    const found = await withEnv({ PHASEFLOW_TEMPORAL_BIN: binary }, () => findTemporalBinary(quiet));
    assert.equal(found, binary);
  });

  it('fails clearly, naming the variable, when PHASEFLOW_TEMPORAL_BIN is bad', async () => {
    const dir = tempDir();
    const notExecutable = path.join(dir, 'temporal');
    fs.writeFileSync(notExecutable, '#!/bin/sh\n', { mode: 0o644 });
    for (const bad of [path.join(dir, 'missing'), notExecutable, dir]) {
      await assert.rejects(
        withEnv({ PHASEFLOW_TEMPORAL_BIN: bad }, () => findTemporalBinary(quiet)),
        (err: Error) =>
          err.message.includes(`PHASEFLOW_TEMPORAL_BIN=${bad}`) && /not an executable file/.test(err.message),
      );
    }
  });

  it('finds temporal on PATH, then in the user cache', async () => {
    const { binary } = testTemporal();
    const pathDir = tempDir();
    fs.symlinkSync(binary, path.join(pathDir, 'temporal'));
    const cacheHome = tempDir();
    const env = { PHASEFLOW_TEMPORAL_BIN: undefined, XDG_CACHE_HOME: cacheHome };
    assert.equal(
      await withEnv({ ...env, PATH: pathDir }, () => findTemporalBinary(quiet)),
      path.join(pathDir, 'temporal'),
    );

    const cached = path.join(cacheHome, 'phaseflow', 'bin', 'temporal');
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    fs.symlinkSync(binary, cached);
    assert.equal(await withEnv({ ...env, PATH: '' }, () => findTemporalBinary({ ...quiet, build: false })), cached);
  });

  it('lists all four sources and how to fix it when nothing is found', async () => {
    const cacheHome = tempDir();
    const env = { PHASEFLOW_TEMPORAL_BIN: undefined, PATH: '', XDG_CACHE_HOME: cacheHome };
    const cached = path.join(cacheHome, 'phaseflow', 'bin', 'temporal');
    const common = (m: string) =>
      m.includes('PHASEFLOW_TEMPORAL_BIN: not set') &&
      m.includes('PATH: no temporal') &&
      m.includes(`cache ${cached}: missing`) &&
      m.includes('install the temporal CLI') &&
      m.includes('set PHASEFLOW_TEMPORAL_BIN') &&
      m.includes('install Go >= 1.25');
    await assert.rejects(
      withEnv(env, () => findTemporalBinary(quiet)),
      (err: Error) => common(err.message) && err.message.includes('go build: `go` not found on PATH'),
    );
    await assert.rejects(
      withEnv(env, () => findTemporalBinary({ ...quiet, build: false })),
      (err: Error) => common(err.message) && err.message.includes('go build: disabled'),
    );
  });
});

describe('temporal dev server', () => {
  it('keeps a workflow across a stop and start on the same SQLite file', async function () {
    this.timeout(30_000);
    const { binary } = testTemporal();
    const dbFile = path.join(tempDir(), 'temporal.sqlite');
    const workflowId = `persist-${Date.now()}`;

    const first = await startDevServer({ binary, dbFile, port: await freePort(), headless: true });
    try {
      const connection = await Connection.connect({ address: first.address });
      // No worker polls 'none': the workflow simply stays open, which is all we need.
      await new Client({ connection }).workflow.start('nothing', { taskQueue: 'none', workflowId });
      await connection.close();
    } finally {
      await first.stop();
    }
    assert.equal(await isServerReachable(first.address, 'default'), false);

    const second = await startDevServer({ binary, dbFile, port: await freePort(), headless: true });
    try {
      const connection = await Connection.connect({ address: second.address });
      const description = await new Client({ connection }).workflow.getHandle(workflowId).describe();
      assert.equal(description.type, 'nothing');
      assert.equal(description.status.name, 'RUNNING');
      await connection.close();
    } finally {
      await second.stop();
    }
  });

  it('reports the exit and the tail of the output when the server dies on start', async () => {
    const fake = path.join(tempDir(), 'temporal');
    fs.writeFileSync(fake, '#!/bin/sh\necho "bind: address already in use" >&2\nexit 3\n', { mode: 0o755 });
    await assert.rejects(
      startDevServer({
        binary: fake,
        dbFile: path.join(tempDir(), 'x.sqlite'),
        port: await freePort(),
        headless: true,
      }),
      (err: Error) =>
        /exited during startup \(code 3\)/.test(err.message) && err.message.includes('address already in use'),
    );
  });

  it('isServerReachable is false, quickly, where nothing listens', async () => {
    const started = Date.now();
    assert.equal(await isServerReachable(`127.0.0.1:${await freePort()}`, 'default'), false);
    assert.ok(Date.now() - started < 3000);
  });
});

describe('search attributes', () => {
  it('are registered on the test server as Keyword', async () => {
    const { address, namespace } = testTemporal();
    const connection = await Connection.connect({ address });
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      for (const key of ALL_SEARCH_ATTRIBUTES) {
        assert.equal(customAttributes?.[key.name], 2 /* INDEXED_VALUE_TYPE_KEYWORD */, key.name);
      }
      assert.ok('PhaseflowStatus' in (customAttributes ?? {}));
      // Already there: ensureSearchAttributes has nothing to do.
      assert.deepEqual(await ensureSearchAttributes(connection, namespace), []);
    } finally {
      await connection.close();
    }
  });

  it('ensureSearchAttributes registers what a namespace lacks, once', async () => {
    const { address } = testTemporal();
    const namespace = `sa-${Date.now()}`;
    const connection = await Connection.connect({ address });
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs('1 day'),
      });
      const added = await retry(() => ensureSearchAttributes(connection, namespace));
      assert.deepEqual(added.sort(), ALL_SEARCH_ATTRIBUTES.map((k) => k.name).sort());
      assert.deepEqual(await ensureSearchAttributes(connection, namespace), []);
    } finally {
      await connection.close();
    }
  });
});

describe('temporalConfig', () => {
  it('reads the environment, with defaults', () => {
    assert.deepEqual(temporalConfig({}), { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'phaseflow' });
    assert.deepEqual(temporalConfig({ TEMPORAL_ADDRESS: 'h:1', TEMPORAL_NAMESPACE: 'n', PHASEFLOW_TASK_QUEUE: 'q' }), {
      address: 'h:1',
      namespace: 'n',
      taskQueue: 'q',
    });
  });
});

/** A namespace registered a moment ago may not be visible to every server component yet. */
async function retry<T>(fn: () => Promise<T>, attempts = 20): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
