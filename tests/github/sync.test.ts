/**
 * GitHub, on the real server, against the fake GitHub REST API on 127.0.0.1 driven by the real
 * @octokit/rest: phaseflow creates the plan's issue (its number in PROGRESS.json), keeps one
 * comment per phase, sets `phase:N/M` and `status:…` labels as phases go, posts each question
 * with the commands that answer it, takes `/phaseflow approve` from a writer (through the decide
 * update, recorded with the login and the comment's URL) and ignores a non-writer (telling them
 * why), opens one pull request from the pushed branch, posts a final comment and closes the
 * issue. A 403 rate limit is waited out; a bad token stops the sync, not the epic; the token is
 * in no history, mirror file or command environment.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { statusQuery } from '../../src/workflows/messages';
import { ccaspProblems } from '../support/ccasp';
import {
  epicSpec,
  FAST_SETTINGS,
  fetchEvents,
  ids,
  mirrorFile,
  readJson,
  startEpic,
  testClient,
  uniqueName,
  waitFor,
  withWorker,
} from '../support/worker-harness';
import { FakeGitHub } from '../fake-github/server';
import { commitsSince, gitIn, gitWorkspace } from '../git/repo';

const run = promisify(execFile);
const BIN = path.resolve(__dirname, '../../bin/phaseflow.js');
const TOKEN = 'ghp_testTokenValue0123456789abcdefABCDEF';
const OWNER = 'acme';
const REPO = 'shop';
const R = 'road';
const P = 'core';

const command = (id: string, cmd: string) => ({ id, description: `run ${id}`, kind: 'command', command: cmd });

const markers = (bodies: string[]) => bodies.map((b) => b.match(/^<!-- phaseflow:(.+?) -->/)?.[1]).filter(Boolean);

function useFakeGithub(): { fake: () => FakeGitHub } {
  let fake: FakeGitHub;
  const saved = { token: process.env.GITHUB_TOKEN, url: process.env.GITHUB_API_URL };
  beforeEach(async () => {
    fake = await new FakeGitHub(TOKEN).start();
    fake.addRepo(OWNER, REPO);
    process.env.GITHUB_TOKEN = TOKEN;
    process.env.GITHUB_API_URL = fake.url;
  });
  afterEach(async () => {
    await fake.stop();
    if (saved.token === undefined) delete process.env.GITHUB_TOKEN;
    else process.env.GITHUB_TOKEN = saved.token;
    if (saved.url === undefined) delete process.env.GITHUB_API_URL;
    else process.env.GITHUB_API_URL = saved.url;
  });
  return { fake: () => fake };
}

function githubEpic(slug: string, ws: string, extra: Record<string, unknown> = {}) {
  return epicSpec({
    slug,
    title: `Epic ${slug}`,
    workspace: ws,
    settings: { ...FAST_SETTINGS, decisionTimeoutSeconds: 600 },
    git: { commitPerPhase: true },
    github: { owner: OWNER, repo: REPO, comments: 'per-phase', pullRequest: true, pollSeconds: 0.3 },
    roadmaps: [
      {
        slug: R,
        title: 'Road',
        plans: [
          {
            slug: P,
            title: 'Core plan',
            phases: [
              {
                slug: 'models',
                title: 'Models',
                tasks: [command('1.1', 'echo one > one.txt; env > env-1.txt')],
                gate: { commands: ['cat one.txt'] },
              },
              {
                slug: 'api',
                title: 'API',
                tasks: [command('2.1', 'echo two > two.txt')],
                gate: { commands: ['test -f two.txt'] },
              },
            ],
          },
        ],
      },
    ],
    ...extra,
  });
}

describe('GitHub sync (fake GitHub REST API, real server, real octokit)', function () {
  this.timeout(120_000);
  const gh = useFakeGithub();

  it('issue, per-phase comments, labels, approval from a writer (not a reader), one pull request, final comment and close', async () => {
    const fake = gh.fake();
    fake.setPermission(OWNER, REPO, 'alice', 'write');
    fake.setPermission(OWNER, REPO, 'rick', 'read');
    const slug = uniqueName('gh');
    const taskQueue = uniqueName('tq-gh');
    const { ws, origin } = gitWorkspace();
    const initial = gitIn(ws, 'rev-parse', 'HEAD');
    const spec = githubEpic(slug, ws, { gating: { require_tests: true, require_phase_approval: true } });
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      const issue = await waitFor('the plan issue', () => fake.issues(OWNER, REPO)[0], 30_000);
      assert.match(issue.body, new RegExp(`^<!-- phaseflow:${slug}/${P} -->`));
      assert.ok(issue.labels.some((l) => l.name === 'phaseflow'));

      // Phase 1 passed: its approval question is on the issue, with the commands that answer it.
      const question = await waitFor(
        'the approval question comment',
        () => fake.comments(OWNER, REPO, issue.number).find((c) => /\/question\//.test(c.body)),
        30_000,
      );
      assert.match(question.body, /`\/phaseflow approve`/);
      assert.match(question.body, /`\/phaseflow reject because <reason>`/);
      assert.ok(
        issue.labels.some((l) => l.name === 'status:waiting'),
        JSON.stringify(issue.labels),
      );

      // A reader's approve is ignored, and the reply says why; the phase keeps waiting.
      const byReader = fake.comment(OWNER, REPO, issue.number, 'rick', '/phaseflow approve');
      const ignored = await waitFor(
        'the reply to the reader',
        () => fake.comments(OWNER, REPO, issue.number).find((c) => c.body.includes(`/reply/${byReader.id} -->`)),
        30_000,
      );
      assert.match(
        ignored.body,
        /@rick: ignored\. Only people with write access to acme\/shop .*\(your permission: read\)/,
      );
      await new Promise((r) => setTimeout(r, 1_000));
      const plan = (await testClient()).workflow.getHandle(ids.plan(slug, R, P));
      assert.equal((await plan.query(statusQuery)).pending?.length, 1, 'still waiting after the reader');
      assert.equal(fake.pulls(OWNER, REPO).length, 0);

      // A writer's approve is applied through the decide update, then acknowledged.
      const byWriter = fake.comment(OWNER, REPO, issue.number, 'alice', '/phaseflow approve');
      await waitFor(
        'the second approval question',
        () =>
          fake
            .comments(OWNER, REPO, issue.number)
            .filter((c) => /\/question\//.test(c.body) && !/Answered:/.test(c.body))
            .find((c) => c.id !== question.id),
        30_000,
      );
      const ack = fake.comments(OWNER, REPO, issue.number).find((c) => c.body.includes(`/reply/${byWriter.id} -->`));
      assert.match(ack?.body ?? '', /@alice: applied \*\*approve\*\*/);
      assert.ok(
        issue.labels.some((l) => l.name === 'phase:2/2'),
        JSON.stringify(issue.labels),
      );
      fake.comment(OWNER, REPO, issue.number, 'alice', '/phaseflow approve ship it');
      await handle.result();

      // One pull request, from the pushed branch, with the phase summaries.
      const pulls = fake.pulls(OWNER, REPO);
      assert.equal(pulls.length, 1);
      assert.equal(pulls[0].head.ref, `phaseflow/${slug}`);
      assert.equal(pulls[0].base.ref, 'main');
      assert.match(pulls[0].body, /Phase 1: Models: completed, 1\/1 tasks · gate passed \(`cat one\.txt` exit 0\)/);
      const commits = commitsSince(ws, initial);
      assert.equal(gitIn(origin, 'rev-parse', `refs/heads/phaseflow/${slug}`), commits[commits.length - 1].hash);

      // The issue: closed, final labels, one comment per key (no duplicates), a final comment.
      const closed = fake.issues(OWNER, REPO).find((i) => i.number === issue.number)!;
      assert.equal(fake.issues(OWNER, REPO).length, 1, 'one issue');
      assert.equal(closed.state, 'closed');
      assert.deepEqual(closed.labels.map((l) => l.name).sort(), ['phase:2/2', 'phaseflow', 'status:completed']);
      const bodies = fake.comments(OWNER, REPO, issue.number).map((c) => c.body);
      const keys = markers(bodies);
      assert.equal(new Set(keys).size, keys.length, `one comment per marker: ${keys.join(', ')}`);
      for (const k of [`${slug}/${P}/models`, `${slug}/${P}/api`, `${slug}/${P}/final`])
        assert.ok(keys.includes(k), `comment ${k} in ${keys.join(', ')}`);
      const final = bodies.find((b) => b.includes(`phaseflow:${slug}/${P}/final`))!;
      assert.match(final, /\*\*Plan core completed\*\*: 2\/2 phases, 2\/2 tasks/);
      assert.match(final, new RegExp(`Pull request: ${pulls[0].html_url.replace(/[.]/g, '\\.')}`));
      const models = bodies.find((b) => b.includes(`phaseflow:${slug}/${P}/models -->`))!;
      assert.match(models, /\*\*Phase 1\/2: Models\*\*: \*\*completed\*\*/);
      assert.match(models, /`cat one\.txt` \(exit 0\):\n```\none\n```/);
      assert.match(models, new RegExp(`Commit: \`${commits[0].hash}\``));

      // Labels followed the phases.
      const labelSets = fake.requests
        .filter((r) => r.method === 'PUT' && r.path.endsWith('/labels'))
        .map((r) => (r.body.labels as string[]).filter((l) => l.startsWith('phase:')).join());
      assert.ok(labelSets.indexOf('phase:2/2') > labelSets.indexOf('phase:1/2'), labelSets.join(' | '));

      // Mirrors: the issue number, and the decisions with the login and the comment's URL.
      const progress = readJson(mirrorFile.progress(ws, P));
      assert.deepEqual(ccaspProblems('progress', progress), []);
      assert.equal(progress.github_issue, issue.number);
      assert.equal(progress.phaseflow_github.pullRequest, pulls[0].html_url);
      const approvals = progress.decisions.filter((d: any) => d.kind === 'approval');
      assert.equal(approvals[0].by, '@alice (GitHub)');
      assert.ok(approvals[0].note.includes(byWriter.html_url), approvals[0].note);
      assert.equal(
        approvals[1].note,
        `ship it · ${fake.comments(OWNER, REPO, issue.number).find((c) => c.body === '/phaseflow approve ship it')!.html_url}`,
      );

      // Every request carried the token; the token is in no history, mirror or command environment.
      assert.ok(fake.requests.every((r) => r.authorized));
      await assertTokenNowhere(ws, slug);
    });
  });

  it('/phaseflow retry-phase from a writer answers a failed phase: the workspace goes back to its start commit first', async () => {
    const fake = gh.fake();
    fake.setPermission(OWNER, REPO, 'alice', 'maintain');
    const slug = uniqueName('gh-retry');
    const taskQueue = uniqueName('tq-gh-retry');
    const { ws } = gitWorkspace();
    const okFlag = path.join(path.dirname(ws), 'ok-flag');
    const spec = githubEpic(slug, ws, {
      github: { owner: OWNER, repo: REPO, pollSeconds: 0.3 },
      roadmaps: [
        {
          slug: R,
          title: 'Road',
          plans: [
            {
              slug: P,
              title: 'Core plan',
              phases: [
                {
                  slug: 'build',
                  title: 'Build',
                  tasks: [
                    {
                      ...command('1.1', `test ! -f out.txt && echo out > out.txt && test -f ${okFlag}`),
                      settings: { attempts: 1 },
                    },
                  ],
                },
              ],
            },
          ],
        },
      ],
    });
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      const issue = await waitFor('the plan issue', () => fake.issues(OWNER, REPO)[0], 30_000);
      const question = await waitFor(
        'the escalation on the issue',
        () => fake.comments(OWNER, REPO, issue.number).find((c) => /\/question\//.test(c.body)),
        30_000,
      );
      assert.match(question.body, /`\/phaseflow retry-phase`/);
      assert.ok(fs.existsSync(path.join(ws, 'out.txt')), 'the failed attempt left out.txt');
      fs.writeFileSync(okFlag, '');
      fake.comment(OWNER, REPO, issue.number, 'alice', '/phaseflow retry-phase flaky flag');
      await handle.result();
      const patch = fs.readFileSync(path.join(ws, `.claude/cache/discarded/${P}--build-retry-1.patch`), 'utf8');
      assert.match(patch, /\+out/);
      const decision = readJson(mirrorFile.progress(ws, P)).decisions.find((d: any) => d.kind === 'escalation');
      assert.equal(decision.action, 'retry-phase');
      assert.equal(decision.by, '@alice (GitHub)');
      assert.equal(fake.issues(OWNER, REPO)[0].state, 'closed');
    });
  });

  it('waits out a 403 rate limit (x-ratelimit-reset) and a 429 (retry-after) as Temporal retries', async () => {
    const fake = gh.fake();
    const slug = uniqueName('gh-rate');
    const taskQueue = uniqueName('tq-gh-rate');
    const { ws } = gitWorkspace();
    fake.rateLimitNext(1, 403, 2);
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, githubEpic(slug, ws));
      await waitFor('the plan issue', () => fake.issues(OWNER, REPO)[0], 30_000);
      fake.rateLimitNext(1, 429, 1);
      await handle.result();
    });
    const [limited, next] = fake.requests;
    assert.equal(limited.path, '/user');
    const after = fake.requests.find((r, i) => i > 0 && r.path === '/user')!;
    assert.ok(after.at - limited.at >= 1_500, `waited ${after.at - limited.at} ms after a 403 with a 2 s reset`);
    assert.ok(next);
    const issue = fake.issues(OWNER, REPO)[0];
    assert.equal(issue.state, 'closed');
    const keys = markers(fake.comments(OWNER, REPO, issue.number).map((c) => c.body));
    assert.equal(new Set(keys).size, keys.length);
    const runs = (await fetchEvents(ids.plan(slug, R, P))).filter(
      (e) => e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1,
    );
    assert.ok(runs.length >= 1, 'a sync activity ran a second attempt');
  });

  it('a bad token stops the sync with a clear reason; the epic completes', async () => {
    process.env.GITHUB_TOKEN = 'ghp_wrongTokenValue0123456789abcdefABCD';
    const slug = uniqueName('gh-401');
    const taskQueue = uniqueName('tq-gh-401');
    const { ws } = gitWorkspace();
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, githubEpic(slug, ws, { github: { owner: OWNER, repo: REPO } }));
      await handle.result();
      const plan = (await testClient()).workflow.getHandle(ids.plan(slug, R, P));
      const node = await plan.query(statusQuery);
      assert.match(node.github?.stopped ?? '', /GitHub refused the token \(401 Bad credentials\) .* on acme\/shop/);
      assert.match(node.github?.lastError ?? '', /set a valid GITHUB_TOKEN/);
      // `phaseflow github status` says the same (async: the worker in this process must answer the query).
      const { stdout } = await run(process.execPath, [BIN, 'github', 'status', slug], { encoding: 'utf8' });
      assert.match(stdout, /^plan core: acme\/shop no issue yet\n/);
      assert.match(stdout, /\n {2}synced: 1 sync\(s\), 0 comment\(s\) posted, 0 edited\n/);
      assert.match(stdout, /\n {2}stopped: GitHub refused the token \(401 Bad credentials\)/);
    });
    assert.equal(gh.fake().issues(OWNER, REPO).length, 0);
    assert.equal(gh.fake().requests.length, 1, 'one refused request, then the sync stopped');
  });
});

async function assertTokenNowhere(ws: string, slug: string): Promise<void> {
  const client = await testClient();
  const wf = [ids.epic(slug), ids.roadmap(slug, R), ids.plan(slug, R, P), ids.phase(slug, R, P, 'models')];
  for (const id of wf) {
    const history = JSON.stringify(await client.workflow.getHandle(id).fetchHistory());
    assert.ok(!history.includes(TOKEN), `token in the history of ${id}`);
  }
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(dir, e.name);
      return e.isDirectory() ? (e.name === '.git' ? [] : walk(p)) : [p];
    });
  const files = walk(ws);
  assert.ok(
    files.some((f) => f.endsWith('env-1.txt')),
    'the command wrote its environment',
  );
  for (const f of files) assert.ok(!fs.readFileSync(f, 'utf8').includes(TOKEN), `token in ${f}`);
  const env = fs.readFileSync(path.join(ws, 'env-1.txt'), 'utf8');
  assert.ok(!/^GITHUB_TOKEN=/m.test(env), 'GITHUB_TOKEN in the command environment');
}
