/**
 * `phaseflow approve | reject | resolve | budget`: answer the question a run waits on. The
 * question is found with the `pending` query on the workflow named (an epic sees every question
 * below it); the answer goes as the `decide` update to the phase workflow that asked, which checks
 * it and replies with the DecisionRecord (or refuses, and nothing changes).
 */
import { type Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import type { BudgetLevel } from '../domain/budget';
import {
  ACTION_HELP,
  type ControlMessage,
  type DecisionAction,
  type DecisionAnswer,
  type DecisionRecord,
  type PendingDecision,
} from '../domain/decisions';
import { SA } from '../domain/search-attributes';
import { controlSignal, decideUpdate } from '../workflows/messages';
import { CliError } from './errors';
import { answerHint, decisionLine } from './render';
import { operator, queryPending, requireRunning, resolveTarget, withClient } from './target';

/** How long an answer waits for a worker to take the `decide` update. */
export const UPDATE_TIMEOUT_MS = 20_000;

export interface AnswerOptions {
  note?: string;
  /** The id of the decision meant (required when several pending decisions take this action). */
  decision?: string;
}

export async function answerCommand(
  id: string,
  action: DecisionAction,
  opts: AnswerOptions & Pick<DecisionAnswer, 'tokens' | 'usd' | 'level'> = {},
): Promise<void> {
  await withClient(async (client) => {
    const target = await resolveTarget(client, id);
    requireRunning(target, `answer a decision of`);
    const pending = await queryPending(client, target.workflowId);
    const p = pickDecision(target.workflowId, pending, action, opts.decision);
    const record = await sendDecision(client, p, {
      action,
      note: opts.note,
      tokens: opts.tokens,
      usd: opts.usd,
      level: opts.level,
    });
    printRecord(p, record);
  });
}

/** The pending decision an answer is meant for, or a CliError saying why there is none. */
export function pickDecision(
  where: string,
  pending: PendingDecision[],
  action: DecisionAction,
  decisionId?: string,
): PendingDecision {
  const listing = () =>
    pending.map((p) => `  ${p.id}: ${p.kind} (${p.cause}) ${p.question}\n    answer: ${answerHint(p)}`).join('\n');
  if (decisionId) {
    const p = pending.find((d) => d.id === decisionId);
    if (!p)
      throw new CliError(
        pending.length
          ? `decision ${decisionId} is not pending under ${where}; pending:\n${listing()}`
          : `decision ${decisionId} is not pending: nothing waits for a decision under ${where}`,
      );
    if (!p.actions.includes(action))
      throw new CliError(
        `"${action}" does not answer decision ${p.id} (${/^[aeiou]/.test(p.kind) ? 'an' : 'a'} ${p.kind} decision); it takes: ${p.actions.join(', ')}\n  answer: ${answerHint(p)}`,
      );
    return p;
  }
  if (pending.length === 0) throw new CliError(`nothing waits for a decision under ${where}`);
  const fitting = pending.filter((p) => p.actions.includes(action));
  if (fitting.length === 0)
    throw new CliError(`no pending decision under ${where} takes "${action}"; pending:\n${listing()}`);
  if (fitting.length > 1) {
    throw new CliError(
      `${fitting.length} pending decisions under ${where} take "${action}"; choose one with --decision ID:\n${fitting.map((p) => `  ${p.id}: ${p.kind} (${p.cause}) ${p.question}`).join('\n')}`,
    );
  }
  return fitting[0];
}

/** Sends `answer` as the `decide` update to the phase that asked `p`; its DecisionRecord, or a CliError. */
export async function sendDecision(
  client: Client,
  p: PendingDecision,
  answer: DecisionAnswer,
  timeoutMs = UPDATE_TIMEOUT_MS,
): Promise<DecisionRecord> {
  const full: DecisionAnswer = { ...dropUndefined(answer), decisionId: p.id, by: operator() };
  try {
    // A deadline: an update waits for a worker to accept it, and the worker may have just gone.
    return await client.connection.withDeadline(Date.now() + timeoutMs, () =>
      client.workflow.getHandle(p.workflowId).executeUpdate(decideUpdate, { args: [full] }),
    );
  } catch (err) {
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
      // The server keeps the update and hands it to the next worker, which applies it (or refuses it).
      throw new CliError(
        `no answer from a worker within ${timeoutMs / 1000} s for "${answer.action}" on decision ${p.id} of ${p.workflowId}; the update stays queued on the server and will be applied when a worker runs (check with \`phaseflow pending\`)`,
      );
    }
    if (err instanceof WorkflowUpdateFailedError) {
      // The validator names its workflow for plain `temporal` users; here it is said once.
      const reason = (err.cause?.message ?? err.message).replace(`${p.workflowId}: `, '');
      throw new CliError(`${p.workflowId} refused "${answer.action}" for decision ${p.id}: ${reason}; nothing changed`);
    }
    throw err;
  }
}

