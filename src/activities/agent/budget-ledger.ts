/**
 * The phase budget ledger: the agent attempts running in parallel in one phase share a budget, but
 * the workflow learns an attempt's spend only when it ends. So each attempt rewrites its own file
 * (its cumulative usage, atomically) after every model call, and before each call sums everyone's.
 *
 * One file per attempt holds that attempt's own spend only (not usage carried over from a crashed
 * attempt, which has its own file), so a retry or a resumed conversation never counts twice.
 * A file that cannot be read or parsed is left out of the sum with a warning: the agent's own
 * budget snapshot still applies, so a broken ledger never makes the check looser than before.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Context } from '@temporalio/activity';
import { budgetLedgerDir, budgetLedgerFile } from '../../domain/paths';
import { microUsd, totalTokens, type TaskRunInput, type Usage } from '../../domain/types';
import { writeFileAtomic } from '../fs-atomic';

export interface LedgerEntry {
  taskId: string;
  attempt: number;
  /** totalTokens(usage): input + output + cache write + cache read. */
  tokens: number;
  costUsd: number;
  usage: Usage;
  updatedAt: string;
}

export interface LedgerSum {
  tokens: number;
  costUsd: number;
  /** Files counted. */
  entries: number;
  /** Files left out, and why. */
  skipped: { file: string; reason: string }[];
}

/** Records one attempt's cumulative own usage (replacing its earlier record). */
export async function writeLedgerEntry(
  workspace: string,
  key: string,
  taskId: string,
  attempt: number,
  usage: Usage,
): Promise<void> {
  const entry: LedgerEntry = {
    taskId,
    attempt,
    tokens: totalTokens(usage),
    costUsd: usage.costUsd,
    usage,
    updatedAt: new Date().toISOString(),
  };
  await writeFileAtomic(path.join(workspace, budgetLedgerFile(key, taskId, attempt)), `${JSON.stringify(entry)}\n`);
}

/**
 * Sums the ledger of one phase run. `except` names an entry (workspace-relative) the caller counts
 * itself, from memory (its own attempt: fresher than its file). A missing directory sums to zero.
 */
export async function readLedger(workspace: string, key: string, except?: string): Promise<LedgerSum> {
  const dirRel = budgetLedgerDir(key);
  const sum: LedgerSum = { tokens: 0, costUsd: 0, entries: 0, skipped: [] };
  let names: string[];
  try {
    names = await fs.readdir(path.join(workspace, dirRel));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      sum.skipped.push({ file: dirRel, reason: (err as Error).message });
    return sum;
  }
  // Temp files of an atomic write in progress start with a dot and end in .tmp.
  for (const name of names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort()) {
    const rel = `${dirRel}/${name}`;
    if (rel === except) continue;
    try {
      const e = JSON.parse(await fs.readFile(path.join(workspace, rel), 'utf8')) as Partial<LedgerEntry>;
      if (!isAmount(e.tokens) || !isAmount(e.costUsd))
        throw new Error('tokens and costUsd must be non-negative numbers');
      sum.tokens += e.tokens;
      sum.costUsd = microUsd(sum.costUsd + e.costUsd);
      sum.entries++;
    } catch (err) {
      sum.skipped.push({ file: rel, reason: (err as Error).message });
    }
  }
  return sum;
}

function isAmount(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/**
 * One agent attempt's side of its phase's ledger: what the phase spent (the other attempts' files
 * plus this attempt's own usage, from memory) and its own entry. A file it cannot read is left
 * out with one warning per attempt.
 */
export class AttemptLedger {
  private readonly warned = new Set<string>();

  constructor(
    private readonly activity: Context,
    private readonly input: TaskRunInput,
  ) {}

  async phaseSpent(
    workspace: string,
    key: string,
    ownUsage: () => Usage,
  ): Promise<{ tokens: number; costUsd: number; attempts: number } | undefined> {
    let sum;
    try {
      sum = await readLedger(workspace, key, budgetLedgerFile(key, this.input.task.id, this.input.attempt));
    } catch (err) {
      this.warn(key, (err as Error).message);
      return undefined;
    }
    for (const s of sum.skipped) this.warn(s.file, s.reason);
    const own = ownUsage();
    return {
      tokens: sum.tokens + totalTokens(own),
      costUsd: microUsd(sum.costUsd + own.costUsd),
      attempts: sum.entries + 1,
    };
  }

  /** Rewrites this attempt's entry after a model call (only when the phase has a budget). */
  async recordSpend(workspace: string, own: Usage): Promise<void> {
    const key = this.input.budget?.phase?.ledger;
    if (!key) return;
    await writeLedgerEntry(workspace, key, this.input.task.id, this.input.attempt, own).catch((err) =>
      this.warn(key, `could not record this attempt's spend: ${(err as Error).message}`),
    );
  }

  private warn(file: string, reason: string): void {
    if (this.warned.has(file)) return;
    this.warned.add(file);
    this.activity.log.warn('budget ledger: left out of the phase budget check', {
      taskId: this.input.task.id,
      attempt: this.input.attempt,
      file,
      reason,
    });
  }
}
