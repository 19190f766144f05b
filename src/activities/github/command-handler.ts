/**
 * One `/phaseflow …` comment, handled the same way by the poller (commands.ts) and the webhook
 * (src/cli/github-webhook.ts): the author's permission (collaborators API; write, maintain or
 * admin may answer), the command parsed against the question, the answer sent as the `decide`
 * update (the path `phaseflow approve|reject|resolve|budget` takes) with the login and the
 * comment's URL, and one reply marked with the comment's id (so nothing is handled twice).
 */
import type { Octokit } from '@octokit/rest';
import { type Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { DecisionAnswer, DecisionRecord, PendingDecision } from '../../domain/decisions';
import { commandFor, marker } from '../../workflows/github-docs';
import { decideUpdate } from '../../workflows/messages';
import type { GithubTarget } from './client';

const WRITERS = new Set(['admin', 'maintain', 'write']);

export interface CommandContext {
  octokit: Octokit;
  temporal: Client;
  target: GithubTarget;
  issue: number;
  /** The plan's marker prefix (`epic/plan`). */
  key: string;
  pending: PendingDecision;
}

export interface CommandComment {
  id: number;
  body: string;
  login: string;
  url: string;
}

/** The reply's marker key for a command comment: its presence means the comment was handled. */
export const replyKey = (key: string, commentId: number) => `${key}/reply/${commentId}`;

export async function handleCommand(
  ctx: CommandContext,
  c: CommandComment,
): Promise<{ applied?: DecisionRecord; reply: string }> {
  const { octokit, target, pending } = ctx;
  const login = c.login;
  const reply = async (text: string) => {
    await octokit.issues.createComment({
      ...target,
      issue_number: ctx.issue,
      body: `${marker(replyKey(ctx.key, c.id))}\n${text}`,
    });
    return text;
  };
  const permission = await permissionOf(octokit, target, login);
  if (!WRITERS.has(permission))
    return {
      reply: await reply(
        `@${login}: ignored. Only people with write access to ${target.owner}/${target.repo} can answer phaseflow's questions (your permission: ${permission}).`,
      ),
    };
  const parsed = parseCommand(c.body, pending);
  if ('problem' in parsed) return { reply: await reply(`@${login}: not applied: ${parsed.problem}`) };
  const answer: DecisionAnswer = {
    ...parsed.answer,
    decisionId: pending.id,
    by: `@${login} (GitHub)`,
    note: [parsed.answer.note, c.url].filter(Boolean).join(' · '),
  };
  try {
    const record = await ctx.temporal.workflow
      .getHandle(pending.workflowId)
      .executeUpdate(decideUpdate, { args: [answer] });
    return {
      applied: record,
      reply: await reply(`@${login}: applied **${record.action}** to decision ${record.id} (${pending.kind}).`),
    };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      return { reply: await reply(`@${login}: refused: decision ${pending.id} is no longer open; nothing changed.`) };
    if (!(err instanceof WorkflowUpdateFailedError)) throw err;
    return {
      reply: await reply(
        `@${login}: refused: ${(err.cause?.message ?? err.message).replace(`${pending.workflowId}: `, '')}; nothing changed.`,
      ),
    };
  }
}

async function permissionOf(octokit: Octokit, target: GithubTarget, login: string): Promise<string> {
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
