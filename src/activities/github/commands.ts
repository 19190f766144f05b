/**
 * githubAwaitCommand: answers a pending question from the plan's issue. It long-polls the issue's
 * comments (heartbeating, so a cancel arrives) for `/phaseflow …` commands posted after the
 * question. A command from someone without write access (collaborators API) is ignored and told
 * so; a writer's is applied through the same `decide` update as `phaseflow approve|reject|resolve|
 * budget`, recorded with the login and the comment's URL, and acknowledged. Each command gets one
 * reply, marked with the command comment's id, so a retried poll never handles a command twice.
 */
import { Context } from '@temporalio/activity';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { DecisionAnswer, DecisionRecord, PendingDecision } from '../../domain/decisions';
import { decideUpdate } from '../../workflows/messages';
import { commandFor, marker } from '../../workflows/github-docs';
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

const WRITERS = new Set(['admin', 'maintain', 'write']);

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
        const login = c.user?.login ?? 'someone';
        const reply = (body: string) =>
          octokit.issues.createComment({ ...target, issue_number: input.issue, body: `${marker(replyKey)}\n${body}` });
        const permission = await permissionOf(octokit, target, login);
        if (!WRITERS.has(permission)) {
          await reply(
            `@${login}: ignored. Only people with write access to ${target.owner}/${target.repo} can answer phaseflow's questions (your permission: ${permission}).`,
          );
          refused++;
          continue;
        }
        const parsed = parseCommand(text, input.pending);
        if ('problem' in parsed) {
          await reply(`@${login}: not applied: ${parsed.problem}`);
          refused++;
          continue;
        }
        const answer: DecisionAnswer = {
          ...parsed.answer,
          decisionId: input.pending.id,
          by: `@${login} (GitHub)`,
          note: [parsed.answer.note, c.html_url].filter(Boolean).join(' · '),
        };
        try {
          const record = await ctx.client.workflow
            .getHandle(input.pending.workflowId)
            .executeUpdate(decideUpdate, { args: [answer] });
          await reply(`@${login}: applied **${record.action}** to decision ${record.id} (${input.pending.kind}).`);
          return { applied: record, refused };
        } catch (err) {
          if (!(err instanceof WorkflowUpdateFailedError)) throw err;
          await reply(
            `@${login}: refused: ${(err.cause?.message ?? err.message).replace(`${input.pending.workflowId}: `, '')}; nothing changed.`,
          );
          refused++;
        }
      }
      if (Date.now() + input.pollMs > deadline) return { refused };
      await Promise.race([new Promise((r) => setTimeout(r, input.pollMs)), ctx.cancelled]);
    }
  } catch (err) {
    if (Context.current().cancellationSignal.aborted) throw err;
    return { refused, stopped: githubStop(err, `read commands on issue #${input.issue}`, target) };
  }
}

async function permissionOf(
  octokit: import('@octokit/rest').Octokit,
  target: GithubTarget,
  login: string,
): Promise<string> {
  try {
    const r = await octokit.repos.getCollaboratorPermissionLevel({ ...target, username: login });
    // role_name says "maintain" where permission says "write".
    return r.data.role_name && WRITERS.has(r.data.role_name) ? r.data.role_name : r.data.permission;
  } catch (err) {
    if ((err as { status?: number }).status === 404) return 'none (not a collaborator)';
    throw err;
  }
}

/** `/phaseflow approve`, `/phaseflow reject because …`, `/phaseflow retry|retry-phase|skip|abort`, `/phaseflow budget --usd 80 [--tokens N]`. */
export function parseCommand(text: string, p: PendingDecision): { answer: DecisionAnswer } | { problem: string } {
  const line = text.split('\n')[0].trim();
  const words = line.split(/\s+/).slice(1);
  const verb = words[0] ?? '';
  const rest = words.slice(1).join(' ');
  const accepted = () => p.actions.map((a) => `\`${commandFor(a, p)}\``).join(', ');
  if (verb === 'budget') {
    if (!p.actions.includes('raise'))
      return { problem: `decision ${p.id} is not a budget question; it takes: ${accepted()}` };
    const usd = rest.match(/--usd\s+(\d+(?:\.\d+)?)/)?.[1];
    const tokens = rest.match(/--tokens\s+(\d+)/)?.[1];
    if (!usd && !tokens) return { problem: `\`/phaseflow budget\` needs --usd X and/or --tokens N (the new limit)` };
    return {
      answer: {
        action: 'raise',
        ...(usd ? { usd: Number(usd) } : {}),
        ...(tokens ? { tokens: Number(tokens) } : {}),
        ...(p.budgetLevel ? { level: p.budgetLevel } : {}),
      },
    };
  }
  const action = verb as DecisionAnswer['action'];
  if (!p.actions.includes(action))
    return { problem: `"${verb}" does not answer decision ${p.id}; it takes: ${accepted()}` };
  if (action === 'reject') {
    const reason = rest.replace(/^because\s+/i, '').trim();
    if (!reason) return { problem: 'a reject needs a reason: `/phaseflow reject because <reason>`' };
    return { answer: { action, note: reason } };
  }
  return { answer: { action, ...(rest ? { note: rest } : {}) } };
}
