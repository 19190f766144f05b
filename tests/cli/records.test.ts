/**
 * Records that never collide or vanish, as a user meets them: the compiled `phaseflow` command
 * and a real `phaseflow worker` process on the test server.
 * - a missing workspace is refused at validate and start (and by the workflow itself);
 * - two epics that share a plan slug in one workspace: the second is refused, naming the first,
 *   and the first one's records stay as they were; state.json lists every plan;
 * - a completed epic started again: refused without --rerun; with it, the earlier run's records
 *   are archived, not overwritten;
 * - a failing task: the worker log carries its message.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { testClient, tempWorkspace, uniqueName, waitFor } from '../support/worker-harness';
import { shown } from './run-cli';
import { epicWorkflow } from '../../src/workflows/epic';
import type { EpicSpecInput } from '../../src/domain/spec';

const BIN = path.resolve(__dirname, '../../bin/phaseflow.js');

describe('records in one workspace (phaseflow worker process, real server)', function () {
  this.timeout(180_000);
  const taskQueue = uniqueName('tq-records');
  const dir = tempWorkspace('pf-records-');
  const logFile = path.join(dir, 'worker.log');
  let env: NodeJS.ProcessEnv;
  /** The epic that failed on a command (status reads it back from its mirrors once the worker is gone). */
  let lastFailed: { slug: string; ws: string } | undefined;
  let worker: ChildProcess;
  let workerStderr = '';

  function phaseflow(args: string[]) {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: 120_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** A one-roadmap dry-run epic; each plan has one phase with a command task that writes a log. */
  function writeSpec(
    name: string,
    spec: { slug: string; workspace: string; roadmap?: string; plans: string[]; command?: string; claude?: boolean },
  ): string {
    const file = path.join(dir, `${name}.yaml`);
    const doc = {
      slug: spec.slug,
      title: spec.slug,
      workspace: spec.workspace,
      agentMode: spec.claude ? 'claude' : 'dry-run',
      settings: { timeoutBaseSeconds: 20, attempts: 1, decisionTimeoutSeconds: 1 },
      roadmaps: [
        {
          slug: spec.roadmap ?? 'r',
          title: 'R',
          plans: spec.plans.map((p) => ({
            slug: p,
            title: p,
            phases: [
              {
                slug: 'one',
                title: 'One',
                tasks: [
                  {
                    id: '1',
                    kind: 'command',
                    description: 'say',
                    command: spec.command ?? `echo plan ${p} of ${spec.slug}`,
                  },
                  { id: '2', description: 'simulated', dryRun: { durationMs: 10 } },
                ],
              },
            ],
          })),
        },
      ],
    };
    fs.writeFileSync(file, JSON.stringify(doc, null, 2));
    return file;
  }

  const read = (f: string) => fs.readFileSync(f, 'utf8');
  const json = (f: string) => JSON.parse(read(f));

  before(async () => {
    // Read here, not at load: the test server's address is set by the root hook.
    // No API key in the worker's or the CLI's environment: the worker must say so at start.
    env = { ...process.env, PHASEFLOW_TASK_QUEUE: taskQueue, PHASEFLOW_UI_URL: '' };
    delete env.ANTHROPIC_API_KEY;
    worker = spawn(process.execPath, [BIN, 'worker', '--log-file', logFile], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stderr!.on('data', (c: Buffer) => (workerStderr += c.toString()));
    let out = '';
    worker.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    await waitFor(
      'the worker to start',
      () => {
        if (worker.exitCode !== null) throw new Error(`the worker exited ${worker.exitCode}: ${workerStderr}`);
        return out.includes('phaseflow worker on');
      },
      60_000,
    );
  });

  after(async () => {
    if (!worker || worker.exitCode !== null || worker.signalCode !== null) return;
    // (stopped already by the last block)
    const closed = new Promise((r) => worker.once('close', r));
    worker.kill('SIGINT');
    await closed;
  });

  it('the worker warns at start-up that it has no API key (stderr and log)', () => {
    assert.match(
      workerStderr,
      /warning: no ANTHROPIC_API_KEY in the environment: agent tasks of epics with agentMode "claude" will fail/,
    );
    assert.match(read(logFile), /"level":40,[^\n]*no ANTHROPIC_API_KEY in the environment/);
  });

  it('a missing workspace is refused by validate and start (exit 2, field path); --create-workspace creates it', async () => {
    const slug = uniqueName('nows');
    const file = writeSpec('nows', { slug, workspace: 'myrepo', plans: ['p'] });
    const missing = path.join(dir, 'myrepo');
    const v = phaseflow(['validate', file]);
    assert.equal(v.code, 2, shown(v));
    assert.match(
      v.stderr,
      new RegExp(
        `workspace: no such directory ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(relative paths resolve against the spec file's folder\\); create it, or pass --create-workspace`,
      ),
    );
    const s = phaseflow(['start', file]);
    assert.equal(s.code, 2, shown(s));
    assert.match(s.stderr, /workspace: no such directory/);
    assert.equal(fs.existsSync(missing), false, 'start created nothing');
    const client = await testClient();
    await assert.rejects(client.workflow.getHandle(`epic/${slug}`).describe(), /not found/i);

    assert.equal(phaseflow(['validate', file, '--create-workspace']).code, 0);
    const ok = phaseflow(['start', file, '--create-workspace', '--watch']);
    assert.equal(ok.code, 0, shown(ok));
    assert.match(read(path.join(missing, '.claude/cache/logs/p--1-1.log')), new RegExp(`plan p of ${slug}`));
  });

  it('the workflow itself refuses a missing workspace (plain temporal start) and creates nothing', async () => {
    const slug = uniqueName('nows-wf');
    const missing = path.join(dir, 'not-there');
    const spec = json(writeSpec('nows-wf', { slug, workspace: missing, plans: ['p'] })) as EpicSpecInput;
    const client = await testClient();
    const handle = await client.workflow.start(epicWorkflow, { taskQueue, workflowId: `epic/${slug}`, args: [spec] });
    const err = await handle.result().then(
      () => assert.fail('the epic ran in a workspace that does not exist'),
      (e) => e,
    );
    assert.ok(err instanceof WorkflowFailedError);
    assert.equal(err.cause?.name, 'ApplicationFailure');
    assert.equal((err.cause as any).type, 'WorkspaceRefused');
    assert.match(String(err.cause?.message), new RegExp(`^epic ${slug}: workspace ${missing} does not exist`));
    assert.equal(fs.existsSync(missing), false);
  });

  describe('two epics, one workspace', () => {
    const ws = path.join(dir, 'shared-ws');
    const first = uniqueName('calc');
    const second = uniqueName('other');
    let firstFile: string;

    before(() => {
      fs.mkdirSync(ws);
      firstFile = writeSpec('first', { slug: first, workspace: ws, plans: ['p', 'q'] });
      const r = phaseflow(['start', firstFile, '--watch']);
      assert.equal(r.code, 0, shown(r));
    });

    it('state.json covers every plan of the workspace, each plan with its own state file', () => {
      const state = json(path.join(ws, '.claude/orchestrator/state.json'));
      assert.deepEqual(
        state.plans.map((p: any) => [p.planId, p.status, p.statePath]),
        [
          ['p', 'completed', `.claude/orchestrator/plans/${first}--p.json`],
          ['q', 'completed', `.claude/orchestrator/plans/${first}--q.json`],
        ],
      );
      assert.equal(state.planId, 'q', 'the top level describes the plan updated last');
      for (const p of ['p', 'q'])
        assert.equal(json(path.join(ws, `.claude/orchestrator/plans/${first}--${p}.json`)).planId, p);
    });

    it('a second epic with the same roadmap and plan slug is refused at start, naming the first; nothing of the first changes', async () => {
      const before = read(path.join(ws, '.claude/phase-plans/p/PROGRESS.json'));
      const file = writeSpec('second', { slug: second, workspace: ws, plans: ['p'] });
      const r = phaseflow(['start', file]);
      assert.equal(r.code, 1, shown(r));
      assert.match(
        r.stderr,
        new RegExp(
          `^error: epic ${second}: workspace ${ws} already holds the records of another epic under roadmap slug "r" \\(epic ${first}, see \\.claude/orchestrator/owners/roadmap--r\\.json\\), plan slug "p" \\(epic ${first}, see \\.claude/orchestrator/owners/plan--p\\.json\\); slugs name files in the workspace, so rename`,
        ),
      );
      const client = await testClient();
      await assert.rejects(client.workflow.getHandle(`epic/${second}`).describe(), /not found/i);

      // Started past the CLI (plain temporal), the workflow refuses too, before writing anything.
      const spec = json(file) as EpicSpecInput;
      const handle = await client.workflow.start(epicWorkflow, {
        taskQueue,
        workflowId: `epic/${second}`,
        args: [spec],
      });
      const err = await handle.result().then(
        () => assert.fail('the second epic ran over the first one'),
        (e) => e,
      );
      assert.match(String(err.cause?.message), new RegExp(`plan slug "p" \\(epic ${first}`));
      assert.equal(read(path.join(ws, '.claude/phase-plans/p/PROGRESS.json')), before);
      assert.equal(fs.existsSync(path.join(ws, `.claude/epics/${second}/EPIC.json`)), false);
    });

    it('a different plan slug in the same workspace runs beside it; state.json lists all three plans', () => {
      const file = writeSpec('third', { slug: second, workspace: ws, roadmap: 'r2', plans: ['z'] });
      const r = phaseflow(['start', file, '--watch', '--id', `${second}-ok`]);
      assert.equal(r.code, 0, shown(r));
      const state = json(path.join(ws, '.claude/orchestrator/state.json'));
      assert.deepEqual(state.plans.map((p: any) => p.planId).sort(), ['p', 'q', 'z']);
      assert.equal(json(path.join(ws, '.claude/phase-plans/p/PROGRESS.json')).status, 'completed');
    });

    it('starting the completed epic again is refused without --rerun; --rerun archives the earlier records', async () => {
      const again = phaseflow(['start', firstFile]);
      assert.equal(again.code, 1, shown(again));
      assert.match(again.stderr, new RegExp(`^error: epic epic/${first} already ran \\(completed at `));
      assert.match(again.stderr, /Start it again with --rerun .*or under another workflow id with --id/);

      const earlier = {
        epic: read(path.join(ws, `.claude/epics/${first}/EPIC.json`)),
        progress: read(path.join(ws, '.claude/phase-plans/p/PROGRESS.json')),
        log: read(path.join(ws, '.claude/cache/logs/p--1-1.log')),
        details: read(path.join(ws, '.claude/cache/agent-outputs/q--2-1.json')),
      };
      const created = JSON.parse(earlier.epic).created as string;
      const rerun = phaseflow(['start', firstFile, '--rerun', '--watch']);
      assert.equal(rerun.code, 0, shown(rerun));
      const archive = path.join(ws, `.claude/cache/archive/${first}/${created.replace(/[^0-9A-Za-z]/g, '-')}`);
      assert.equal(read(path.join(archive, `.claude/epics/${first}/EPIC.json`)), earlier.epic);
      assert.equal(read(path.join(archive, '.claude/phase-plans/p/PROGRESS.json')), earlier.progress);
      assert.equal(read(path.join(archive, '.claude/cache/logs/p--1-1.log')), earlier.log);
      assert.equal(read(path.join(archive, '.claude/cache/agent-outputs/q--2-1.json')), earlier.details);
      assert.ok(fs.existsSync(path.join(archive, '.claude/roadmaps/r/ROADMAP.json')));
      // The new run wrote its own records; the other epic's are untouched.
      const now = json(path.join(ws, `.claude/epics/${first}/EPIC.json`));
      assert.equal(now.status, 'completed');
      assert.notEqual(now.phaseflow.owner, JSON.parse(earlier.epic).phaseflow.owner);
      assert.ok(fs.existsSync(path.join(ws, '.claude/phase-plans/z/PROGRESS.json')));
      assert.match(rerun.stdout, /Started epic\//);
    });
  });

  it("a failing task's message, and each level's, reach the worker log", async () => {
    const slug = uniqueName('fails');
    const ws = path.join(dir, 'fail-ws');
    fs.mkdirSync(ws);
    const file = writeSpec('fails', {
      slug,
      workspace: ws,
      plans: ['p'],
      command: 'echo "make: *** No rule to make target test-xyz" >&2; exit 3',
    });
    const r = phaseflow(['start', file, '--watch']);
    assert.equal(r.code, 1, shown(r));
    lastFailed = { slug, ws };
    const lines = await waitFor(
      'the epic failure in the worker log',
      () => {
        const all = logLines();
        return all.some((l) => l.msg === 'Workflow failed' && l.workflowId === `epic/${slug}`) && all;
      },
      20_000,
    );
    const task = lines.find((l) => l.task === '1' && l.workflowId === `epic/${slug}/r/p/one`);
    assert.ok(task, 'a line for the failed task');
    assert.equal(task.level, 50);
    assert.match(
      task.msg,
      /task 1 \(.*\/p\/one\) attempt 1\/1 failed; no attempts left: .*exit 3 .*No rule to make target test-xyz/,
    );
    for (const id of [`epic/${slug}/r/p`, `epic/${slug}/r`, `epic/${slug}`]) {
      const failed = lines.find((l) => l.msg === 'Workflow failed' && l.workflowId === id);
      assert.ok(failed, `a "Workflow failed" line for ${id}`);
      assert.match(failed.error.message, /task 1 failed after 1 attempt\(s\): .*No rule to make target test-xyz/, id);
    }
  });

  it('an activity that throws (claude mode, no API key): "Activity failed" carries the message and type', async () => {
    const slug = uniqueName('nokey');
    const ws = path.join(dir, 'nokey-ws');
    fs.mkdirSync(ws);
    const file = writeSpec('nokey', { slug, workspace: ws, plans: ['p'], claude: true });
    const r = phaseflow(['start', file, '--watch']);
    assert.equal(r.code, 1, shown(r));
    assert.match(r.stderr, /no ANTHROPIC_API_KEY/, 'start warns too');
    const line = await waitFor(
      'the activity failure in the worker log',
      () => logLines().find((l) => l.msg === 'Activity failed' && l.workflowId === `epic/${slug}/r/p/one`),
      20_000,
    );
    assert.equal(line.error.type, 'Permanent');
    assert.equal(line.error.nonRetryable, true);
    assert.match(line.error.message, /no Anthropic API key \(set ANTHROPIC_API_KEY for the worker/);
  });

  /** A one-phase dry-run epic from its tasks and gate, written as JSON. */
  function phaseSpec(name: string, slug: string, ws: string, phase: object, settings: object = {}): string {
    const file = path.join(dir, `${name}.json`);
    fs.mkdirSync(ws, { recursive: true });
    fs.writeFileSync(
      file,
      JSON.stringify({
        slug,
        title: name,
        workspace: ws,
        agentMode: 'dry-run',
        settings: { timeoutBaseSeconds: 20, attempts: 1, ...settings },
        roadmaps: [
          {
            slug: 'r',
            title: 'R',
            plans: [{ slug: 'p', title: 'P', phases: [{ slug: 'one', title: 'One', ...phase }] }],
          },
        ],
      }),
    );
    return file;
  }

  it('a failed gate shows its log and its last whole lines in pending, status and watch; the phase is not 100 %', async () => {
    const slug = uniqueName('gate');
    const ws = path.join(dir, 'gate-ws');
    const stop = "make: *** No rule to make target 'test'.  Stop.";
    // More output than the excerpt keeps (500 characters): the excerpt must start at a line.
    const gate = `for i in $(seq 1 40); do echo "compiling module number $i of the calculator"; done; echo "${stop}" >&2; exit 2`;
    const file = phaseSpec(
      'gate',
      slug,
      ws,
      {
        tasks: [
          { id: '1', description: 'simulated', dryRun: { durationMs: 10 } },
          { id: '2', kind: 'command', description: 'build', command: 'echo built' },
        ],
        gate: { commands: [gate] },
      },
      { decisionTimeoutSeconds: 600 },
    );
    const start = phaseflow(['start', file]);
    assert.equal(start.code, 0, shown(start));
    const logPath = '.claude/cache/logs/p--one-gate-1-1.log';
    const shownReason = new RegExp(
      `gate-1 \\(\`for i in [^\`]*…\`\\) exited 2 \\(log ${logPath.replace(/\./g, '\\.')}\\): compiling module number 40 of the calculator \\| ${stop.replace(/[.*]/g, '\\$&').replace(/ +/g, ' +')}`,
    );
    const watch = spawn(process.execPath, [BIN, 'watch', slug], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let watched = '';
    watch.stdout!.on('data', (c: Buffer) => (watched += c.toString()));
    try {
      const pending = await waitFor(
        'the gate question in pending',
        () => {
          const r = phaseflow(['pending', slug]);
          return r.stdout.includes('validation gate failed') && r.stdout;
        },
        30_000,
      );
      assert.match(pending, shownReason);
      const status = phaseflow(['status', slug]);
      assert.match(status.stdout, shownReason, shown(status));
      await waitFor('the reason in watch', () => shownReason.test(watched), 15_000);
      const progress = json(path.join(ws, '.claude/phase-plans/p/PROGRESS.json'));
      const check = progress.phases[0].gate.checks[0];
      assert.equal(check.log_file, logPath);
      assert.match(
        check.output_excerpt,
        /^compiling module number \d+ of the calculator\n/,
        'starts with a whole line',
      );
      assert.ok(check.output_excerpt.endsWith(stop), check.output_excerpt);
      assert.ok(check.output_excerpt.length <= 500);
      assert.equal(progress.phases[0].tasks.filter((t: any) => t.status === 'completed').length, 2);
      assert.ok(progress.phases[0].completion_percentage < 100, 'all tasks ran, the gate failed: not 100 %');
      assert.ok(progress.completion_percentage < 100);
    } finally {
      watch.kill('SIGINT');
      phaseflow(['resolve', slug, 'abort']);
    }
  });

  it('2 of 3 tasks is 66.7 % at every level; dry-run usage is labelled simulated in the files and the CLI', async () => {
    const slug = uniqueName('pct');
    const ws = path.join(dir, 'pct-ws');
    const file = phaseSpec(
      'pct',
      slug,
      ws,
      {
        tasks: [
          { id: '1', description: 'simulated', dryRun: { durationMs: 10 } },
          { id: '2', description: 'simulated', dryRun: { durationMs: 10 } },
          { id: '3', kind: 'command', description: 'fails', command: 'exit 1', dependsOn: ['1', '2'] },
        ],
      },
      { decisionTimeoutSeconds: 1 },
    );
    const r = phaseflow(['start', file, '--watch']);
    assert.equal(r.code, 1, shown(r));
    assert.match(r.stdout, /\$\d+\.\d{4} \(simulated\)/, 'watch labels the cost');
    const progress = json(path.join(ws, '.claude/phase-plans/p/PROGRESS.json'));
    const roadmap = json(path.join(ws, '.claude/roadmaps/r/ROADMAP.json'));
    const epic = json(path.join(ws, `.claude/epics/${slug}/EPIC.json`));
    assert.deepEqual(
      [
        progress.phases[0].completion_percentage,
        progress.completion_percentage,
        roadmap.completion_percentage,
        roadmap.phase_dev_plan_refs[0].completion_percentage,
        epic.completion_percentage,
        epic.roadmaps[0].completion_percentage,
      ],
      [66.7, 66.7, 66.7, 66.7, 66.7, 66.7],
    );
    for (const doc of [progress, roadmap, epic]) assert.equal(doc.phaseflow.usage.simulated, true);
    assert.equal(epic.token_budget.simulated, true);
    assert.equal(roadmap.token_allocation.simulated, true);
    assert.equal(progress.phases[0].tasks[0].usage.simulated, true);
    assert.equal(progress.phases[0].tasks[2].usage.simulated, undefined, 'a command costs nothing, simulated or not');
    const status = phaseflow(['status', slug]);
    assert.match(status.stdout, /tokens · \$\d+\.\d{4} \(simulated\)/, shown(status));
    // EPIC.json and its roadmap entry say the same.
    assert.equal(epic.status, 'blocked');
    assert.equal(epic.roadmaps[0].status, 'blocked');
  });

  describe('without a worker', () => {
    before(async () => {
      const closed = new Promise((r) => worker.once('close', r));
      worker.kill('SIGINT');
      await closed;
    });

    it("status of a finished epic shows its tree from the mirror files, at once, and the close event's failure", async () => {
      const slug = uniqueName('after');
      void slug;
      const fails = lastFailed;
      assert.ok(fails, 'an epic failed above');
      const t = Date.now();
      const r = phaseflow(['status', fails!.slug]);
      const ms = Date.now() - t;
      assert.equal(r.code, 0, shown(r));
      assert.ok(ms < 10_000, `status took ${ms} ms`);
      assert.match(r.stdout, new RegExp(`^epic/${fails!.slug}: epic failed`, 'm'));
      assert.match(
        r.stdout,
        new RegExp(`\\(from the mirror files in ${fails!.ws}: query "status" on epic/${fails!.slug} failed: `),
      );
      assert.match(r.stdout, /plan p/);
      assert.match(r.stdout, /phase one/);
      assert.match(r.stdout, /No rule to make target test-xyz/);
      const j = JSON.parse(phaseflow(['status', fails!.slug, '--json']).stdout);
      assert.equal(j.treeSource, 'mirrors');
      assert.equal(j.tree.children[0].children[0].slug, 'p');
    });
  });

  function logLines(): any[] {
    return read(logFile)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  }
});
