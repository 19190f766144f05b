/**
 * The Claude Code session of a task, outside Temporal history: `session.json` in the task's
 * Claude Code folder says which session to resume and how its last attempt ended; Claude Code
 * keeps the conversation itself (its own JSONL transcript under CLAUDE_CONFIG_DIR). The rule is
 * the tool loop's (resume.ts): an interrupted session (worker crash, time limit, API weather,
 * cancel, budget) is resumed, so finished turns are not paid for again; a session that ended
 * (the agent finished, or failed on its own terms) is not, and the next attempt starts fresh.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type Usage, ZERO_USAGE } from '../../../domain/types';
import { writeFileAtomic } from '../../fs-atomic';

export interface SessionRecord {
  sessionId: string;
  attempt: number;
  /** running: the attempt has not recorded its end (if no attempt runs, its worker died). */
  outcome: 'running' | 'completed' | 'failed' | 'interrupted';
  reason?: string;
  /** Model turns seen in this session so far (all attempts). */
  turns: number;
  /** What the attempt that wrote this has used so far, by the usage of its assistant messages. */
  attemptUsage: Usage;
  updatedAt: string;
}

/** How the end reason of a session whose agent reported blocked begins (it stays open for a person's go-on). */
export const BLOCKED_END = 'agent reported blocked:';

export interface SessionStart {
  mode: 'fresh' | 'resumed';
  reason: string;
  /** The session ended with the agent reporting blocked: the next attempt goes on after a person looked. */
  blocked?: boolean;
  resume?: string;
  turns: number;
  /** Usage of a crashed attempt that never reported it; added to this attempt's result. */
  carriedUsage?: Usage;
}

export function sessionFile(taskDir: string): string {
  return path.join(taskDir, 'session.json');
}

export async function readSession(taskDir: string): Promise<SessionRecord | undefined> {
  try {
    return JSON.parse(await fs.readFile(sessionFile(taskDir), 'utf8')) as SessionRecord;
  } catch {
    return undefined;
  }
}

export async function writeSession(taskDir: string, rec: SessionRecord): Promise<void> {
  await writeFileAtomic(sessionFile(taskDir), JSON.stringify(rec, null, 2) + '\n');
}

export function planSessionStart(rec: SessionRecord | undefined): SessionStart {
  if (!rec?.sessionId) return { mode: 'fresh', reason: 'no earlier Claude Code session for this task', turns: 0 };
  const n = rec.attempt;
  switch (rec.outcome) {
    case 'completed':
      return {
        mode: 'fresh',
        reason: `attempt ${n} finished its session; a new attempt starts over`,
        turns: rec.turns,
      };
    case 'failed':
      return {
        mode: 'fresh',
        reason: `attempt ${n} failed (${rec.reason ?? 'unknown reason'}); starting a fresh session rather than replaying the approach that failed`,
        turns: rec.turns,
      };
    case 'interrupted':
      return {
        mode: 'resumed',
        ...(rec.reason?.startsWith(BLOCKED_END) ? { blocked: true } : {}),
        reason: `attempt ${n} was interrupted (${rec.reason ?? 'unknown reason'}); resuming its session ${rec.sessionId} after turn ${rec.turns}`,
        resume: rec.sessionId,
        turns: rec.turns,
      };
    default:
      return {
        mode: 'resumed',
        reason: `attempt ${n} stopped without finishing (the worker likely died); resuming its session ${rec.sessionId} after turn ${rec.turns}`,
        resume: rec.sessionId,
        turns: rec.turns,
        carriedUsage: rec.attemptUsage ?? ZERO_USAGE,
      };
  }
}
