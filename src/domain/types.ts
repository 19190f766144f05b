/**
 * Runtime contracts between workflows and activities. Plain data only: everything here travels
 * through Temporal history, so it stays small (summaries, paths, figures; never transcripts).
 */
import type { DOMAINS, OUTPUT_TYPES, TaskSpec } from './spec';

/** AOP status; `blocked` = the agent needs a person (its summary says what for). */
export type AgentStatus = 'success' | 'failure' | 'partial' | 'blocked';
export type TaskKind = TaskSpec['kind'];
export type Domain = (typeof DOMAINS)[number];
export type OutputType = (typeof OUTPUT_TYPES)[number];

/** Where a task sits in the hierarchy; used for prompts, errors, logs and file names. */
export interface TaskContext {
  epicSlug: string;
  epicTitle: string;
  roadmapSlug: string;
  planSlug: string;
  planTitle: string;
  phaseSlug: string;
  phaseTitle: string;
  phaseIndex: number; // 1-based, as in PROGRESS.json
  /** Absolute path of the workspace; every file the task touches stays inside it. */
  workspace: string;
  /** The worker host the epic is pinned to (its activities run on that host's task queue). */
  host?: string;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
  costUsd: number;
  /** Set when any part of it came from dry-run's simulated agents: no model ran, nothing was paid. */
  simulated?: true;
}

export const ZERO_USAGE: Usage = Object.freeze({
  inputTokens: 0,
  outputTokens: 0,
  cacheWriteTokens: 0,
  cacheReadTokens: 0,
  costUsd: 0,
});

/** Dollars rounded to micro-dollars, so sums stay exact across levels and files. */
export const microUsd = (usd: number): number => Math.round(usd * 1e6) / 1e6;

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    costUsd: microUsd(a.costUsd + b.costUsd),
    ...(a.simulated || b.simulated ? { simulated: true as const } : {}),
  };
}

export function totalTokens(u: Usage): number {
  return u.inputTokens + u.outputTokens + u.cacheWriteTokens + u.cacheReadTokens;
}

/** What the budgets allowed a phase run before any of its own spend, and where its attempts record theirs. */
export interface PhaseBudget {
  ledger: string;
  tokensLeft?: number;
  usdLeft?: number;
}

/** Input of one task attempt (one activity execution). */
export interface TaskRunInput {
  ctx: TaskContext;
  task: {
    id: string;
    description: string;
    kind: TaskKind;
    command?: string;
    domain: Domain;
    agent?: string;
    outputType: OutputType;
    files: string[];
    dryRun?: TaskSpec['dryRun'];
  };
  agentMode: 'dry-run' | 'claude';
  /** Who runs a `claude` agent: absent = phaseflow's tool loop; claude-code = Claude Code through the Agent SDK. */
  runtime?: 'claude-code';
  /** Resolved model id (see src/domain/models.ts). */
  model: string;
  attempt: number; // 1-based
  maxAttempts: number;
  /** This attempt's start-to-close timeout, from the ladder. */
  timeoutMs: number;
  /** Set on a retry: why the previous attempt did not succeed. */
  previousFailure?: string;
  /** A retried agent attempt runs with Read/Write only. */
  reducedTools: boolean;
  /**
   * What is left of the tightest budget above this task when the attempt was scheduled, counting
   * only attempts that had ended; undefined = unlimited. `phase`: what was left for the phase as a
   * whole when this phase run started, and the key of its budget ledger (paths.ts), where every
   * agent attempt of the phase records its spend, so parallel attempts do not overshoot together.
   */
  budget?: { tokensLeft?: number; usdLeft?: number; phase?: PhaseBudget };
  /** Stuck detector: stop when no token and no tool call came for `noProgressMs`, or the same tool call came `repeatLimit` times in a row. */
  watchdog?: { noProgressMs: number; repeatLimit: number };
  /** API weather: the most an attempt waits on the API before it escalates, and this worker's cap on requests in flight. */
  api?: { outageMs: number; maxConcurrentRequests: number };
}

/** An Agent Output Protocol result: what reaches the workflow of a task attempt. */
export interface TaskResult {
  taskId: string;
  kind: TaskKind;
  status: AgentStatus;
  /** Capped by output type (SUMMARY_CAPS). */
  summary: string;
  /** Workspace-relative path of the details file holding the full output. */
  detailsFile: string;
  attempt: number;
  durationMs: number;
  usage: Usage;
  model?: string;
  exitCode?: number;
  filesChanged?: number;
  /** Workspace-relative paths the attempt wrote (capped at CHANGED_PATHS_CAP), to find files two tasks of a phase both wrote. */
  changedPaths?: string[];
  /** Model requests retried after API weather (429, 529, 5xx, dropped connections), and the time spent waiting on them. */
  apiRetries?: number;
  apiWaitMs?: number;
}

/** How many changed paths a task result carries into history. */
export const CHANGED_PATHS_CAP = 200;

export interface GateCheck {
  name: string;
  command: string;
  exitCode: number | null;
  passed: boolean;
  durationMs: number;
  /** Last lines of the command's output, capped; full output in `logFile`. */
  outputExcerpt: string;
  logFile: string;
  timedOut?: boolean;
}

export interface GateResult {
  passed: boolean;
  checks: GateCheck[];
  successCriteria: string[];
  reason?: string;
  checkedAt: string;
}

/** ApplicationFailure types thrown by activities; the workflows decide on them. */
export const FailureTypes = {
  InvalidSpec: 'InvalidSpec',
  CommandFailed: 'CommandFailed',
  AgentFailed: 'AgentFailed',
  Transient: 'Transient',
  Permanent: 'Permanent',
  BudgetExhausted: 'BudgetExhausted',
  /** The stuck detector stopped an agent; details[0] = { detector: 'no-progress' | 'tool-loop', reason, usage }. */
  Stuck: 'Stuck',
  MirrorMissing: 'MirrorMissing',
  /** The workspace is missing, or another epic owns one of the epic's slugs there. */
  WorkspaceRefused: 'WorkspaceRefused',
  /** The API stayed unavailable longer than apiOutageSeconds; details[0] = { waitedMs, last, usage }. Escalates at once. */
  ApiUnavailable: 'ApiUnavailable',
} as const;
