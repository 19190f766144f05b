/**
 * Budgets: each level's limit (tokens and/or USD), what is spent against it, what is left, and
 * how that reads in a question or a record. Plain data and pure functions (workflow-safe).
 */
import { tokensText, usdText } from './format';
import { microUsd } from './types';

export type BudgetLevel = 'epic' | 'roadmap' | 'plan';

export const BUDGET_LEVELS: readonly BudgetLevel[] = ['epic', 'roadmap', 'plan'];

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

/** What a budget question's level stands at when it is answered: its limit and what is spent on it. */
export interface BudgetStanding {
  level: BudgetLevel;
  slug: string;
  limit: Limit;
  spentTokens: number;
  spentUsd: number;
}

/** "6,000 tokens / $0.50", "6,000 tokens" (no USD limit), or "none". */
export function limitText(l: Limit): string {
  return (
    [l.tokens !== undefined ? tokensText(l.tokens) : '', l.usd !== undefined ? usdText(l.usd) : '']
      .filter(Boolean)
      .join(' / ') || 'none'
  );
}

/** A budget question's detail: the limit, what is spent, by how much it is over (never "$∞" or "$-0.01"). */
export function spentText(b: BudgetStanding): string {
  const spent: string[] = [];
  const standing: string[] = [];
  const say = (over: number, text: (n: number) => string, none: string) =>
    standing.push(over > 0 ? `over by ${text(over)}` : over === 0 ? none : `${text(-over)} left`);
  if (b.limit.tokens !== undefined) {
    spent.push(tokensText(b.spentTokens));
    say(b.spentTokens - b.limit.tokens, tokensText, 'no tokens left');
  }
  if (b.limit.usd !== undefined) {
    spent.push(usdText(b.spentUsd));
    say(microUsd(b.spentUsd - b.limit.usd), usdText, 'no USD left');
  }
  return `limit ${limitText(b.limit)}; spent ${spent.join(' / ') || 'nothing'}${standing.length ? ` (${standing.join(', ')})` : ''}`;
}

/** A raise's new limit for a record line: "epic limit 50,000 tokens / $2.00". */
export function newLimitText(r: { newLimit?: { level: BudgetLevel } & Limit }): string {
  return r.newLimit ? `${r.newLimit.level} limit ${limitText(r.newLimit)}` : '';
}

/** What is left of the tightest budget line after `spent` more; undefined fields = unlimited. */
export function remaining(
  lines: BudgetLine[],
  spentTokens: number,
  spentUsd: number,
): { tokensLeft?: number; usdLeft?: number; exhausted?: BudgetLine } {
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
      const left = microUsd(l.limit.usd - l.usedUsd - spentUsd);
      usdLeft = usdLeft === undefined ? left : Math.min(usdLeft, left);
      if (left <= 0 && !exhausted) exhausted = l;
    }
  }
  return { tokensLeft, usdLeft, exhausted };
}

/** Sets a level's new limit on the matching budget line; returns it, or undefined when no line matched. */
export function applyLimit(
  lines: BudgetLine[],
  change: { level: BudgetLine['level']; slug?: string; tokens?: number; usd?: number },
): Limit | undefined {
  const line = lines.find((l) => l.level === change.level && (!change.slug || change.slug === l.slug));
  if (!line) return undefined;
  if (change.tokens !== undefined) line.limit.tokens = change.tokens;
  if (change.usd !== undefined) line.limit.usd = change.usd;
  return { ...line.limit };
}
