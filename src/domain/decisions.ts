/**
 * Decisions a run stops to ask a person: what is asked, how to answer, and the record kept of
 * every answer. Plain data and pure functions (workflow-safe, zod-free).
 *
 * A decision is asked by the phase workflow that needs it and answered there with the `decide`
 * update; the question is also carried up to the plan, roadmap and epic so `phaseflow pending`,
 * the Web UI and `PhaseflowStatus="waiting"` find it from the top.
 */
import { BUDGET_LEVELS, type BudgetLevel, type BudgetStanding, type Limit } from './budget';
import { groupDigits, tokensText, usdText } from './format';
import { isRecord } from './guards';

export type DecisionKind = 'escalation' | 'approval' | 'budget';
export type DecisionAction = 'retry' | 'retry-phase' | 'skip' | 'abort' | 'approve' | 'reject' | 'raise';

/** Why a decision is asked. */
export type DecisionCause =
  'task-failed' | 'gate-failed' | 'blocked' | 'stuck' | 'tool-loop' | 'approval' | 'budget' | 'replan';

/** Who settled it: a person (CLI / update), the default when the time limit passed, or a detector. */
export type DecisionSource = 'person' | 'default' | 'detector';

export const ACTIONS: Record<DecisionKind, DecisionAction[]> = {
  escalation: ['retry', 'retry-phase', 'skip', 'abort'],
  approval: ['approve', 'reject'],
  budget: ['raise', 'abort'],
};

export const ACTION_HELP: Record<DecisionAction, string> = {
  retry: 're-run the failed tasks only (or the gate, if only the gate failed)',
  'retry-phase': 're-run every task of the phase',
  skip: 'mark the phase skipped and go on with the next',
  abort: 'stop the plan (and the epic) here',
  approve: 'let the next phase start (after the last phase: let the plan complete)',
  reject: 'stop the plan here, with a note saying why',
  raise: 'raise the spent budget (tokens and/or usd) and go on',
};

export interface PendingDecision {
  /** Unique within the epic, e.g. `build/api/p2#1`. */
  id: string;
  kind: DecisionKind;
  cause: DecisionCause;
  /** The workflow that waits: send the `decide` update here. */
  workflowId: string;
  epicSlug: string;
  roadmapSlug: string;
  planSlug: string;
  phaseSlug: string;
  phaseTitle: string;
  question: string;
  /** Failed tasks and their errors, the blocker's text, the gate's reason, the spent budget. */
  detail: string;
  failedTasks?: string[];
  /** Budget decisions: the level whose budget is spent. */
  budgetLevel?: BudgetLevel;
  actions: DecisionAction[];
  askedAt: string;
  defaultAction: DecisionAction;
  /** When the default is taken if nobody answers. */
  defaultAt: string;
  remindAt?: string;
}

/** The `decide` update's input (and what `phaseflow approve|reject|resolve|budget` send). */
export interface DecisionAnswer {
  action: DecisionAction;
  /** Must match the pending decision when given (guards against answering a newer question). */
  decisionId?: string;
  note?: string;
  /** Who answers; the CLI sends the OS user. */
  by?: string;
  /** `raise`: new limits for the spent level (absolute, not increments). */
  tokens?: number;
  usd?: number;
  level?: BudgetLevel;
}

export interface DecisionRecord {
  id: string;
  /** `replan`: a person changed the plan's phases that had not started (`phaseflow replan`). */
  kind: DecisionKind | 'detector' | 'replan';
  cause: DecisionCause;
  phaseSlug: string;
  question: string;
  action: DecisionAction | 'escalate' | 'replan';
  source: DecisionSource;
  by?: string;
  note?: string;
  askedAt: string;
  decidedAt: string;
  /** A `raise`: the new limits it set (absolute), and on which level's budget. */
  newLimit?: { level: BudgetLevel } & Limit;
}

/** `control` signal: pause/resume and budget changes, applied by a level and passed down to its running child. */
export interface ControlMessage {
  paused?: boolean;
  budget?: { level: BudgetLevel; slug?: string; tokens?: number; usd?: number };
  by?: string;
}

const ANSWER_KEYS = ['action', 'decisionId', 'note', 'by', 'tokens', 'usd', 'level'];

/**
 * Checks an answer against the pending question; returns the problem or null. The answer comes
 * from anyone with `temporal workflow update`, so its shape is checked too. `budget` is where the
 * question's level stands: a raise must lift every spent limit above what is already spent.
 */
export function answerProblem(
  pending: PendingDecision | undefined,
  answer: unknown,
  budget?: BudgetStanding,
): string | null {
  if (!pending) return 'no decision is pending here';
  if (!isRecord(answer))
    return `the answer must be an object like {"action":"${pending.actions[0]}"}, got ${typeName(answer)}`;
  const a = answer as Partial<DecisionAnswer>;
  const shape = unknownKeys(answer, ANSWER_KEYS) ?? stringFields(answer, ['decisionId', 'note', 'by']);
  if (shape) return shape;
  if (a.decisionId && a.decisionId !== pending.id)
    return `decision ${a.decisionId} is not the pending one (${pending.id})`;
  if (!pending.actions.includes(a.action as DecisionAction)) {
    return `${JSON.stringify(a.action ?? null)} does not answer ${pending.kind === 'escalation' ? 'an' : 'a'} ${pending.kind} decision; expected one of: ${pending.actions.join(', ')}`;
  }
  const amounts = amountProblem(a);
  if (amounts) return amounts;
  if (a.level !== undefined && !BUDGET_LEVELS.includes(a.level))
    return `level must be one of ${BUDGET_LEVELS.join(', ')}, got ${JSON.stringify(a.level)}`;
  if (a.action !== 'raise') return null;
  if (a.tokens === undefined && a.usd === undefined) return 'raise needs tokens and/or usd (the new limit)';
  if (a.level !== undefined && pending.budgetLevel && a.level !== pending.budgetLevel) {
    return `this question is about the ${pending.budgetLevel} budget, not the ${a.level} budget (leave the level out, or give "${pending.budgetLevel}")`;
  }
  return budget ? raiseProblem(a, budget) : null;
}

