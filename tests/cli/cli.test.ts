/**
 * The phaseflow command as a user runs it (the compiled bin/phaseflow.js, so `npm test` builds
 * first): exit codes, messages, and that a bad spec starts nothing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { EpicSpecInput } from '../../src/domain/spec';
import { epicWorkflow } from '../../src/workflows/epic';
import { testTemporal } from '../support/temporal-server';
import { tempWorkspace, testClient, uniqueName, withWorker } from '../support/worker-harness';
import { run, shown } from './run-cli';

const BIN = path.resolve(__dirname, '../../bin/phaseflow.js');

function phaseflow(args: string[], env: NodeJS.ProcessEnv = {}, timeout = 120_000) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('phaseflow CLI', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pf-cli-'));
  });

  it('validate accepts the demo epic', () => {
    // The demo's workspace exists only once the demo made it.
    const r = phaseflow(['validate', 'examples/demo-epic.yaml', '--create-workspace']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /valid epic "demo-greeter": 2 roadmaps, 3 plans, 9 phases, 20 tasks/);
  });

  it('validate counts in words: one roadmap, not "1 roadmaps"', () => {
    const file = path.join(dir, 'mini.yaml');
    writeFileSync(
      file,
      'slug: mini\ntitle: x\nworkspace: .\nroadmaps: [{ slug: r, title: R, plans: [{ slug: p, title: P, phases: [{ slug: one, title: One, tasks: [{ id: "1", description: a }] }] }] }]\n',
    );
    const r = phaseflow(['validate', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${file}: valid epic "mini": 1 roadmap, 1 plan, 1 phase, 1 task\n`);
  });

  it('validate --json on an invalid spec prints the problems as JSON on stdout, the text on stderr, exit 2', () => {
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'slug: Bad Slug\ntitle: x\nworkspace: ws\ncolour: red\nroadmaps: []\n');
    const r = phaseflow(['validate', file, '--json']);
    assert.equal(r.code, 2, shown(r));
    const out = JSON.parse(r.stdout);
    assert.equal(out.valid, false);
    assert.equal(out.file, file);
    const byPath = new Map(out.problems.map((p: { path: string; message: string }) => [p.path, p.message]));
    assert.match(String(byPath.get('slug')), /expected a slug/);
    assert.match(String(byPath.get('colour')), /unknown field "colour"/);
    assert.match(String(byPath.get('roadmaps')), /at least one roadmap/);
    assert.equal(out.problems.length, 3, r.stdout);
    assert.match(r.stderr, new RegExp(`: 3 problems\n {2}`));
    // A file that cannot be read is no spec to judge: a usage error, nothing on stdout.
    const missing = phaseflow(['validate', path.join(dir, 'nope.yaml'), '--json']);
    assert.equal(missing.code, 1, shown(missing));
    assert.equal(missing.stdout, '');
  });

  it('validate prints every problem with its field path and exits 2', () => {
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(
      file,
      [
        'slug: Bad Slug',
        'title: x',
        'workspace: ws',
        'roadmaps:',
        '  - slug: r',
        '    title: R',
        '    plans:',
        '      - slug: p',
        '        title: P',
        '        phases:',
        '          - slug: one',
        '            title: One',
        '            tasks:',
        '              - { id: "1.1", description: a, dependsOn: ["nope"] }',
        '              - { id: "1.1", description: b, colour: red }',
      ].join('\n'),
    );
    const r = phaseflow(['validate', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 4 problems`));
    // Each problem names its line in the file too.
    assert.match(r.stderr, /^ {2}slug \(line 1\): expected a slug/m);
    assert.match(
      r.stderr,
      /roadmaps\[0\]\.plans\[0\]\.phases\[0\]\.tasks\[1\]\.colour \(line 15\): unknown field "colour"/,
    );
    assert.match(
      r.stderr,
      /^ {2}roadmaps\[0\]\.plans\[0\]\.phases\[0\]\.tasks\[1\]\.id \(line 15\): duplicate task id "1\.1" in plan p: already used by roadmaps\[0\]\.plans\[0\]\.phases\[0\]\.tasks\[0\]$/m,
    );
    assert.match(
      r.stderr,
      /roadmaps\[0\]\.plans\[0\]\.phases\[0\]\.tasks\[0\]\.dependsOn\[0\] \(line 14\): no task "nope" in this phase/,
    );
  });

  it('validate names a YAML syntax error by line and column, on one line', () => {
    const file = path.join(dir, 'syntax.yaml');
    writeFileSync(file, 'slug: a\ntitle: b\nroadmaps: [x\n');
    const r = phaseflow(['validate', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr,
      `${file}: 1 problem\n  line 4, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]\n`,
    );
  });

  it('validate and start: a path that is no readable file is a usage error (exit 1, one line, no stack)', () => {
    const missing = path.join(dir, 'nope.yaml');
    for (const [args, expected] of [
      [['validate', dir], `error: ${dir}: is a directory, expected a YAML or JSON spec file\n`],
      [['validate', missing], `error: ${missing}: no such file\n`],
      [['start', missing], `error: ${missing}: no such file\n`],
    ] as const) {
      const r = phaseflow([...args]);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, expected);
    }
  });

  it('validate --help names the temporal CLI flag that reads the JSON (--input-file)', () => {
    const r = phaseflow(['validate', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.replace(/\s+/g, ' '), /temporal workflow start --input-file epic\.json/);
    assert.doesNotMatch(r.stdout, /--input @/);
  });

  it('server on a port in use says which port and how to pick another, in one line', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const r = await run(
        process.execPath,
        [BIN, 'server', '--port', String(port), '--headless', '--db', path.join(dir, 'db.sqlite')],
        { PHASEFLOW_DATA_DIR: dir },
      );
      assert.equal(r.code, 1, shown(r));
      assert.equal(
        r.stderr,
        `error: cannot start the Temporal dev server: the frontend port ${port} is already in use (another server or program listens there); pick another with --port N, or use the server running there (TEMPORAL_ADDRESS=127.0.0.1:${port})\n`,
      );
    } finally {
      busy.close();
    }
  });

  it('validate --json prints the normalised spec with an absolute workspace', () => {
    const r = phaseflow(['validate', 'examples/demo-epic.yaml', '--json', '--create-workspace']);
    assert.equal(r.code, 0, r.stderr);
    const spec = JSON.parse(r.stdout);
    assert.equal(spec.workspace, path.resolve('demo-workspace'));
    assert.equal(spec.roadmaps[0].plans[0].phases[0].tasks[2].kind, 'command');
    assert.equal(spec.roadmaps[0].plans[0].phases[0].tasks[0].outputType, 'search');
  });

  it('schema prints a JSON Schema generated from the spec', () => {
    const r = phaseflow(['schema']);
    assert.equal(r.code, 0, r.stderr);
    const schema = JSON.parse(r.stdout);
    assert.ok(schema.properties.roadmaps);
    assert.deepEqual(schema.properties.agentMode.enum, ['dry-run', 'claude']);
  });

  it('start with an invalid spec starts nothing and exits 2', async () => {
    const file = path.join(dir, 'bad.json');
    const ws = path.join(dir, 'ws');
    writeFileSync(file, JSON.stringify({ slug: 'cli-bad', title: 'x', workspace: ws, roadmaps: [] }));
    const r = phaseflow(['start', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /roadmaps \(line 1\): an epic needs at least one roadmap/);
    assert.equal(existsSync(ws), false, 'no workspace is created');
    const { address, namespace } = testTemporal();
    const connection = await Connection.connect({ address });
    try {
      const client = new Client({ connection, namespace });
      await assert.rejects(client.workflow.getHandle('epic/cli-bad').describe(), /not found/i);
    } finally {
      await connection.close();
    }
  });

  it('start prints the Web UI link when given one (--ui-url, PHASEFLOW_UI_URL), else the temporal command that shows the run', async () => {
    const slug = uniqueName('cli-ui');
    const file = path.join(dir, 'ok.json');
    writeFileSync(
      file,
      JSON.stringify({
        slug,
        title: 'x',
        workspace: dir,
        agentMode: 'dry-run',
        roadmaps: [
          {
            slug: 'r',
            title: 'R',
            plans: [
              {
                slug: 'p',
                title: 'P',
                phases: [{ slug: 'one', title: 'One', tasks: [{ id: '1', description: 'a' }] }],
              },
            ],
          },
        ],
      }),
    );
    // No worker polls this queue: the epics just wait, and are terminated below.
    const env = { PHASEFLOW_TASK_QUEUE: uniqueName('no-worker'), PHASEFLOW_UI_URL: '' };
    const client = await testClient();
    try {
      const plain = phaseflow(['start', file], env);
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(plain.stdout, new RegExp(`^History: temporal workflow show --workflow-id epic/${slug}$`, 'm'));
      const flag = phaseflow(
        ['start', file, '--id', `${slug}-flag`, '--ui-url', 'https://temporal.example.com/ui/'],
        env,
      );
      assert.equal(flag.code, 0, flag.stderr);
      assert.match(
        flag.stdout,
        new RegExp(`^Web UI: https://temporal\\.example\\.com/ui/namespaces/default/workflows/${slug}-flag$`, 'm'),
      );
      const fromEnv = phaseflow(['start', file, '--id', `${slug}-env`], {
        ...env,
        PHASEFLOW_UI_URL: 'http://127.0.0.1:18233',
      });
      assert.equal(fromEnv.code, 0, fromEnv.stderr);
      assert.match(
        fromEnv.stdout,
        new RegExp(`^Web UI: http://127\\.0\\.0\\.1:18233/namespaces/default/workflows/${slug}-env$`, 'm'),
      );
      const bad = phaseflow(['start', file, '--id', `${slug}-bad`, '--ui-url', '127.0.0.1:8233'], env);
      assert.equal(bad.code, 1, bad.stderr);
      assert.equal(
        bad.stderr,
        'error: --ui-url: expected an http or https URL, e.g. http://127.0.0.1:8233; got "127.0.0.1:8233"\n',
      );
      await assert.rejects(client.workflow.getHandle(`${slug}-bad`).describe(), /not found/i);
    } finally {
      for (const id of [`epic/${slug}`, `${slug}-flag`, `${slug}-env`])
        await client.workflow
          .getHandle(id)
          .terminate('test done')
          .catch(() => undefined);
    }
  });

  it('start names the missing server when none answers', () => {
    const file = path.join(dir, 'ok.yaml');
    writeFileSync(file, readFileSync('examples/demo-epic.yaml', 'utf8'));
    const r = phaseflow(['start', file, '--create-workspace'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no Temporal server at 127\.0\.0\.1:1/);
  });

  it('worker names the missing server in one line (no transport error, no stack)', () => {
    const r = phaseflow(['worker', '--log-file', path.join(dir, 'worker.log')], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stderr,
      'error: no Temporal server at 127.0.0.1:1 (namespace default); start one with `phaseflow server` or set TEMPORAL_ADDRESS\n',
    );
  });

  it('demo on a running server says it uses it, terminates an earlier demo run there, and links the Web UI it is given', async function () {
    this.timeout(180_000);
    const ws = path.join(dir, 'demo');
    // An earlier demo run, still running (no worker polls its queue).
    const client = await testClient();
    const earlier = await client.workflow.start(epicWorkflow, {
      workflowId: 'epic/demo-greeter',
      taskQueue: uniqueName('no-worker'),
      args: [{} as EpicSpecInput],
    });
    const { address } = testTemporal();
    const r = await run(
      process.execPath,
      [BIN, 'demo', '--workspace', ws, '--ui-url', 'http://ui.example:18233/'],
      { PHASEFLOW_LOG_FILE: path.join(dir, 'demo.log') },
      170_000,
    );
    assert.equal(r.code, 0, shown(r));
    assert.match(
      r.stdout,
      new RegExp(
        `^Using the Temporal server already at ${address.replace(/\./g, '\\.')} \\(namespace default\\)$`,
        'm',
      ),
    );
    assert.ok(
      r.stdout.includes(
        `Terminated the earlier demo run still running on ${address} (epic/demo-greeter, run ${earlier.firstExecutionRunId})\n`,
      ),
      shown(r),
    );
    assert.match(r.stdout, /Epic epic\/demo-greeter completed: 20\/20 tasks/);
    const links = r.stdout.split('\n').filter((l) => l.startsWith('Web UI: '));
    assert.deepEqual(
      links,
      Array(2).fill('Web UI: http://ui.example:18233/namespaces/default/workflows/epic%2Fdemo-greeter'),
      shown(r),
    );
    const epic = JSON.parse(readFileSync(path.join(ws, '.claude/epics/demo-greeter/EPIC.json'), 'utf8'));
    assert.equal(epic.status, 'completed');
    assert.equal(epic.completion_percentage, 100);
    // The demo's commands did real work in the workspace.
    assert.equal(readFileSync(path.join(ws, 'greeting.txt'), 'utf8').trim(), 'Hello, world!');
    const progress = JSON.parse(
      readFileSync(path.join(ws, '.claude/phase-plans/implementation/PROGRESS.json'), 'utf8'),
    );
    const retried = progress.phases[0].tasks.find((t: { id: string }) => t.id === '1.2');
    assert.equal(retried.attempts, 2, 'the task set to fail once was retried');
    assert.equal(retried.status, 'completed');
  });
});

describe('plain `temporal workflow start --input-file epic.json`', () => {
  it('starts the same run as phaseflow start (the README route)', async function () {
    this.timeout(120_000);

    const dir = mkdtempSync(path.join(os.tmpdir(), 'pf-temporal-cli-'));
    const slug = uniqueName('plain');
    const ws = tempWorkspace();
    const yamlFile = path.join(dir, 'epic.yaml');
    writeFileSync(
      yamlFile,
      [
        `slug: ${slug}`,
        'title: Plain start',
        `workspace: ${ws}`,
        'agentMode: dry-run',
        'roadmaps:',
        '  - { slug: r, title: R, plans: [{ slug: p, title: P, phases: [{ slug: one, title: One, tasks: [{ id: "1.1", description: write, kind: command, command: "echo ok > out.txt" }, { id: "1.2", description: think, dryRun: { durationMs: 50 } }] }] }] }',
      ].join('\n'),
    );
    const json = phaseflow(['validate', yamlFile, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const jsonFile = path.join(dir, 'epic.json');
    writeFileSync(jsonFile, json.stdout);

    const { address, namespace, binary } = testTemporal();
    const taskQueue = uniqueName('plain-q');
    const workflowId = `epic/${slug}`;
    await withWorker(taskQueue, async () => {
      // The temporal CLI takes a file with --input-file (`--input "$(cat epic.json)"` works too).
      const r = spawnSync(
        binary,
        [
          'workflow',
          'start',
          '--address',
          address,
          '--namespace',
          namespace,
          '--type',
          'epicWorkflow',
          '--task-queue',
          taskQueue,
          '--workflow-id',
          workflowId,
          '--input-file',
          jsonFile,
        ],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      const client = await testClient();
      const result: any = await client.workflow.getHandle(workflowId).result();
      assert.equal(result.status, 'completed');
      assert.equal(result.tasksCompleted, 2);
    });
    assert.equal(readFileSync(path.join(ws, 'out.txt'), 'utf8').trim(), 'ok');
    const progress = JSON.parse(readFileSync(path.join(ws, '.claude/phase-plans/p/PROGRESS.json'), 'utf8'));
    assert.equal(progress.status, 'completed');
  });
});
