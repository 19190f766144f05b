/** The phase's "current details" in the Web UI: progress, the task table, and the question it waits on. */
import { type BudgetLine, limitText, newLimitText } from '../domain/budget';
import type { DecisionRecord, PendingDecision } from '../domain/decisions';
import type { EffectiveSettings } from '../domain/settings';
import type { PhaseSpec } from '../domain/spec';
import type { GateResult, TaskContext, Usage } from '../domain/types';
import { bar, pendingMarkdown, STATUS_ICON, usageLine } from './details';
import type { TaskRun } from './phase';

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
      return `| ${STATUS_ICON[s.status] ?? ''} | ${t.id} | ${t.kind} | ${s.attempts} | ${escapeCell(s.error ?? t.description)} |`;
    }),
  );
  if (p.gate) lines.push('', `Gate: ${p.gate.passed ? 'passed' : `**failed**: ${p.gate.reason}`}`);
  if (p.failureReason) lines.push('', `**${p.status === 'skipped' ? 'Skipped' : 'Failed'}:** ${p.failureReason}`);
  const limited = p.budgets.filter((b) => b.limit.tokens !== undefined || b.limit.usd !== undefined);
  if (limited.length) lines.push('', `Budgets: ${limited.map((b) => `${b.level} ${limitText(b.limit)}`).join(' · ')}`);
  if (p.decisions.length) lines.push('', 'Decisions:', ...p.decisions.map((d) => `- ${d.decidedAt} ${d.kind} → **${d.action}**${d.newLimit ? ` (${newLimitText(d)})` : ''} (${d.source}${d.by ? ` ${d.by}` : ''})${d.note ? `: ${d.note}` : ''}`));
  return lines.join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 120);
}
