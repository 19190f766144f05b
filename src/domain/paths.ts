/**
 * Where phaseflow keeps things in a workspace (CCASP's layout under .claude/).
 * All paths returned are workspace-relative, POSIX-style.
 */
export const CLAUDE_DIR = '.claude';

export const mirrorPaths = {
  epic: (epic: string) => `${CLAUDE_DIR}/epics/${epic}/EPIC.json`,
  roadmap: (roadmap: string) => `${CLAUDE_DIR}/roadmaps/${roadmap}/ROADMAP.json`,
  progress: (plan: string) => `${CLAUDE_DIR}/phase-plans/${plan}/PROGRESS.json`,
  /** CCASP's one orchestrator state for the workspace: rebuilt from every plan's own file below. */
  orchestratorState: () => `${CLAUDE_DIR}/orchestrator/state.json`,
  /** One plan's orchestrator state, written only by that plan's workflow. */
  orchestratorPlan: (epic: string, plan: string) => `${CLAUDE_DIR}/orchestrator/plans/${epic}--${plan}.json`,
};

/** The folder of every plan's orchestrator state (orchestratorPlan). */
export const ORCHESTRATOR_PLANS_DIR = `${CLAUDE_DIR}/orchestrator/plans`;

/** Which epic owns a roadmap or plan slug in this workspace (see activities/workspace-records.ts). */
export function slugClaimPath(kind: 'roadmap' | 'plan', slug: string): string {
  return `${CLAUDE_DIR}/orchestrator/owners/${kind}--${slug}.json`;
}

/** Where a new run of an epic moves the earlier run's records: `.claude/cache/archive/<epic>/<stamp>/`. */
export function archiveDir(epic: string, stamp: string): string {
  return `${CLAUDE_DIR}/cache/archive/${epic}/${stamp}`;
}

/** The cache folders whose files are named `<plan>--…` (details, logs, transcripts, budget ledgers, Claude Code sessions). */
export const PLAN_CACHE_DIRS = ['agent-outputs', 'logs', 'transcripts', 'budget', 'claude-code'].map(
  (d) => `${CLAUDE_DIR}/cache/${d}`,
);

/** Task ids ("1.1") repeat across plans, so file names carry the plan slug too. */
export function taskFileStem(planSlug: string, taskId: string): string {
  return `${planSlug}--${taskId}`;
}

/** The AOP details file of one attempt: `.claude/cache/agent-outputs/<plan>--<task>-<attempt>.json`. */
export function detailsFilePath(planSlug: string, taskId: string, attempt: number): string {
  return `${CLAUDE_DIR}/cache/agent-outputs/${taskFileStem(planSlug, taskId)}-${attempt}.json`;
}

/** The agent conversation of a task, kept across attempts so a retry can resume it. */
export function transcriptPath(planSlug: string, taskId: string): string {
  return `${CLAUDE_DIR}/cache/transcripts/${taskFileStem(planSlug, taskId)}.jsonl`;
}

/**
 * A task's Claude Code folder: its HOME, its CLAUDE_CONFIG_DIR (the session transcripts Claude
 * Code keeps) and `session.json` (which session to resume), kept across attempts.
 */
export function claudeCodeTaskDir(planSlug: string, taskId: string): string {
  return `${CLAUDE_DIR}/cache/claude-code/${taskFileStem(planSlug, taskId)}`;
}

/** Full output of a command task or gate check. */
export function logFilePath(planSlug: string, name: string, attempt: number): string {
  return `${CLAUDE_DIR}/cache/logs/${planSlug}--${name}-${attempt}.log`;
}

/** The process group of a running command task, so a later attempt can stop a leftover. */
export function pidFilePath(planSlug: string, taskId: string): string {
  return `${CLAUDE_DIR}/cache/pids/${taskFileStem(planSlug, taskId)}.pid`;
}

/**
 * The phase budget ledger: one file per agent attempt holding that attempt's cumulative usage,
 * so the attempts running in parallel in one phase see each other's spend before each model call.
 * The key names one phase run (across its continue-as-new) and is safe as a file name.
 */
export function budgetLedgerKey(planSlug: string, phaseSlug: string, firstRunId: string): string {
  return `${planSlug}--${phaseSlug}--${firstRunId}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

const LEDGER_KEY = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

/** The ledger directory of one phase run: `.claude/cache/budget/<key>`. Throws on a key that is not a plain name. */
export function budgetLedgerDir(key: string): string {
  if (!LEDGER_KEY.test(key))
    throw new Error(`budget ledger key ${JSON.stringify(key)} is not a plain file name (letters, digits, . _ -)`);
  return `${CLAUDE_DIR}/cache/budget/${key}`;
}

/** One attempt's entry in the ledger: `.claude/cache/budget/<key>/<task>-<attempt>.json`. */
export function budgetLedgerFile(key: string, taskId: string, attempt: number): string {
  return `${budgetLedgerDir(key)}/${taskId}-${attempt}.json`;
}
