/**
 * `phaseflow orchestrate "GOAL"`: the record of a run kept in the workspace, and the pruning rule
 * between stages. Pure and zod-free (the workflow imports it); the input's schema is in
 * orchestrate-input.ts.
 */
export type { OrchestrateInput, OrchestrateInputRaw } from './orchestrate-input';

export type StageName = 'research' | 'plan' | 'analysis' | 'approval' | 'implement' | 'document';

/** What a stage produced in full (files) and what it handed to the next stage (paths and short summaries). */
export interface StageRecord {
  stage: StageName;
  status: 'running' | 'completed' | 'failed' | 'skipped' | 'rejected';
  bytesProduced: number;
  bytesHandedOn: number;
  /** 100 × (1 − handed on / produced), one decimal; absent when nothing was produced. */
  reductionPercent?: number;
  /** What was handed on: one line per report, plan, phase. */
  items: { path?: string; summary: string }[];
  note?: string;
}

export interface OrchestrateOutcome {
  status: 'completed' | 'planned' | 'rejected' | 'failed' | 'stopped';
  slug: string;
  goal: string;
  planPath?: string;
  specPath?: string;
  epicId?: string;
  stages: StageRecord[];
  /** Over all stages: bytes produced and handed on, and the reduction. */
  pruning: { bytesProduced: number; bytesHandedOn: number; reductionPercent?: number };
  failureReason?: string;
}

/** The run's record in the workspace (written after every stage). */
export const orchestrateRecordPath = (slug: string) => `.claude/orchestrator/orchestrate/${slug}.json`;

/** Pruning between stages: at most `words` words of a summary travel on (seed 003's metadata hand-off). */
export function pruneWords(text: string, words = 50): string {
  const all = text.replace(/\s+/g, ' ').trim().split(' ').filter(Boolean);
  return all.length <= words ? all.join(' ') : `${all.slice(0, words).join(' ')} …`;
}

export function reduction(produced: number, handedOn: number): number | undefined {
  if (produced <= 0) return undefined;
  return Math.round(1000 * (1 - handedOn / produced)) / 10;
}

/** UTF-8 bytes of what a stage hands on (workflow-safe: no Buffer). */
export function jsonBytes(value: unknown): number {
  const s = JSON.stringify(value);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c < 0xdc00 ? (i++, 4) : 3;
  }
  return n;
}

/** A slug from the goal's first words: "Add a greeting CLI" → "add-a-greeting-cli". */
export function goalSlug(goal: string): string {
  const s = goal
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .split('-')
    .slice(0, 6)
    .join('-')
    .slice(0, 40)
    .replace(/-+$/, '');
  return s || 'goal';
}
