/**
 * githubAwaitCommand: answers a pending question from the plan's issue. It long-polls the issue's
 * comments (heartbeating, so a cancel arrives) for `/phaseflow …` commands posted after the
 * question. A command from someone without write access (collaborators API) is ignored and told
 * so; a writer's is applied through the same `decide` update as `phaseflow approve|reject|resolve|
 * budget`, recorded with the login and the comment's URL, and acknowledged. Each command gets one
 * reply, marked with the command comment's id, so a retried poll never handles a command twice.
 */
import { Context } from '@temporalio/activity';
import type { DecisionRecord, PendingDecision } from '../../domain/decisions';
import { handleCommand } from './command-handler';
import { whileHeartbeating } from '../heartbeating';
import { type GithubTarget, githubClient, githubStop, markerKey } from './client';

export interface GithubAwaitInput extends GithubTarget {
  issue: number;
  /** The plan's marker prefix (`epic/plan`). */
  key: string;
  pending: PendingDecision;
  pollMs: number;
  /** How long this activity polls before it returns (the workflow calls it again). */
  maxMs: number;
}

export interface GithubAwaitResult {
  applied?: DecisionRecord;
  /** Commands answered with a refusal or an "ignored" during this poll. */
  refused: number;
  stopped?: string;
}

export function githubAwaitCommand(input: GithubAwaitInput): Promise<GithubAwaitResult> {
  return whileHeartbeating(() => awaitCommand(input));
}

async function awaitCommand(input: GithubAwaitInput): Promise<GithubAwaitResult> {
  const client = githubClient();
  if ('stopped' in client) return { refused: 0, stopped: client.stopped };
  const { octokit } = client;
  const target = { owner: input.owner, repo: input.repo };
  const ctx = Context.current();
  const deadline = Date.now() + input.maxMs;
  let refused = 0;
  const questionKey = `${input.key}/question/${input.pending.id}`;
  try {
    const me = (await octokit.users.getAuthenticated()).data.login;
    for (;;) {
      ctx.heartbeat();
      const comments = await octokit.paginate(octokit.issues.listComments, {
        ...target,
        issue_number: input.issue,
        per_page: 100,
      });
      const question = comments.find((c) => c.user?.login === me && markerKey(c.body) === questionKey);
      const replied = new Set(
        comments
          .filter((c) => c.user?.login === me)
          .map((c) => markerKey(c.body))
          .filter((k): k is string => !!k?.startsWith(`${input.key}/reply/`)),
      );
      for (const c of comments) {
        if (!question || c.id <= question.id || c.user?.login === me) continue;
        const text = (c.body ?? '').trim();
        if (!/^\/phaseflow\b/.test(text)) continue;
        const replyKey = `${input.key}/reply/${c.id}`;
        if (replied.has(replyKey)) continue;
        const outcome = await handleCommand(
          { octokit, temporal: ctx.client, target, issue: input.issue, key: input.key, pending: input.pending },
          { id: c.id, body: text, login: c.user?.login ?? 'someone', url: c.html_url },
        );
        if (outcome.applied) return { applied: outcome.applied, refused };
        refused++;
      }
      if (Date.now() + input.pollMs > deadline) return { refused };
      await Promise.race([new Promise((r) => setTimeout(r, input.pollMs)), ctx.cancelled]);
    }
  } catch (err) {
    if (Context.current().cancellationSignal.aborted) throw err;
    return { refused, stopped: githubStop(err, `read commands on issue #${input.issue}`, target) };
  }
}

export { parseCommand } from './command-handler';
