/**
 * `phaseflow watch ID` on a real server: it attaches to a run it did not start, prints a line per
 * change when stdout is not a terminal (the question too, with the command that answers it),
 * exits with the final status when the epic closes (soon, even while a poll waits on a query no
 * worker answers), and reattaches to a closed run. On a
 * terminal the frame is redrawn in place and kept inside the screen.
 */
import { strict as assert } from 'node:assert';
import os from 'node:os';
import { Writable } from 'node:stream';
import { watchEpic } from '../../src/cli/watch';
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
import { phaseflow, type RunningCli, shown, startPhaseflow } from './run-cli';
import { pendingQuery, statusQuery } from '../../src/workflows/messages';

const ME = os.userInfo().username;

function epic(prefix: string, phases: object[], settings: Record<string, unknown> = {}) {
  const slug = uniqueName(prefix);
  const spec = epicSpec({
    slug,
    title: `Watch ${prefix}`,
    workspace: tempWorkspace(),
    settings: { ...FAST_SETTINGS, decisionTimeoutSeconds: 600, ...settings },
    roadmaps: [{ slug: 'r', title: 'R', plans: [{ slug: 'p', title: 'P', phases }] }],
  });
  return { slug, spec, taskQueue: uniqueName(`tq-${prefix}`), epicId: ids.epic(slug) };
}

