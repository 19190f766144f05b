/**
 * `phaseflow github webhook`: a signed `issue_comment` event with `/phaseflow approve` from a
 * writer is applied through the decide update and acknowledged on the issue, without the poller
 * (`poll: false`: the webhook is the only reader); an event with a bad signature is refused and changes nothing.
 */
import { strict as assert } from 'node:assert';
import { Webhooks } from '@octokit/webhooks';
import { startWebhookServer, type WebhookServer } from '../../src/cli/github-webhook';
import { statusQuery } from '../../src/workflows/messages';
import { FakeGitHub } from '../fake-github/server';
import { gitWorkspace } from '../git/repo';
import {
  epicSpec,
  FAST_SETTINGS,
  ids,
  startEpic,
  testClient,
  uniqueName,
  waitFor,
  withWorker,
} from '../support/worker-harness';

const TOKEN = 'ghp_webhookTestToken0123456789abcdefABCD';
const SECRET = 'webhook-secret-for-tests';

describe('GitHub webhook (signed issue_comment events)', function () {
  this.timeout(120_000);
  let fake: FakeGitHub;
  let hook: WebhookServer | undefined;
  const saved = { token: process.env.GITHUB_TOKEN, url: process.env.GITHUB_API_URL };
  before(async () => {
    fake = await new FakeGitHub(TOKEN).start();
    fake.addRepo('acme', 'shop');
    fake.setPermission('acme', 'shop', 'alice', 'admin');
    process.env.GITHUB_TOKEN = TOKEN;
    process.env.GITHUB_API_URL = fake.url;
  });
  after(async () => {
    await hook?.close();
    await fake.stop();
    process.env.GITHUB_TOKEN = saved.token;
    process.env.GITHUB_API_URL = saved.url;
    if (saved.token === undefined) delete process.env.GITHUB_TOKEN;
    if (saved.url === undefined) delete process.env.GITHUB_API_URL;
  });

  it('applies a writer’s /phaseflow approve pushed by GitHub; a bad signature is refused', async () => {
    const slug = uniqueName('gh-hook');
    const taskQueue = uniqueName('tq-gh-hook');
    const { ws } = gitWorkspace();
    const client = await testClient();
    const logged: string[] = [];
    hook = await startWebhookServer({ client, secret: SECRET, port: 0, log: (l) => logged.push(l) });
    const spec = epicSpec({
      slug,
      title: 'webhook',
      workspace: ws,
      settings: { ...FAST_SETTINGS, decisionTimeoutSeconds: 600 },
      gating: { require_tests: false, require_phase_approval: true },
      github: { owner: 'acme', repo: 'shop', poll: false },
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
                  tasks: [{ id: '1.1', description: 'x', kind: 'command', command: 'true' }],
                },
              ],
            },
          ],
        },
      ],
    });
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      const issue = await waitFor('the issue', () => fake.issues('acme', 'shop')[0], 30_000);
      await waitFor(
        'the question on the issue',
        () => fake.comments('acme', 'shop', issue.number).find((c) => c.body.includes('/question/')),
        30_000,
      );
      await waitFor('the plan listed as waiting', async () => {
        const found: string[] = [];
        for await (const w of client.workflow.list({
          query: `PhaseflowPlan="core" AND PhaseflowEpic="${slug}" AND PhaseflowStatus="waiting"`,
        }))
          found.push(w.workflowId);
        return found.length > 0;
      });
      await new Promise((r) => setTimeout(r, 1_000));
      const comment = fake.comment('acme', 'shop', issue.number, 'alice', '/phaseflow approve via the webhook');
      const payload = {
        action: 'created',
        issue: { number: issue.number },
        comment: { id: comment.id, body: comment.body, html_url: comment.html_url, user: { login: 'alice' } },
        repository: { name: 'shop', owner: { login: 'acme' } },
      };
      const body = JSON.stringify(payload);
      const post = (signature: string) =>
        fetch(`http://127.0.0.1:${hook!.port}/`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-github-event': 'issue_comment',
            'x-github-delivery': `d-${Date.now()}`,
            'x-hub-signature-256': signature,
          },
          body,
        });
      const forged = await post(`sha256=${'0'.repeat(64)}`);
      assert.ok(forged.status >= 400 && forged.status < 500, `a bad signature is refused (got ${forged.status})`);
      const plan = client.workflow.getHandle(ids.plan(slug, 'road', 'core'));
      assert.equal((await plan.query(statusQuery)).pending?.length, 1, 'nothing changed');

      const signed = await post(await new Webhooks({ secret: SECRET }).sign(body));
      assert.equal(signed.status, 200, logged.join('\n'));
      await handle.result();
      const ack = fake.comments('acme', 'shop', issue.number).find((c) => c.body.includes(`/reply/${comment.id} -->`));
      assert.match(ack?.body ?? '', /@alice: applied \*\*approve\*\*/);
      assert.equal(hook!.handled.length, 1);
    });
  });
});
