/**
 * The production-shaped stack itself (`phaseflow stack`): PostgreSQL, the Temporal server built
 * from its Go module, the Web UI, with phaseflow's search attributes; the demo epic run on it by
 * the real CLI; `stack status` and `stack down` (nothing left running) and `up` again (the data
 * kept).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { ALL_SEARCH_ATTRIBUTES } from '../../src/domain/search-attributes';
import { cachedPath } from '../../src/stack/go-build';
import { isRunning } from '../../src/stack/processes';
import { serverPid } from '../../src/stack/temporal-server';
import { uiPid } from '../../src/stack/ui';
import { phaseflow, shown } from '../cli/run-cli';
import { tempWorkspace } from '../support/worker-harness';
import { stackUnderTest } from './support/stack-fixture';

describe('phaseflow stack: PostgreSQL + Temporal server + Web UI', function () {
  const stackArgs = () => ['--dir', stackUnderTest().dir];

  it('status: all three parts run and answer; the server keeps its state in PostgreSQL; the search attributes are registered', async () => {
    const r = await phaseflow(['stack', 'status', ...stackArgs()]);
    assert.equal(r.code, 0, shown(r));
    for (const part of ['postgres', 'temporal server', 'web UI'])
      assert.match(r.stdout, new RegExp(`^up +${part} +pid \\d+`, 'm'), shown(r));

    const pg = stackUnderTest().postgres();
    assert.ok(pg.databaseExists('temporal') && pg.databaseExists('temporal_visibility'));
    const namespaces = pg
      .psql(`\\c temporal\nSELECT name FROM namespaces ORDER BY name;`, 'namespaces')
      .trim()
      .split('\n');
    assert.ok(namespaces.includes('default') && namespaces.includes('temporal-system'), namespaces.join(','));

    const connection = await Connection.connect({ address: stackUnderTest().info.address });
    try {
      const sa = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      for (const key of ALL_SEARCH_ATTRIBUTES) assert.ok(sa.customAttributes?.[key.name] !== undefined, key.name);
      const info = await connection.workflowService.getSystemInfo({});
      assert.equal(info.serverVersion, '1.29.1');
    } finally {
      await connection.close();
    }
  });

  it('runs the demo epic (the real CLI and worker) with its workflows and visibility in PostgreSQL, shown by the Web UI', async () => {
    const ws = path.join(tempWorkspace('phaseflow-stack-demo-'), 'demo');
    const r = await phaseflow(['demo', '--workspace', ws], {}, 300_000);
    assert.equal(r.code, 0, shown(r));
    assert.match(r.stdout, /Using the Temporal server already at/, shown(r));
    const epic = JSON.parse(fs.readFileSync(path.join(ws, '.claude/epics/demo-greeter/EPIC.json'), 'utf8'));
    assert.equal(epic.status, 'completed');

    // The runs are rows of the stack's PostgreSQL: executions and their visibility records.
    const pg = stackUnderTest().postgres();
    const rows = pg
      .psql(
        `\\c temporal_visibility\nSELECT count(*) FROM executions_visibility WHERE workflow_id LIKE 'epic/demo-greeter%' AND status = 2;`,
        'visibility rows',
      )
      .trim()
      .split('\n')
      .pop();
    assert.ok(Number(rows) >= 1 + 2 + 3 + 9, `completed demo workflows in temporal_visibility: ${rows}`);

    // The Web UI reads them through the stack's frontend, with phaseflow's search attributes.
    const ui = stackUnderTest().info.uiUrl!;
    const query = encodeURIComponent('PhaseflowEpic="demo-greeter" AND PhaseflowLevel="phase"');
    const res = await fetch(`${ui}/api/v1/namespaces/default/workflows?query=${query}`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { executions?: { execution: { workflowId: string } }[] };
    assert.equal(body.executions?.length, 9, JSON.stringify(body).slice(0, 500));
    const page = await fetch(`${ui}/namespaces/default/workflows`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<!doctype html>/i);
  });

  it('down stops all three and leaves nothing running; up brings the same data back', async () => {
    const stack = stackUnderTest();
    const pids = { server: serverPid(stack.dir)!, ui: uiPid(stack.dir)!, postgres: stack.postgres().pid()! };
    const down = await phaseflow(['stack', 'down', ...stackArgs()]);
    assert.equal(down.code, 0, shown(down));
    assert.ok(!isRunning(pids.server, cachedPath('server')), 'the server is gone');
    assert.ok(!isRunning(pids.ui, cachedPath('ui')), 'the UI is gone');
    // Reparented to init when pg_ctl exited: gone once it is no more than a zombie.
    assert.ok(!isRunning(pids.postgres, 'postgres'), 'postgres is gone');
    const status = await phaseflow(['stack', 'status', ...stackArgs()]);
    assert.equal(status.code, 3, shown(status));
    assert.equal((status.stdout.match(/^DOWN /gm) ?? []).length, 3, shown(status));

    const up = await phaseflow(['stack', 'up', ...stackArgs()], {}, 300_000);
    assert.equal(up.code, 0, shown(up));
    assert.match(up.stdout, /stack up in [\d.]+ s/);
    console.log(`      ${up.stdout.split('\n')[0]} (restart with data)`);
    const connection = await Connection.connect({ address: stack.info.address });
    try {
      const d = await connection.workflowService.describeWorkflowExecution({
        namespace: 'default',
        execution: { workflowId: 'epic/demo-greeter' },
      });
      assert.ok(d.workflowExecutionInfo?.closeTime, 'the demo epic from before the restart is still there');
    } finally {
      await connection.close();
    }
  });
});
