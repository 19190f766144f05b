/**
 * A worker that dies (SIGKILL) in the middle of a phase: another worker takes over, the epic
 * completes, and work that had completed before the crash is not done again (DESIGN.md §2).
 * Workers run as child processes (tests/support/worker-process.ts) so they can really be killed.
 */
import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ccaspProblems } from '../support/ccasp';
import {
  activityRuns,
  epicSpec,
  ids,
  mirrorFile,
  readJson,
  startEpic,
  taskIdOf,
  tempWorkspace,
  tryReadJson,
  uniqueName,
  waitFor,
} from '../support/worker-harness';

const REPO = path.resolve(__dirname, '../..');

interface WorkerProc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const started: WorkerProc[] = [];

async function startWorkerProcess(taskQueue: string): Promise<WorkerProc> {
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', 'tests/support/worker-process.ts', taskQueue], {
    cwd: REPO,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const proc = { child, output: () => out, exited };
  started.push(proc);
  await Promise.race([
    waitFor('the worker process to report ready', () => out.includes('worker ready'), 60_000, 100),
    exited.then((code) => {
      throw new Error(`worker process exited (${code}) before it was ready:\n${out}`);
    }),
  ]);
  return proc;
}

const lines = (file: string) =>
  fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;

describe('worker crash (SIGKILL mid-phase)', function () {
  this.timeout(150_000);

  after(async () => {
    // Stop the worker processes this test started (gracefully; the killed one is gone already).
    for (const w of started) {
      if (w.child.exitCode === null && w.child.signalCode === null) {
        w.child.kill('SIGTERM');
        const t = setTimeout(() => w.child.kill('SIGKILL'), 10_000);
        await w.exited;
        clearTimeout(t);
      }
    }
  });

  it('another worker finishes the epic; tasks completed before the crash ran exactly once', async () => {
    const slug = uniqueName('crash');
    const taskQueue = uniqueName('tq-crash');
    const ws = tempWorkspace();
    const cmd = (id: string, seconds: number, extra: object = {}) => ({
      id,
      description: `append to runs-${id}.txt`,
      kind: 'command',
      command: `sleep ${seconds}; echo x >> runs-${id}.txt`,
      ...extra,
    });
    const plan = {
      slug: 'work',
      title: 'Work',
      phases: [
        // a and b finish quickly; c and d are still running when the worker is killed.
        {
          slug: 'one',
          title: 'One',
          tasks: [cmd('a', 0.3), cmd('b', 0.5), cmd('c', 4), cmd('d', 4), cmd('e', 1, { dependsOn: ['a'] })],
          gate: { commands: ['test -s runs-c.txt'] },
        },
        { slug: 'two', title: 'Two', tasks: [cmd('f', 1), cmd('g', 1)] },
        { slug: 'three', title: 'Three', tasks: [cmd('h', 0.5)] },
      ],
    };
    const spec = epicSpec({
      slug,
      title: 'Crash test',
      workspace: ws,
      // heartbeatSeconds 3: an attempt the crash interrupts times out soon, while a working command
      // heartbeats well within it (every second; see the heartbeat test in hierarchy.test.ts).
      settings: { maxParallel: 4, attempts: 3, timeoutBaseSeconds: 30, retryBackoffSeconds: 0.2, heartbeatSeconds: 3 },
      roadmaps: [{ slug: 'rm', title: 'Roadmap', plans: [plan] }],
    });

    const first = await startWorkerProcess(taskQueue);
    const handle = await startEpic(taskQueue, spec);

    // Wait until phase one is half done: some tasks completed, others running.
    const progressFile = mirrorFile.progress(ws, 'work');
    const snapshot = await waitFor(
      'phase one to have completed and running tasks',
      () => {
        const p = tryReadJson(progressFile);
        const tasks: any[] = p?.phases?.[0]?.tasks ?? [];
        const done = tasks.filter((t) => t.status === 'completed');
        const running = tasks.filter((t) => t.status === 'running');
        return done.length >= 2 && running.some((t) => t.id === 'c') ? p : undefined;
      },
      60_000,
      50,
    );
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, null, 'the first worker was killed by the signal');
    const doneBeforeKill: string[] = snapshot.phases[0].tasks
      .filter((t: any) => t.status === 'completed')
      .map((t: any) => t.id);
    const runningAtKill: string[] = snapshot.phases[0].tasks
      .filter((t: any) => t.status === 'running')
      .map((t: any) => t.id);
    assert.equal(snapshot.phases[0].status, 'active');
    assert.equal(snapshot.phases[1].status, 'pending', 'the crash happened in phase one');
    for (const id of doneBeforeKill)
      assert.equal(lines(path.join(ws, `runs-${id}.txt`)), 1, `${id} ran once before the crash`);

    await startWorkerProcess(taskQueue);
    const result: any = await handle.result();
    assert.equal(result.status, 'completed');

    // Work completed before the crash is never repeated: one run each, one activity execution each.
    const phaseOne = await activityRuns(ids.phase(slug, 'rm', 'work', 'one'));
    for (const id of doneBeforeKill) {
      assert.equal(
        lines(path.join(ws, `runs-${id}.txt`)),
        1,
        `task ${id} completed before the crash and must not run again`,
      );
      assert.equal(phaseOne.filter((r) => taskIdOf(r) === id).length, 1, `task ${id}: one activity execution`);
    }
    // Tasks interrupted by the crash ran again (heartbeat timeout, then a new attempt) and completed.
    for (const id of runningAtKill) {
      const runs = phaseOne.filter((r) => taskIdOf(r) === id);
      assert.ok(
        runs.length >= 2,
        `task ${id} was running at the crash: expected a retry, got ${runs.length} execution(s)`,
      );
      assert.equal(runs[0].outcome, 'timedOut', `task ${id}'s interrupted attempt times out (no heartbeat)`);
      assert.equal(runs[runs.length - 1].outcome, 'completed');
      assert.ok(lines(path.join(ws, `runs-${id}.txt`)) >= 1);
    }
    // Tasks that started after the crash ran exactly once.
    for (const id of ['f', 'g', 'h']) assert.equal(lines(path.join(ws, `runs-${id}.txt`)), 1, `task ${id} ran once`);

    const progress = readJson(progressFile);
    assert.equal(progress.status, 'completed');
    assert.equal(progress.completion_percentage, 100);
    for (const ph of progress.phases) {
      assert.equal(ph.status, 'completed');
      for (const t of ph.tasks) assert.equal(t.status, 'completed', `task ${t.id}`);
    }
    for (const id of doneBeforeKill) assert.equal(progress.phases[0].tasks.find((t: any) => t.id === id).attempts, 1);
    const epic = readJson(mirrorFile.epic(ws, slug));
    assert.equal(epic.status, 'completed');
    assert.equal(epic.completion_percentage, 100);
    assert.equal(readJson(mirrorFile.roadmap(ws, 'rm')).status, 'completed');
    const state = readJson(mirrorFile.state(ws));
    assert.equal(state.status, 'completed');
    assert.deepEqual(state.activeAgents, []);
    assert.deepEqual(ccaspProblems('progress', progress), []);
    assert.deepEqual(ccaspProblems('epic', epic), []);
    assert.deepEqual(ccaspProblems('state', state), []);
  });
});
