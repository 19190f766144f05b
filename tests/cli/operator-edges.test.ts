/**
 * The edges of operating a run with the phaseflow command, on a real server with a real worker:
 * an epic started under its own id is found by its slug; pausing a paused run says so; Ctrl-C in
 * watch leaves the run going and says how to come back; watch attached before the workflow's
 * first task stays quiet and prints each level's end after what ended inside it; `status` of a phase that failed says so (its workflow completed); a gate
 * run again after a person's retry keeps the log of the run before; `status` of an epic that failed
 * its own input check shows the failure with its field paths.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  agentTask,
  epicSpec,
  FAST_SETTINGS,
  ids,
  startEpic,
  tempWorkspace,
  testClient,
  uniqueName,
  waitFor,
  withWorker,
} from '../support/worker-harness';
import { phaseflow, shown, startPhaseflow } from './run-cli';
import { pendingQuery } from '../../src/workflows/messages';

const PATIENT = { ...FAST_SETTINGS, decisionTimeoutSeconds: 600 };

function epic(prefix: string, phases: object[]) {
  const slug = uniqueName(prefix);
  const ws = tempWorkspace();
  const spec = epicSpec({
    slug,
    title: `Edges ${prefix}`,
    workspace: ws,
    settings: PATIENT,
    roadmaps: [{ slug: 'r', title: 'R', plans: [{ slug: 'p', title: 'P', phases }] }],
  });
  return { slug, ws, spec, taskQueue: uniqueName(`tq-${prefix}`), epicId: ids.epic(slug) };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('phaseflow operating edges (real server)', function () {
  this.timeout(180_000);

  it('an epic started with --id is found by its slug; pause twice says "already paused"; Ctrl-C in watch leaves the run going (exit 130)', async () => {
    const e = epic('edge-id', [{ slug: 'long', title: 'Long', tasks: [agentTask('1.1', 120_000)] }]);
    const file = path.join(e.ws, 'epic.json');
    writeFileSync(file, JSON.stringify(e.spec));
    const customId = uniqueName('mine');
    const env = { PHASEFLOW_TASK_QUEUE: e.taskQueue };
    await withWorker(e.taskQueue, async () => {
      const start = await phaseflow(['start', file, '--id', customId], env);
      assert.equal(start.code, 0, shown(start));
      const handle = (await testClient()).workflow.getHandle(customId);
      try {
        // By its slug (no workflow epic/<slug>): found through its PhaseflowEpic search attribute.
        const status = await waitFor(
          'status by slug',
          async () => {
            const r = await phaseflow(['status', e.slug]);
            return r.code === 0 ? r : undefined;
          },
          20_000,
          250,
        );
        assert.match(status.stdout, new RegExp(`^${escape(customId)}: epic (pending|active)$`, 'm'), shown(status));
        const unknown = await phaseflow(['status', `${e.slug}-nope`]);
        assert.equal(unknown.code, 1, shown(unknown));
        assert.match(
          unknown.stderr,
          new RegExp(
            `no workflow "epic/${escape(e.slug)}-nope" or "${escape(e.slug)}-nope" on .+, and no epic with the slug "${escape(e.slug)}-nope" \\(PhaseflowEpic\\)`,
          ),
        );

        const pause = await phaseflow(['pause', e.slug]);
        assert.equal(pause.code, 0, shown(pause));
        assert.match(pause.stdout, new RegExp(`^Paused ${escape(customId)} `, 'm'));
        const again = await phaseflow(['pause', e.slug]);
        assert.equal(again.code, 0, shown(again));
        assert.equal(
          again.stdout,
          `${customId} is already paused; nothing sent (\`phaseflow resume ${e.slug}\` resumes it)\n`,
        );
        const resume = await phaseflow(['resume', customId]);
        assert.equal(resume.code, 0, shown(resume));
        const resumeAgain = await phaseflow(['resume', customId]);
        assert.equal(resumeAgain.stdout, `${customId} is not paused; nothing sent\n`, shown(resumeAgain));

        const watch = startPhaseflow(['watch', e.slug, '--interval', '0.2']);
        await waitFor('watch to print the tree', () => / phase \S+\/long /.test(watch.stdout()), 20_000, 100);
        watch.kill('SIGINT');
        const r = await watch.done;
        assert.equal(r.code, 130, shown(r));
        assert.match(
          r.stdout,
          new RegExp(`\\nstopped watching; the run goes on \\(phaseflow watch ${escape(customId)} to reattach\\)\\n$`),
        );
        assert.equal(r.stderr, '');
        assert.equal((await handle.describe()).status.name, 'RUNNING', 'the run goes on');
      } finally {
        await handle.terminate('test done');
      }
    });
  });

  it('watch attached before the workflow ran its first task waits quietly', async () => {
    const e = epic('edge-early', [{ slug: 'one', title: 'One', tasks: [agentTask('1.1', 50)] }]);
    // No worker yet: the workflow cannot run its first task until one comes.
    await startEpic(e.taskQueue, e.spec);
    const watch = startPhaseflow(['watch', e.slug, '--interval', '0.2']);
    await waitFor('watch attached', () => watch.stdout().includes('Watching'), 20_000, 100);
    await new Promise((r) => setTimeout(r, 1000));
    const r = await withWorker(e.taskQueue, () => watch.done);
    assert.equal(r.code, 0, shown(r));
    assert.doesNotMatch(r.stdout, /query|handler|failed/, shown(r));
    assert.equal(r.stderr, '');
    assert.match(r.stdout, new RegExp(`^Epic ${escape(e.epicId)} completed: 1/1 tasks`, 'm'));
    // Each level's closing line comes after those of the levels inside it, as they happened.
    const closed = [...r.stdout.matchAll(/^\d\d:\d\d:\d\d ✔ (\w+) \S+ completed/gm)].map((m) => m[1]);
    assert.deepEqual(closed, ['phase', 'plan', 'roadmap', 'epic'], shown(r));
  });

  it('status of an epic that failed its input check (no status tree) prints the failure with its field paths, no "try again"', async () => {
    const e = epic('edge-badinput', [{ slug: 'one', title: 'One', tasks: [agentTask('1.1', 50)] }]);
    // Raw input, as `temporal workflow start` passes it: nothing checked it before the workflow.
    const bad = { ...e.spec, colour: 'red', settings: { ...e.spec.settings, maxParallel: 0 } };
    await withWorker(e.taskQueue, async () => {
      const handle = await startEpic(e.taskQueue, bad);
      await assert.rejects(handle.result(), (err: Error) =>
        /^workflow input: 2 problems/.test(String((err.cause as Error)?.message)),
      );
      // The worker is still up: the query reaches the closed workflow, which has no handler.
      const r = await phaseflow(['status', e.slug]);
      assert.equal(r.code, 0, shown(r));
      assert.equal(r.stderr, '', shown(r));
      const lines = r.stdout.split('\n');
      assert.equal(lines[0], `${e.epicId}: workflow failed`, shown(r));
      assert.equal(lines[1], '  workflow input: 2 problems', shown(r));
      assert.ok(lines.includes('    colour: unknown field "colour"'), shown(r));
      assert.ok(
        lines.some((l) => /^ {4}settings\.maxParallel: .*>=1/.test(l)),
        shown(r),
      );
      assert.match(r.stdout, /failed in its first workflow task, before it registered its "status" query handler/);
      assert.doesNotMatch(r.stdout, /try again/);
      const json = await phaseflow(['status', e.slug, '--json']);
      assert.equal(json.code, 0, shown(json));
      const out = JSON.parse(json.stdout);
      assert.equal(out.status, 'FAILED');
      assert.match(out.failure, /^workflow input: 2 problems\n {2}/);
      assert.match(out.failure, /colour: unknown field "colour"/);
    });
  });

  it('a gate run again after a retry keeps both logs; status of the phase that then failed says "phase failed (workflow completed)"', async () => {
    // The gate fails its first run (and leaves a marker), passes the next; phase two's task fails.
    const gate = {
      commands: ['if [ -f .gate-ran ]; then echo second run; else touch .gate-ran; echo first run; exit 1; fi'],
      successCriteria: ['passes'],
    };
    const e = epic('edge-gate', [
      { slug: 'one', title: 'One', tasks: [agentTask('1.1', 30)], gate },
      {
        slug: 'two',
        title: 'Two',
        tasks: [agentTask('2.1', 30, { settings: { attempts: 1 }, dryRun: { durationMs: 30, outcome: 'failure' } })],
      },
    ]);
    const client = await testClient();
    const pendingId = async (after?: string) =>
      waitFor(
        'a question',
        async () => {
          const [p] = await client.workflow.getHandle(e.epicId).query(pendingQuery);
          return p && p.id !== after ? p.id : undefined;
        },
        30_000,
        100,
      );
    await withWorker(e.taskQueue, async () => {
      const handle = await startEpic(e.taskQueue, e.spec);
      const gateQuestion = await pendingId();
      const retry = await phaseflow(['resolve', e.slug, 'retry']);
      assert.equal(retry.code, 0, shown(retry));
      await pendingId(gateQuestion);
      const abort = await phaseflow(['resolve', e.slug, 'abort']);
      assert.equal(abort.code, 0, shown(abort));
      await assert.rejects(handle.result());

      const phaseTwo = ids.phase(e.slug, 'r', 'p', 'two');
      const status = await phaseflow(['status', phaseTwo]);
      assert.equal(status.code, 0, shown(status));
      assert.match(
        status.stdout,
        new RegExp(`^${escape(phaseTwo)}: phase failed \\(workflow completed\\)\\n  ✖ phase two failed `),
        shown(status),
      );
      const epicStatus = await phaseflow(['status', e.slug]);
      assert.match(
        epicStatus.stdout,
        new RegExp(`^${escape(e.epicId)}: epic (failed|blocked)( \\(workflow failed\\))?\\n`),
        shown(epicStatus),
      );
    });
    const logs = path.join(e.ws, '.claude/cache/logs');
    const first = path.join(logs, 'p--one-gate-1-1.log');
    const second = path.join(logs, 'p--one-gate-1-2.log');
    assert.ok(existsSync(first) && existsSync(second), 'a log per gate run');
    assert.match(readFileSync(first, 'utf8'), /first run/);
    assert.match(readFileSync(second, 'utf8'), /second run/);
  });
});
