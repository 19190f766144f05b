/**
 * A worker `kill -9`'d between the phase's commit and the activity's completion: a post-commit
 * hook in the repository announces the commit and holds git (so the worker is inside the activity),
 * the test kills the worker, a second worker retries the activity, finds the commit by its trailer
 * and makes no second one.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startWorkerProcess, useWorkerProcesses } from '../e2e-agents/helpers';
import {
  activityRuns,
  epicSpec,
  FAST_SETTINGS,
  ids,
  mirrorFile,
  readJson,
  startEpic,
  tempWorkspace,
  uniqueName,
  waitFor,
} from '../support/worker-harness';
import { commitsSince, gitIn, gitWorkspace } from './repo';

const R = 'road';
const P = 'core';

describe('git: a worker killed between the commit and the activity completing', function () {
  this.timeout(150_000);
  const workers = useWorkerProcesses();

  it('the retried activity finds the commit by its trailer: one commit per phase', async () => {
    const slug = uniqueName('git-kill');
    const queue = uniqueName('tq-git-kill');
    const { ws } = gitWorkspace();
    const initial = gitIn(ws, 'rev-parse', 'HEAD');
    // The hook runs once per marker: it records its pid and the commit, then holds git for a minute.
    const marker = path.join(tempWorkspace(), 'committed');
    const hook = path.join(ws, '.git', 'hooks', 'post-commit');
    fs.writeFileSync(
      hook,
      `#!/bin/sh\nif [ ! -f ${marker} ]; then echo "$$ $(git rev-parse HEAD)" > ${marker}.tmp && mv ${marker}.tmp ${marker}; sleep 60; fi\n`,
    );
    fs.chmodSync(hook, 0o755);
    const spec = epicSpec({
      slug,
      title: 'kill between commit and completion',
      workspace: ws,
      settings: FAST_SETTINGS,
      git: { commitPerPhase: true },
      roadmaps: [
        {
          slug: R,
          title: 'Road',
          plans: [
            {
              slug: P,
              title: 'Core',
              phases: [
                {
                  slug: 'one',
                  title: 'One',
                  tasks: [{ id: '1.1', description: 'write one', kind: 'command', command: 'echo 1 > one.txt' }],
                  gate: { commands: ['test -f one.txt'] },
                },
                {
                  slug: 'two',
                  title: 'Two',
                  tasks: [{ id: '2.1', description: 'write two', kind: 'command', command: 'echo 2 > two.txt' }],
                },
              ],
            },
          ],
        },
      ],
    });
    const w1 = startWorkerProcess(queue, {});
    workers.push(w1);
    const handle = await startEpic(queue, spec);
    const [hookPid, commit] = await waitFor(
      'the post-commit hook of phase one',
      () => (fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8').trim().split(' ') : undefined),
      60_000,
      50,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\nworker output:\n${w1.output()}`);
    });
    w1.kill('SIGKILL');
    assert.equal((await w1.exited).signal, 'SIGKILL');
    process.kill(Number(hookPid), 'SIGKILL'); // the orphaned hook: it would only sleep
    const w2 = startWorkerProcess(queue, {});
    workers.push(w2);
    await handle.result().catch((e) => {
      throw new Error(`${(e as Error).message}\nworker 2 output:\n${w2.output()}`);
    });

    const commits = commitsSince(ws, initial);
    assert.deepEqual(
      commits.map((c) => c.subject),
      ['Phase 1: One', 'Phase 2: Two'],
      'one commit per phase, none twice',
    );
    assert.equal(commits[0].hash, commit, 'the commit made before the kill is the phase commit');
    const runs = (await activityRuns(ids.phase(slug, R, P, 'one'))).filter((r) => r.type === 'gitCommitPhase');
    assert.equal(runs.length, 1);
    assert.equal(runs[0].outcome, 'completed');
    assert.equal(runs[0].result.found, true, 'the retried attempt found the commit by its trailer');
    assert.equal(readJson(mirrorFile.progress(ws, P)).phases[0].commit_hash, commit);
  });
});
