/**
 * `phaseflow github webhook --port N`: the push alternative to the poller. GitHub sends
 * `issue_comment` events here (signature checked by @octokit/webhooks with GITHUB_WEBHOOK_SECRET;
 * a bad or missing signature is refused and nothing happens). A `/phaseflow …` comment on an issue
 * a waiting plan syncs to is handled exactly as the poller handles it (command-handler.ts): the
 * author's write permission, the decide update, one reply. Needs GITHUB_TOKEN (to check permissions
 * and reply) and the Temporal server (TEMPORAL_ADDRESS) in its environment.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNodeMiddleware, Webhooks } from '@octokit/webhooks';
import type { Client } from '@temporalio/client';
import { githubClient, markerKey } from '../activities/github/client';
import { handleCommand, replyKey } from '../activities/github/command-handler';
import { SA } from '../domain/search-attributes';
import { statusQuery } from '../workflows/messages';
import { CliError } from './errors';
import { withClient } from './target';

export interface WebhookServer {
  port: number;
  close(): Promise<void>;
  /** What each handled event did (for tests and the log). */
  handled: string[];
}

export async function startWebhookServer(opts: {
  client: Client;
  secret: string;
  port: number;
  host?: string;
  path?: string;
  log?: (line: string) => void;
}): Promise<WebhookServer> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const handled: string[] = [];
  const webhooks = new Webhooks({ secret: opts.secret });
  webhooks.on('issue_comment.created', async ({ payload }) => {
    const body = payload.comment.body.trim();
    if (!/^\/phaseflow\b/.test(body)) return;
    const owner = payload.repository.owner.login;
    const repo = payload.repository.name;
    const issue = payload.issue.number;
    const where = `${owner}/${repo}#${issue}`;
    const waiting = await waitingPlanOn(opts.client, owner, repo, issue);
    if (!waiting) {
      handled.push(`${where}: no plan waits on a question there`);
      log(
        `${where}: comment ${payload.comment.id} by @${payload.comment.user.login}: no plan waits on a question there`,
      );
      return;
    }
    const gh = githubClient();
    if ('stopped' in gh) throw new CliError(gh.stopped);
    // Handled already (by the poller, or an earlier delivery of this event): its reply is there.
    const comments = await gh.octokit.paginate(gh.octokit.issues.listComments, {
      owner,
      repo,
      issue_number: issue,
      per_page: 100,
    });
    const key = `${waiting.epicSlug}/${waiting.planSlug}`;
    if (comments.some((c) => markerKey(c.body) === replyKey(key, payload.comment.id))) {
      handled.push(`${where}: comment ${payload.comment.id} was handled already`);
      return;
    }
    const outcome = await handleCommand(
      {
        octokit: gh.octokit,
        temporal: opts.client,
        target: { owner, repo },
        issue,
        key,
        pending: waiting,
      },
      { id: payload.comment.id, body, login: payload.comment.user.login, url: payload.comment.html_url },
    );
    handled.push(`${where}: ${outcome.reply}`);
    log(`${where}: ${outcome.reply}`);
  });
  webhooks.onError((err) => log(`webhook handler failed: ${err.message}`));
  const quiet = () => undefined;
  const middleware = createNodeMiddleware(webhooks, {
    path: opts.path ?? '/',
    // A refused signature is answered 400 and said in one line, not with the library's stack trace.
    log: { debug: quiet, info: quiet, warn: quiet, error: (m: unknown) => log(`webhook: ${oneLine(m)}`) },
  });
  const server = http.createServer(async (req, res) => {
    if (await middleware(req, res)) return;
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    handled,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The question a running plan syncing to owner/repo#issue waits on (plans waiting show PhaseflowStatus="waiting"). */
async function waitingPlanOn(client: Client, owner: string, repo: string, issue: number) {
  const query = `${SA.level.name}="plan" AND ${SA.status.name}="waiting" AND ExecutionStatus="Running"`;
  for await (const w of client.workflow.list({ query })) {
    const node = await client.workflow
      .getHandle(w.workflowId)
      .query(statusQuery)
      .catch(() => undefined);
    const g = node?.github;
    if (g && g.owner === owner && g.repo === repo && g.issue === issue && node.pending?.[0]) return node.pending[0];
  }
  return undefined;
}

export async function githubWebhookCommand(opts: { port: number; host?: string; path?: string }): Promise<void> {
  const secret = process.env.GITHUB_WEBHOOK_SECRET;
  if (!secret)
    throw new CliError(
      "GITHUB_WEBHOOK_SECRET is not set: give the webhook's secret (the one set on GitHub's webhook page) in the environment",
    );
  if (!process.env.GITHUB_TOKEN)
    throw new CliError('GITHUB_TOKEN is not set: the webhook checks permissions and replies on the issue with it');
  await withClient(async (client) => {
    const server = await startWebhookServer({ client, secret, ...opts });
    console.log(
      `phaseflow github webhook listening on http://${opts.host ?? '127.0.0.1'}:${server.port}${opts.path ?? '/'} (issue_comment events; Ctrl-C stops)`,
    );
    await new Promise<void>((resolve) => process.once('SIGINT', () => void server.close().then(resolve)));
  });
}

const oneLine = (m: unknown) =>
  (m instanceof AggregateError
    ? m.errors.map((e) => (e as Error).message).join('; ')
    : String((m as Error)?.message ?? m)
  )
    .split('\n')[0]
    .slice(0, 300);
