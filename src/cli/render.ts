/**
 * Text for people: the status tree with bars and costs, the questions a run waits on (what is
 * asked, how to answer, when the default fires) and the decisions taken. Pure functions of
 * StatusNode / PendingDecision and the current time, so they are tested on fixtures.
 */
import { newLimitText } from '../domain/budget';
import { ACTION_HELP, type DecisionRecord, type PendingDecision } from '../domain/decisions';
import { usdText } from '../domain/format';
import { statusIcon } from '../domain/status';
import { totalTokens, type Usage } from '../domain/types';
import type { StatusNode } from '../workflows/messages';
import { flatten } from './tree';

/** 45s, 12m 05s, 3h 05m, 2d 04h. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${String(h % 24).padStart(2, '0')}h`;
}

/** `2026-11-21 13:02 UTC`: absolute times in one zone whatever the machine's. */
export function utc(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

export const ago = (iso: string, now: number) => `${duration(now - Date.parse(iso))} ago`;

export function until(iso: string, now: number): string {
  const left = Date.parse(iso) - now;
  return left >= 0 ? `in ${duration(left)}` : `due ${duration(-left)} ago`;
}

export function usageText(u: Usage): string {
  return `${totalTokens(u).toLocaleString('en-US')} tokens · $${u.costUsd.toFixed(4)}${u.simulated ? ' (simulated)' : ''}`;
}

export function bar(done: number, total: number, width = 20): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

/** The phaseflow command that answers a pending decision (its actions spelled out). */
export function answerHint(p: PendingDecision): string {
  const id = `--decision ${p.id}`;
  switch (p.kind) {
    case 'approval':
      return `phaseflow approve ${p.workflowId} ${id} [--note TEXT]  |  phaseflow reject ${p.workflowId} ${id} --note TEXT`;
    case 'budget':
      return `phaseflow budget ${p.workflowId} ${id} --tokens N --usd X  |  phaseflow resolve ${p.workflowId} abort ${id}`;
    default:
      return `phaseflow resolve ${p.workflowId} ${p.actions.join('|')} ${id} [--note TEXT]`;
  }
}

/** A pending decision as a block of lines: what is asked, since when, the default, how to answer. */
export function pendingLines(p: PendingDecision, now: number, indent = '', opts: { explain?: boolean } = {}): string[] {
  const where = [p.roadmapSlug, p.planSlug, p.phaseSlug].join('/');
  return [
    `${indent}⏳ ${p.kind} (${p.cause}) in phase "${p.phaseTitle}" (${where}), asked ${ago(p.askedAt, now)}`,
    `${indent}   ${p.question}`,
    ...(p.detail ? [`${indent}   ${oneLine(p.detail, 500)}`] : []),
    `${indent}   default: ${p.defaultAction} ${until(p.defaultAt, now)} (${utc(p.defaultAt)}) · choices: ${p.actions.join(', ')}`,
    ...(opts.explain ? p.actions.map((a) => `${indent}     ${a}: ${ACTION_HELP[a]}`) : []),
    `${indent}   answer: ${answerHint(p)}`,
  ];
}

export function decisionLine(d: DecisionRecord): string {
  // An answer sent with plain `temporal` may leave out `by`: say so rather than invent a name.
  const who =
    d.source === 'person'
      ? `by ${d.by ?? 'a person (no "by" given)'}`
      : d.source === 'default'
        ? 'default (no answer in time)'
        : 'detector';
  return `${utc(d.decidedAt)} ${d.id} ${d.kind} (${d.cause}) → ${d.action}${d.newLimit ? ` (${newLimitText(d)})` : ''}, ${who}${d.note ? `: ${d.note}` : ''}`;
}

/** One node's line: icon, level and slug, then bar, counts, cost and flags. */
export function nodeLine(n: StatusNode, opts: { bars?: boolean } = {}): string {
  const { label, rest } = nodeParts(n, opts);
  return `${label} · ${rest}`;
}

function nodeParts(n: StatusNode, opts: { bars?: boolean }): { label: string; rest: string } {
  const flags = [
    // Flags say what the status word does not: paused while waiting, questions while paused.
    n.paused && ['active', 'waiting'].includes(n.status) ? '⏸ paused' : '',
    n.pending?.length && ['active', 'paused'].includes(n.status) ? `⏳ ${n.pending.length} waiting` : '',
    n.budget ? budgetText(n.budget) : '',
    n.source ? `source: ${n.source}` : '',
    n.commit ? `commit ${n.commit.slice(0, 7)}` : '',
    // Long enough for a failed gate's log path and its last line.
    n.failureReason ? `reason: ${oneLine(n.failureReason, 400)}` : '',
    ...(n.apiWaits ?? []).map((w) => apiWaitText(w)),
  ].filter(Boolean);
  const rest = [
    opts.bars === false ? '' : bar(n.tasksCompleted, n.tasksTotal),
    `${n.tasksCompleted}/${n.tasksTotal} tasks`,
    usageText(n.usage),
    ...flags,
  ]
    .filter(Boolean)
    .join(' · ');
  return { label: `${statusIcon(n.status)} ${n.level} ${n.slug} ${n.status}`, rest };
}

/** "task 1.1 waiting for the API: 429 rate_limit_error, next try in 12 s" */
export function apiWaitText(w: NonNullable<StatusNode['apiWaits']>[number], now = Date.now()): string {
  const s = Math.max(0, Math.ceil((Date.parse(w.nextTryAt) - now) / 1000));
  return `task ${w.taskId} waiting for the API: ${w.what}, next try in ${s} s`;
}

function budgetText(b: NonNullable<StatusNode['budget']>): string {
  const parts = [
    b.limit.tokens !== undefined
      ? `${b.usedTokens.toLocaleString('en-US')}/${b.limit.tokens.toLocaleString('en-US')} tokens`
      : '',
    b.limit.usd !== undefined ? `${usdText(b.usedUsd)}/${usdText(b.limit.usd)}` : '',
  ].filter(Boolean);
  return parts.length ? `budget ${parts.join(', ')}` : '';
}

/** The tree, one line per node, children indented under their parent, bars in one column. */
export function treeLines(tree: StatusNode, opts: { bars?: boolean } = {}): string[] {
  const rows = flatten(tree).map(({ node, depth }) => {
    const { label, rest } = nodeParts(node, opts);
    return { label: `${'  '.repeat(depth)}${label}`, rest };
  });
  const width = Math.max(...rows.map((r) => [...r.label].length));
  return rows.map((r) => `${r.label}${' '.repeat(width - [...r.label].length)}  ${r.rest}`);
}

/** `phaseflow pending`: one block per question, the columns first, then question and command. */
export function pendingTable(rows: { epicId: string; pending: PendingDecision }[], now: number): string[] {
  if (rows.length === 0) return ['No decisions are pending.'];
  const head = ['EPIC', 'DECISION', 'KIND (CAUSE)', 'ASKED', 'DEFAULT'];
  const cells = rows.map(({ epicId, pending: p }) => [
    epicId,
    p.id,
    `${p.kind} (${p.cause})`,
    `${utc(p.askedAt)}, ${ago(p.askedAt, now)}`,
    `${p.defaultAction} ${until(p.defaultAt, now)} (${utc(p.defaultAt)})`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const row = (c: string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const lines = [row(head)];
  rows.forEach(({ pending: p }, i) => {
    lines.push(
      row(cells[i]),
      `  asks: ${p.question}`,
      ...(p.detail ? [`  detail: ${oneLine(p.detail, 500)}`] : []),
      `  answer: ${answerHint(p)}`,
    );
  });
  return lines;
}

export function oneLine(text: string, max: number): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}
