/** Markdown for the Web UI's "current details" panel. */
import type { PendingDecision } from '../domain/decisions';
import type { Usage } from '../domain/types';

export function bar(done: number, total: number, width = 20): string {
  const ratio = total === 0 ? 1 : done / total;
  const filled = Math.round(ratio * width);
  return `\`${'█'.repeat(filled)}${'░'.repeat(width - filled)}\` ${done}/${total} (${Math.floor(ratio * 100)}%)`;
}

export function usageLine(u: Usage): string {
  const tokens = u.inputTokens + u.outputTokens + u.cacheReadTokens + u.cacheWriteTokens;
  return `${tokens.toLocaleString('en-US')} tokens · $${u.costUsd.toFixed(4)}`;
}

export const STATUS_ICON: Record<string, string> = {
  pending: '○',
  active: '▶',
  running: '▶',
  completed: '✔',
  failed: '✖',
  not_started: '·',
  cancelled: '⊘',
  paused: '⏸',
  waiting: '⏳',
  blocked: '⛔',
  skipped: '↷',
};

/** What a person is asked, how to answer and when the default fires: the same at every level. */
export function pendingMarkdown(pending: PendingDecision[]): string[] {
  return pending.flatMap((p) => {
    const cli = p.kind === 'approval' ? `phaseflow approve ${p.workflowId}` : p.kind === 'budget' ? `phaseflow budget ${p.workflowId} --tokens N` : `phaseflow resolve ${p.workflowId} retry`;
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