/** ANSI escape sequences (a non-terminal must get none). */
const ANSI = /\x1b\[/;

describe('phaseflow watch (real server)', function () {
  this.timeout(180_000);

  it('attaches to a running epic, logs each change and the question, sees it answered, and exits 0 with the outcome', async () => {
    // 1.2 fails its first round (attempts: 1) and passes once retried.
    const e = epic('watch', [
      {
        slug: 'build',
        title: 'Build',
        tasks: [
          agentTask('1.1', 300),
          agentTask('1.2', 300, { settings: { attempts: 1 }, dryRun: { durationMs: 300, failAttempts: 1 } }),
        ],
      },
      { slug: 'ship', title: 'Ship', tasks: [agentTask('2.1', 300)] },
    ]);
    await withWorker(e.taskQueue, async () => {
      const handle = await startEpic(e.taskQueue, e.spec);
      const client = await testClient();
      await waitFor(
        'the epic running',
        async () => (await handle.query(statusQuery)).status !== 'pending',
        20_000,
        100,
      );

      const watch = startPhaseflow(['watch', e.slug, '--interval', '0.2']);
      const q = await waitFor(
        'the question',
        async () => (await client.workflow.getHandle(e.epicId).query(pendingQuery))[0],
        30_000,
      );
      await waitFor(
        'watch to show the question',
        () =>
          watch
            .stdout()
            .includes(`answer: phaseflow resolve ${q.workflowId} retry|retry-phase|skip|abort --decision ${q.id}`),
        20_000,
        100,
      );
      assert.match(
        watch.stdout(),
        /^\d\d:\d\d:\d\d ⏳ escalation \(task-failed\) in phase "Build" \(r\/p\/build\), asked \d+s ago$/m,
      );
      assert.match(
        watch.stdout(),
        /^\d\d:\d\d:\d\d {4}default: abort in \d+m \d\ds \(.+ UTC\) · choices: retry, retry-phase, skip, abort$/m,
      );
      const answer = await phaseflow(['resolve', e.slug, 'retry']);
      assert.equal(answer.code, 0, shown(answer));

      const r = await watch.done;
      assert.equal(r.code, 0, shown(r));
      const out = r.stdout;
      assert.doesNotMatch(out, ANSI);
      assert.match(out, new RegExp(`^Watching ${e.epicId} \\(every 0.2 s\\)$`, 'm'));
      assert.match(
        out,
        new RegExp(
          `^\\d\\d:\\d\\d:\\d\\d ✔ decided: .+ ${q.id.replace(/[/#]/g, '.')} escalation \\(task-failed\\) → retry, by ${ME}$`,
          'm',
        ),
      );
      // A line per change, each node spelled by its path: never the same line twice in a row.
      const byNode = new Map<string, string[]>();
      for (const m of out.matchAll(/^\d\d:\d\d:\d\d \S+ (epic|roadmap|plan|phase) (\S+) (.*)$/gm))
        byNode.set(m[2], [...(byNode.get(m[2]) ?? []), m[3]]);
      assert.deepEqual(
        [...byNode.keys()].sort(),
        [e.slug, `${e.slug}/r`, `${e.slug}/r/p`, `${e.slug}/r/p/build`, `${e.slug}/r/p/ship`].sort(),
        out,
      );
      for (const [node, lines] of byNode)
        lines.forEach((l, i) => assert.notEqual(l, lines[i - 1], `${node} printed twice unchanged:\n${out}`));
      assert.match(byNode.get(`${e.slug}/r/p`)!.at(-1)!, /^completed · 3\/3 tasks/);
      assert.ok(
        byNode.get(`${e.slug}/r/p/build`)!.some((l) => l.startsWith('waiting')),
        out,
      );
      assert.match(out, new RegExp(`^Epic ${e.epicId} completed: 3/3 tasks, \\$\\d+\\.\\d{4} \\(simulated\\)$`, 'm'));
    });

    // Reattached after the end: the outcome at once.
    const again = await phaseflow(['watch', e.epicId]);
    assert.equal(again.code, 0, shown(again));
    assert.match(again.stdout, new RegExp(`^Epic ${e.epicId} completed: 3/3 tasks`, 'm'));
  });

  it('exits 1 with the reason when the epic fails (a question nobody answered took its default, abort)', async () => {
    const e = epic(
      'watch-fail',
      [
        {
          slug: 'build',
          title: 'Build',
          tasks: [agentTask('1.1', 30, { settings: { attempts: 1 }, dryRun: { durationMs: 30, outcome: 'failure' } })],
        },
      ],
      {
        decisionTimeoutSeconds: 2,
      },
    );
    await withWorker(e.taskQueue, async () => {
      await startEpic(e.taskQueue, e.spec);
      const r = await phaseflow(['watch', e.slug, '--interval', '0.2']);
      assert.equal(r.code, 1, shown(r));
      assert.match(r.stdout, /✔ decided: .+ → abort, default \(no answer in time\)/);
      assert.match(r.stdout, new RegExp(`^Epic ${e.epicId} failed: .*task 1\\.1`, 'm'));
    });
  });

  it('ends within seconds of the run closing, even while a poll waits on a query no worker answers', async () => {
    const e = epic('watch-gone', [{ slug: 'long', title: 'Long', tasks: [agentTask('1.1', 120_000)] }]);
    let watch: RunningCli | undefined;
    await withWorker(e.taskQueue, async () => {
      await startEpic(e.taskQueue, e.spec);
      watch = startPhaseflow(['watch', e.slug, '--interval', '0.2']);
      await waitFor('watch to print the tree', () => / phase \S+\/long /.test(watch!.stdout()), 20_000, 100);
    });
    // The worker is gone: the poll under way waits for the epic's full query limit (15 s).
    await new Promise((r) => setTimeout(r, 1000));
    const closedAt = Date.now();
    await (await testClient()).workflow.getHandle(e.epicId).terminate('closed while watched');
    const r = await watch!.done;
    const took = Date.now() - closedAt;
    assert.equal(r.code, 1, shown(r));
    assert.match(r.stdout, new RegExp(`^Epic ${e.epicId} terminated: closed while watched$`, 'm'), shown(r));
    // The closing poll still asks (4 s, no worker answers it); the poll left behind is not waited for.
    assert.ok(took < 9_000, `watch ended ${took} ms after the run closed\n${shown(r)}`);
  });

  it('on a terminal redraws the frame in place, inside the screen', async () => {
    // More nodes than the screen has rows: the frame is cut so the redraw stays exact.
    const phases = Array.from({ length: 12 }, (_, i) => ({
      slug: `ph${i}`,
      title: `Phase ${i}`,
      tasks: [agentTask(`${i}.1`, 80)],
    }));
    const e = epic('watch-tty', phases);
    const screen = { columns: 70, rows: 10 };
    let written = '';
    const tty = Object.assign(
      new Writable({
        write(chunk, _enc, cb) {
          written += chunk.toString();
          cb();
        },
      }),
      { isTTY: true, ...screen },
    );
    const result = await withWorker(e.taskQueue, async () => {
      await startEpic(e.taskQueue, e.spec);
      return watchEpic(await testClient(), e.epicId, { intervalMs: 150, out: tty });
    });
    assert.equal(result.ok, true, result.message);
    assert.match(result.message, new RegExp(`^Epic ${e.epicId} completed: 12/12 tasks`));
    // Frames: clear to the end, draw; each later one first moves up over the one before.
    const frames = written.split('\x1b[0J').slice(1);
    assert.ok(frames.length >= 3, `frames drawn: ${frames.length}`);
    const moves = [...written.matchAll(/\x1b\[(\d+)F\x1b\[0J/g)].map((m) => Number(m[1]));
    assert.equal(moves.length, frames.length - 1, 'every frame after the first redraws in place');
    for (const [i, f] of frames.entries()) {
      const lines = f
        .replace(/\x1b\[\d+F$/, '')
        .split('\n')
        .slice(0, -1);
      assert.ok(lines.length <= screen.rows - 1, `frame ${i} has ${lines.length} lines for ${screen.rows} rows`);
      for (const l of lines) assert.ok([...l].length <= screen.columns - 4, `line wider than the screen: ${l}`);
      if (i > 0)
        assert.equal(
          moves[i - 1],
          frames[i - 1].replace(/\x1b\[\d+F$/, '').split('\n').length - 1,
          'moves up exactly the last frame',
        );
    }
    assert.match(frames[frames.length - 1], /✔ epic .+ completed/);
    assert.match(frames[0], /… \d+ more/);
  });
});
