/** Markdown for the Web UI's "current details" panel of each level: progress, children, and the question waiting. */
import { type BudgetLine, limitText, newLimitText } from '../domain/budget';
import { type DecisionRecord, type PendingDecision } from '../domain/decisions';
import type { EffectiveSettings } from '../domain/settings';
import type { PhaseSpec } from '../domain/spec';
import { statusIcon } from '../domain/status';
import type { GateResult, TaskContext, Usage } from '../domain/types';
import { type LevelState, pendingBelow, rollup, shownLevelStatus } from './level-state';
import { allTasks, countDone, type PlanState, shownPlanStatus, sumUsage } from './plan-state';
import type { TaskRun } from './phase-run';

export function bar(done: number, total: number, width = 20): string {
  const ratio = total === 0 ? 1 : done / total;
  const filled = Math.round(ratio * width);
  return `\`${'█'.repeat(filled)}${'░'.repeat(width - filled)}\` ${done}/${total} (${Math.floor(ratio * 100)}%)`;
}

export function usageLine(u: Usage): string {
  const tokens = u.inputTokens + u.outputTokens + u.cacheReadTokens + u.cacheWriteTokens;
  return `${tokens.toLocaleString('en-US')} tokens · $${u.costUsd.toFixed(4)}${u.simulated ? ' (simulated)' : ''}`;
}

/** What a person is asked, how to answer and when the default fires: the same at every level. */
export function pendingMarkdown(pending: PendingDecision[]): string[] {
  return pending.flatMap((p) => {
    const cli =
      p.kind === 'approval'
        ? `phaseflow approve ${p.workflowId}`
        : p.kind === 'budget'
          ? `phaseflow budget ${p.workflowId} --tokens N`
          : `phaseflow resolve ${p.workflowId} retry`;
    return [
      `**⏳ Waiting for a decision** (${p.kind}, ${p.cause}) since ${p.askedAt}`,
      '',
      `- **Asked:** ${p.question}`,
      `- **Why:** ${p.detail.replace(/\n/g, ' ').slice(0, 400)}`,
      `- **Answers:** ${p.actions.map((a) => `\`${a}\``).join(', ')}`,
      `- **Default** \`${p.defaultAction}\` at ${p.defaultAt}`,
      `- **Answer with:** \`${cli}\`, or \`temporal workflow update execute --workflow-id ${p.workflowId} --name decide --input '{"action":"${p.actions[0]}","decisionId":"${p.id}"}'\``,
      '',
      '---',
    ];
  });
}

/** An epic or a roadmap: its children with their progress. */
export function levelDetails(kind: string, level: LevelState, mirrorFile: string): string {
  const r = rollup(level);
  const pending = pendingBelow(level);
  return [
    `### ${kind[0].toUpperCase() + kind.slice(1)} ${level.title}`,
    `**${shownLevelStatus(level)}** · ${bar(r.tasksCompleted, r.tasksTotal)} tasks · ${r.phasesCompleted}/${r.phasesTotal} phases · ${usageLine(r.usage)}`,
    ...(level.failureReason ? ['', `**Failed:** ${level.failureReason}`] : []),
    ...(pending.length ? ['', ...pendingMarkdown(pending)] : []),
    '',
    ...level.children.map(
      (c) =>
        `- ${statusIcon(c.status)} ${c.title} (\`${c.slug}\`) · ${c.tasksCompleted}/${c.tasksTotal} tasks${c.current && c.status === 'active' ? ` · now: ${c.current}` : ''}`,
    ),
    '',
    `Mirror: \`${mirrorFile}\``,
  ].join('\n');
}

/** A plan: its phases with their tasks and gates. */
export function planDetails(plan: PlanState, mirrorFile: string): string {
  const tasks = allTasks(plan);
  return [
    `### Plan ${plan.title}`,
    `**${shownPlanStatus(plan)}** · ${bar(countDone(tasks), tasks.length)} · ${usageLine(sumUsage(tasks))}`,
    ...(plan.failureReason ? ['', `**Failed:** ${plan.failureReason}`] : []),
    ...(plan.pending ? ['', ...pendingMarkdown([plan.pending])] : []),
    '',
    ...plan.phases.map(
      (p) =>
        `- ${statusIcon(p.status)} Phase ${p.index}: ${p.title} · ${countDone(p.tasks)}/${p.tasks.length} tasks${p.gate ? ` · gate ${p.gate.passed ? 'passed' : 'failed'}` : ''}${p.source ? ` · ${p.source}` : ''}${p.commit ? ` · commit \`${p.commit.slice(0, 7)}\`` : ''}`,
    ),
    '',
    `Mirror: \`${mirrorFile}\``,
  ].join('\n');
}