function printRecord(p: PendingDecision, r: DecisionRecord): void {
  console.log(
    `Answered ${p.kind} decision ${r.id} of ${p.workflowId}: ${r.action}${r.by ? ` (by ${r.by})` : ''}${r.note ? ` · note: ${r.note}` : ''}`,
  );
  console.log(`  asked: ${p.question}`);
  if (r.action !== 'escalate' && r.action !== 'replan') console.log(`  now: ${ACTION_HELP[r.action]}`);
  console.log(`  record: ${decisionLine(r)}`);
}

export interface BudgetOptions {
  tokens?: number;
  usd?: number;
  level?: BudgetLevel;
  decision?: string;
  note?: string;
}

/**
 * `phaseflow budget`: when a budget question is pending, answers it with `raise` (the new limits);
 * otherwise sends a `control` budget change to the epic, which passes it down to the running level.
 */
export async function budgetCommand(id: string, opts: BudgetOptions): Promise<void> {
  if (opts.tokens === undefined && opts.usd === undefined)
    throw new CliError('budget needs --tokens N and/or --usd X (the new limit, not an increment)');
  await withClient(async (client) => {
    const target = await resolveTarget(client, id);
    requireRunning(target, 'change the budget of');
    const pending = (await queryPending(client, target.workflowId)).filter(
      (p) => p.kind === 'budget' || p.id === opts.decision,
    );
    if (pending.length > 0 || opts.decision) {
      const p = pickDecision(target.workflowId, pending, 'raise', opts.decision);
      const level = opts.level ?? p.budgetLevel;
      const record = await sendDecision(client, p, {
        action: 'raise',
        tokens: opts.tokens,
        usd: opts.usd,
        level,
        note: opts.note,
      });
      printRecord(p, record);
      console.log(`  new ${level ?? 'spent'} limit: ${limitText(opts)}`);
      return;
    }
    const level = opts.level ?? 'epic';
    // A roadmap or plan named by the ID gives the slug; from the epic, the running one is changed.
    const slug =
      level === 'epic'
        ? undefined
        : target.description.typedSearchAttributes.get(level === 'roadmap' ? SA.roadmap : SA.plan);
    const msg: ControlMessage = {
      budget: dropUndefined({ level, slug, tokens: opts.tokens, usd: opts.usd }),
      by: operator(),
    };
    await client.workflow.getHandle(target.epicId).signal(controlSignal, msg);
    console.log(
      `Sent a budget change to ${target.epicId}: ${level}${slug ? ` ${slug}` : level === 'epic' ? '' : ' (the running one)'} limit ${limitText(opts)} (by ${msg.by}); no budget decision was pending`,
    );
  });
}

function limitText(o: { tokens?: number; usd?: number }): string {
  return [
    o.tokens !== undefined ? `${o.tokens.toLocaleString('en-US')} tokens` : '',
    o.usd !== undefined ? `$${o.usd}` : '',
  ]
    .filter(Boolean)
    .join(' and ');
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
