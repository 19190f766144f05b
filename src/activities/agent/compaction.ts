/**
 * Context-window guard (seeds: "70% context ceiling"): when a turn's prompt reaches this share
 * of the model's window, the conversation is summarised into a fresh one before the next call.
 */
import { modelInfo } from '../../domain/models';

export const COMPACTION_THRESHOLD = 0.7;

export function compactionLimit(model: string): number {
  return Math.floor(modelInfo(model).contextWindow * COMPACTION_THRESHOLD);
}

export function needsCompaction(model: string, contextTokens: number): boolean {
  return contextTokens >= compactionLimit(model);
}

/** The summary inside <summary> tags, or the whole text if the model left them out. */
export function extractSummary(text: string): string {
  const m = /<summary>([\s\S]*?)(<\/summary>|$)/i.exec(text);
  return (m ? m[1] : text).trim();
}