/** A phase: the task table, the gate, budgets and the decisions taken. */
export function phaseDetails(p: {
  ctx: TaskContext;
  phase: PhaseSpec;
  settings: EffectiveSettings;
  tasks: Map<string, TaskRun>;
  status: string;
  gate: GateResult | null;
  failureReason?: string;
  pending?: PendingDecision;
  usage: Usage;
  budgets: BudgetLine[];
  decisions: DecisionRecord[];
  apiWaits?: ReadonlyMap<string, { what: string; nextTryAt: string }>;
  git?: { startCommit?: string; commit?: string; lastPatch?: string };
  /** Debug-agent rounds after a failed gate (gate-debug.ts). */
  debugRounds?: readonly { round: number; taskId: string; status: string; summary?: string; gatePassed: boolean }[];
}): string {
  const done = [...p.tasks.values()].filter((s) => s.status === 'completed').length;
  const lines = [
    `### Phase ${p.ctx.phaseIndex}: ${p.phase.title}`,
    `**${p.status}** · ${bar(done, p.phase.tasks.length)} · up to ${p.settings.maxParallel} at once · ${usageLine(p.usage)}`,
  ];
  if (p.pending) lines.push('', ...pendingMarkdown([p.pending]));
  lines.push(
    '',
    '| | task | kind | attempts | |',
    '|---|---|---|---|---|',
    ...p.phase.tasks.map((t) => {
      const s = p.tasks.get(t.id)!;
      const w = p.apiWaits?.get(t.id);
      // The details have no clock of their own: the time of the next try, not a countdown.
      const waiting = w ? `waiting for the API: ${w.what}, next try at ${w.nextTryAt.slice(11, 19)} UTC` : undefined;
      const imported = t.status === 'completed' ? `(${t.source ?? 'imported'}) ${t.description}` : undefined;
      return `| ${statusIcon(s.status)} | ${t.id} | ${t.kind} | ${s.attempts} | ${escapeCell(waiting ?? s.error ?? imported ?? t.description)} |`;
    }),
  );
  if (p.gate) lines.push('', `Gate: ${p.gate.passed ? 'passed' : `**failed**: ${p.gate.reason}`}`);
  // Each failed check: its full log, and the end of its output as it printed it.
  for (const c of p.gate?.checks.filter((x) => !x.passed) ?? [])
    lines.push('', `\`${c.name}\` log: \`${c.logFile}\``, ...(c.outputExcerpt ? ['```', c.outputExcerpt, '```'] : []));
  if (p.git?.startCommit)
    lines.push(
      '',
      `Git: started at \`${p.git.startCommit.slice(0, 7)}\`${p.git.commit ? ` · committed \`${p.git.commit.slice(0, 7)}\`` : ''}${p.git.lastPatch ? ` · discarded attempt kept in \`${p.git.lastPatch}\`` : ''}`,
    );
  if (p.debugRounds?.length)
    lines.push(
      '',
      ...p.debugRounds.map(
        (r) =>
          `Debug round ${r.round} (\`${r.taskId}\`, agent ${r.status}): gate ${r.gatePassed ? 'passed' : 'failed'}${r.summary ? ` · ${escapeCell(r.summary)}` : ''}`,
      ),
    );
  if (p.failureReason) lines.push('', `**${p.status === 'skipped' ? 'Skipped' : 'Failed'}:** ${p.failureReason}`);
  const limited = p.budgets.filter((b) => b.limit.tokens !== undefined || b.limit.usd !== undefined);
  if (limited.length) lines.push('', `Budgets: ${limited.map((b) => `${b.level} ${limitText(b.limit)}`).join(' · ')}`);
  if (p.decisions.length)
    lines.push(
      '',
      'Decisions:',
      ...p.decisions.map(
        (d) =>
          `- ${d.decidedAt} ${d.kind} → **${d.action}**${d.newLimit ? ` (${newLimitText(d)})` : ''} (${d.source}${d.by ? ` ${d.by}` : ''})${d.note ? `: ${d.note}` : ''}`,
      ),
    );
  return lines.join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 120);
}