/** A raise that leaves the level spent would only bring the same question back. */
function raiseProblem(a: Partial<DecisionAnswer>, b: BudgetStanding): string | null {
  const on = `on the ${b.level} budget of ${b.slug}`;
  if (a.tokens !== undefined && a.tokens <= b.spentTokens)
    return `${tokensText(a.tokens)} is not above the ${groupDigits(b.spentTokens)} already spent ${on}`;
  if (a.usd !== undefined && a.usd <= b.spentUsd)
    return `${usdText(a.usd)} is not above the ${usdText(b.spentUsd)} already spent ${on}`;
  if (a.tokens === undefined && b.limit.tokens !== undefined && b.limit.tokens <= b.spentTokens) {
    return `the token limit ${on} (${groupDigits(b.limit.tokens)}) is spent too (${groupDigits(b.spentTokens)} used): give tokens above ${groupDigits(b.spentTokens)}`;
  }
  if (a.usd === undefined && b.limit.usd !== undefined && b.limit.usd <= b.spentUsd) {
    return `the USD limit ${on} (${usdText(b.limit.usd)}) is spent too (${usdText(b.spentUsd)} used): give usd above ${usdText(b.spentUsd)}`;
  }
  return null;
}

const ALLOWED_CONTROL = ['paused', 'budget', 'by'];
const ALLOWED_BUDGET = ['level', 'slug', 'tokens', 'usd'];

/**
 * Checks a `control` signal; returns the problem or null. A signal cannot be refused, and anyone
 * can send one with `temporal workflow signal`, so a level ignores (and logs) a message that fails
 * this instead of letting it into its state, its mirror and its children.
 */
export function controlProblem(msg: unknown): string | null {
  if (!isRecord(msg))
    return `expected an object like {"paused":true} or {"budget":{"level":"epic","tokens":2000000}}, got ${typeName(msg)}`;
  const shape = unknownKeys(msg, ALLOWED_CONTROL) ?? stringFields(msg, ['by']);
  if (shape) return shape;
  if (msg.paused === undefined && msg.budget === undefined) return 'nothing to do: expected "paused" and/or "budget"';
  if (msg.paused !== undefined && typeof msg.paused !== 'boolean')
    return `paused must be true or false, got ${JSON.stringify(msg.paused)}`;
  if (msg.budget === undefined) return null;
  const b = msg.budget;
  if (!isRecord(b)) return `budget must be an object like {"level":"epic","tokens":2000000}, got ${typeName(b)}`;
  const inner = unknownKeys(b, ALLOWED_BUDGET, 'budget.');
  if (inner) return inner;
  if (!BUDGET_LEVELS.includes(b.level as BudgetLevel))
    return `budget.level must be one of ${BUDGET_LEVELS.join(', ')}, got ${JSON.stringify(b.level ?? null)}`;
  if (b.slug !== undefined && !(typeof b.slug === 'string' && b.slug.length > 0))
    return `budget.slug must be a non-empty string, got ${JSON.stringify(b.slug)}`;
  if (b.tokens === undefined && b.usd === undefined) return 'budget needs tokens and/or usd (the new limit)';
  return amountProblem(b, 'budget.');
}

function amountProblem(o: { tokens?: unknown; usd?: unknown }, prefix = ''): string | null {
  if (o.tokens !== undefined && !(typeof o.tokens === 'number' && Number.isSafeInteger(o.tokens) && o.tokens > 0)) {
    return `${prefix}tokens must be a positive integer, got ${JSON.stringify(o.tokens)}`;
  }
  if (o.usd !== undefined && !(typeof o.usd === 'number' && Number.isFinite(o.usd) && o.usd > 0))
    return `${prefix}usd must be a positive number, got ${JSON.stringify(o.usd)}`;
  return null;
}

function unknownKeys(o: Record<string, unknown>, allowed: string[], prefix = ''): string | null {
  const extra = Object.keys(o).filter((k) => !allowed.includes(k));
  return extra.length
    ? `unknown field${extra.length > 1 ? 's' : ''} ${extra.map((k) => `"${prefix}${k}"`).join(', ')}; expected: ${allowed.join(', ')}`
    : null;
}

function stringFields(o: Record<string, unknown>, keys: string[]): string | null {
  const bad = keys.find((k) => o[k] !== undefined && typeof o[k] !== 'string');
  return bad ? `${bad} must be a string, got ${JSON.stringify(o[bad])}` : null;
}

function typeName(v: unknown): string {
  return v === null
    ? 'null'
    : Array.isArray(v)
      ? 'an array'
      : typeof v === 'object'
        ? 'an object'
        : `${typeof v} ${JSON.stringify(v)}`;
}
