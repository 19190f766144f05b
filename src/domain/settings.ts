/**
 * Effective execution settings: epic defaults overridden by roadmap, plan, phase, then task.
 * Pure and zod-free so workflows can use it.
 */
import type { ExecutionSettings } from './spec';

export const DEFAULT_SETTINGS = {
  maxParallel: 4,
  attempts: 3,
  timeoutBaseSeconds: 120,
  timeoutFactor: 1.5,
  retryBackoffSeconds: 1,
  // How long a silent task (a killed worker) goes unnoticed. Activities heartbeat every second and
  // the worker sends one at most every 2 s, so 10 s leaves room for four lost beats; it puts a
  // conversation back on a live worker ~10 s after a kill -9 (30 s before; `npm run bench -- --only recovery`).
  heartbeatSeconds: 10,
  decisionTimeoutSeconds: 86_400,
  reminderBeforeSeconds: 3600,
  // Below the first attempt's limit (120 s), or the attempt's timeout would always come first.
  stuckAfterSeconds: 90,
  toolLoopRepeats: 5,
  historyEventsLimit: 5000,
  apiOutageSeconds: 1800,
  apiMaxConcurrentRequests: 8,
  // Off: a failed gate asks a person at once (orchestrate turns the debug agent on).
  gateDebugAttempts: 0,
} as const;

export type EffectiveSettings = { -readonly [K in keyof typeof DEFAULT_SETTINGS]: number } & {
  model?: string;
  /** Absent = the tool loop. */
  agentRuntime?: 'tool-loop' | 'claude-code';
  escalationDefault: 'retry' | 'retry-phase' | 'skip' | 'abort';
  approvalDefault: 'approve' | 'reject';
};

export function mergeSettings(...layers: (ExecutionSettings | undefined)[]): EffectiveSettings {
  const out: EffectiveSettings = { ...DEFAULT_SETTINGS, escalationDefault: 'abort', approvalDefault: 'reject' };
  for (const layer of layers) {
    if (!layer) continue;
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) (out as any)[k] = v;
  }
  return out;
}

/** Start-to-close timeout of attempt n (1-based): base x factor^(n-1), e.g. 120 s, 180 s, 270 s. */
export function attemptTimeoutMs(
  s: Pick<EffectiveSettings, 'timeoutBaseSeconds' | 'timeoutFactor'>,
  attempt: number,
): number {
  return Math.round(s.timeoutBaseSeconds * 1000 * Math.pow(s.timeoutFactor, attempt - 1));
}

/** Pause before attempt n+1 when the failure gave no retry-after: backoff x factor^(n-1). */
export function retryBackoffMs(
  s: Pick<EffectiveSettings, 'retryBackoffSeconds' | 'timeoutFactor'>,
  attempt: number,
): number {
  return Math.round(s.retryBackoffSeconds * 1000 * Math.pow(s.timeoutFactor, attempt - 1));
}
