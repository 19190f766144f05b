/**
 * A worker `kill -9`'d between GitHub creating a comment (the POST) and the sync activity
 * completing: the fake holds its response once the comment exists, the test kills the worker, a
 * second worker retries the activity, which finds the comment by its hidden marker and posts no
 * second one. Per-task comments: one per task attempt.
 */
import { strict as assert } from 'node:assert';
import { startWorkerProcess, useWorkerProcesses } from '../e2e-agents/helpers';
import { FakeGitHub } from '../fake-github/server';
import { gitWorkspace } from '../git/repo';
import { epicSpec, FAST_SETTINGS, startEpic, uniqueName, waitFor } from '../support/worker-harness';

const TOKEN = 'ghp_crashTestToken0123456789abcdefABCDEF';

describe('GitHub: a worker killed between the POST of a comment and the activity completing', function () {
  this.timeout(150_000);
  const workers = useWorkerProcesses();
  let fake: FakeGitHub;
  before(async () => {
    fake = await new FakeGitHub(TOKEN).start();
    fake.addRepo('acme', 'shop');
  });
  after(() => fake.stop());

  it('the retried sync edits or keeps its comment: one comment per event', async () => {
    const slug = uniqueName('gh-kill');
    const queue = uniqueName('tq-gh-kill');
    const { ws } = gitWorkspace();
    let posted: (() => void) | undefined;
    const firstPost = new Promise<void>((resolve) => (posted = resolve));
    let held = false;
    fake.holdAfter = (req) => {
      if (held || req.method !== 'POST' || !req.path.endsWith('/comments')) return undefined;
      held = true;
      posted!();
      return new Promise((r) => setTimeout(r, 60_000)); // the worker dies meanwhile
    };
    const spec = epicSpec({
      slug,
      title: 'kill after a comment POST',
      workspace: ws,
      settings: FAST_SETTINGS,
      github: { owner: 'acme', repo: 'shop', comments: 'per-task' },
      roadmaps: [
        {
          slug: 'road',
          title: 'Road',
          plans: [
            {
              slug: 'core',
              title: 'Core',
              phases: [
                {
                  slug: 'one',
                  title: 'One',
                  tasks: [
                    { id: '1.1', description: 'first', kind: 'command', command: 'true' },
                    { id: '1.2', description: 'second', kind: 'command', command: 'true', dependsOn: ['1.1'] },
                  ],
                },
                {
                  slug: 'two',
                  title: 'Two',
                  tasks: [{ id: '2.1', description: 'third', kind: 'command', command: 'true' }],
                },
              ],
            },
          ],
        },
      ],
    });
    const env = { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: fake.url };
    const w1 = startWorkerProcess(queue, env);
    workers.push(w1);
    const handle = await startEpic(queue, spec);
    await Promise.race([
      firstPost,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no comment POST:\n${w1.output()}`)), 60_000)),
    ]);
    const issue = fake.issues('acme', 'shop')[0];
    assert.equal(fake.comments('acme', 'shop', issue.number).length, 1, 'the comment exists before the kill');
    w1.kill('SIGKILL');
    assert.equal((await w1.exited).signal, 'SIGKILL');
    const w2 = startWorkerProcess(queue, env);
    workers.push(w2);
    await handle.result().catch((e) => {
      throw new Error(`${(e as Error).message}\nworker 2 output:\n${w2.output()}`);
    });
    await waitFor('the issue closed', () => fake.issues('acme', 'shop')[0].state === 'closed', 30_000);
    const keys = fake
      .comments('acme', 'shop', issue.number)
      .map((c) => c.body.match(/^<!-- phaseflow:(.+?) -->/)?.[1] ?? '?');
    assert.deepEqual(keys.slice().sort(), [
      `${slug}/core/final`,
      `${slug}/core/one/1.1/1`,
      `${slug}/core/one/1.2/1`,
      `${slug}/core/two/2.1/1`,
    ]);
    assert.equal(fake.issues('acme', 'shop').length, 1);
    const posts = fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/comments'));
    assert.equal(posts.length, 4, 'four POSTs: none repeated after the kill');
    // The workers' logs (stdout and stderr) never print the token.
    for (const w of [w1, w2]) assert.ok(!w.output().includes(TOKEN), 'token in a worker log');
  });
});
