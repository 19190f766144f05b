/**
 * Decisions a run stops to ask a person: what is asked, how to answer, and the record kept of
 * every answer. Plain data and pure functions (workflow-safe, zod-free).
 *
 * A decision is asked by the phase workflow that needs it and answered there with the `decide`
 * update; the question is also carried up to the plan, roadmap and epic so `phaseflow pending`,
 * the Web UI and `PhaseflowStatus="waiting"` find it from the top.
 */

export type DecisionKind = 'escalation' | 'approval' | 'budget';
export type DecisionAction = 'retry' | 'retry-phase' | 'skip' | 'abort' | 'approve' | 'reject' | 'raise';

/** Why a decision is asked. */
export type DecisionCause = 'task-failed' | 'gate-failed' | 'blocked' | 'stuck' | 'tool-loop' | 'approval' | 'budget';

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
  approve: 'let the next phase start',
  reject: 'stop the plan here, with a note saying why',
  raise: 'raise the spent budget (tokens and/or usd) and go on',
};

export type BudgetLevel = 'epic' | 'roadmap' | 'plan';

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
  kind: DecisionKind | 'detector';
  cause: DecisionCause;
  phaseSlug: string;
  question: string;
  action: DecisionAction | 'escalate';
  source: DecisionSource;
  by?: string;
  note?: string;
  askedAt: string;
  decidedAt: string;
}

/** Budget limits per level; undefined = unlimited. */
export interface Limit {
  tokens?: number;
  usd?: number;
}

/** One level's budget as a phase sees it: its limit and what was spent there before this phase. */
export interface BudgetLine {
  level: BudgetLevel;
  slug: string;
  limit: Limit;
  usedTokens: number;
  usedUsd: number;
}

/** `control` signal: pause/resume and budget changes, applied by a level and passed down to its running child. */
export interface ControlMessage {
  paused?: boolean;
  budget?: { level: BudgetLevel; slug?: string; tokens?: number; usd?: number };
  by?: string;
}

/** Checks an answer against the pending question; returns the problem or null. */
export function answerProblem(pending: PendingDecision | undefined, a: DecisionAnswer): string | null {
  if (!pending) return 'no decision is pending here';
  if (a.decisionId && a.decisionId !== pending.id) return `decision ${a.decisionId} is not the pending one (${pending.id})`;
  if (!pending.actions.includes(a.action)) return `"${a.action}" does not answer ${pending.kind === 'escalation' ? 'an' : 'a'} ${pending.kind} decision; expected one of: ${pending.actions.join(', ')}`;
  if (a.action === 'raise' && a.tokens === undefined && a.usd === undefined) return 'raise needs tokens and/or usd (the new limit)';
  if (a.tokens !== undefined && !(Number.isInteger(a.tokens) && a.tokens > 0)) return 'tokens must be a positive integer';
  if (a.usd !== undefined && !(typeof a.usd === 'number' && a.usd > 0)) return 'usd must be a positive number';
  return null;
}

/** What is left of the tightest budget line after `spent` more; undefined fields = unlimited. */
export function remaining(lines: BudgetLine[], spentTokens: number, spentUsd: number): { tokensLeft?: number; usdLeft?: number; exhausted?: BudgetLine } {
  let tokensLeft: number | undefined;
  let usdLeft: number | undefined;
  let exhausted: BudgetLine | undefined;
  for (const l of lines) {
    if (l.limit.tokens !== undefined) {
      const left = l.limit.tokens - l.usedTokens - spentTokens;
      tokensLeft = tokensLeft === undefined ? left : Math.min(tokensLeft, left);
      if (left <= 0 && !exhausted) exhausted = l;
    }
    if (l.limit.usd !== undefined) {
      const left = Math.round((l.limit.usd - l.usedUsd - spentUsd) * 1e6) / 1e6;
      usdLeft = usdLeft === undefined ? left : Math.min(usdLeft, left);
      if (left <= 0 && !exhausted) exhausted = l;
    }
  }
  return { tokensLeft, usdLeft, exhausted };
}

/** Sets a level's new limit on the matching budget line; returns it, or undefined when no line matched. */
export function applyLimit(lines: BudgetLine[], change: { level: BudgetLine['level']; slug?: string; tokens?: number; usd?: number }): Limit | undefined {
  const line = lines.find((l) => l.level === change.level && (!change.slug || change.slug === l.slug));
  if (!line) return undefined;
  if (change.tokens !== undefined) line.limit.tokens = change.tokens;
  if (change.usd !== undefined) line.limit.usd = change.usd;
  return { ...line.limit };
}
