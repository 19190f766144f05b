/** Markdown for the Web UI's "current details" panel. */
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
};
