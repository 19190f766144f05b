/**
 * One status vocabulary for every level: the words, the icon people see for each, the rule for
 * what a level shows while it runs, and how each word maps onto CCASP's narrower enums.
 */

/** A task's state in its phase (and in PROGRESS.json, which keeps the word). */
export const TASK_STATUSES = [
  'pending',
  'running',
  'completed',
  'failed',
  'not_started',
  'blocked',
  'cancelled',
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Where a level's run is (epic, roadmap, plan, and a phase's workflow). */
export const RUN_STATUSES = ['pending', 'active', 'completed', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A phase as its plan sees it: a person may skip it, and it may wait on a question or a pause. */
export type PhaseStatus = RunStatus | 'skipped' | 'waiting' | 'paused';
/** A level as people see it: an active run shows `waiting` or `paused` when that is what it does. */
export type ShownStatus = RunStatus | 'waiting' | 'paused';

/**
 * What a level shows (mirrors, search attribute, status tree, Web UI): while active, waiting on a
 * person beats paused beats the status.
 */
export function shownStatus<S extends string>(
  status: S,
  now: { waiting: boolean; paused: boolean },
): S | 'waiting' | 'paused' {
  if (status !== 'active') return status;
  return now.waiting ? 'waiting' : now.paused ? 'paused' : status;
}

export const STATUS_ICON: Readonly<Record<string, string>> = {
  pending: '○',
  not_started: '·',
  active: '▶',
  running: '▶',
  waiting: '⏳',
  paused: '⏸',
  completed: '✔',
  failed: '✖',
  blocked: '⛔',
  cancelled: '⊘',
  skipped: '↷',
};

export const statusIcon = (status: string): string => STATUS_ICON[status] ?? '•';

/**
 * CCASP's files know fewer words. Each field that holds a status maps phaseflow's word to the
 * nearest CCASP one (a word not listed stays as it is); phaseflow's own goes beside it.
 * CCASP's "blocked" means "waiting for a person", which is also what a failed epic or roadmap does.
 */
const CCASP_STATUS = {
  /** PROGRESS.json: the plan and each phase (pending/active/completed/failed/paused). */
  progress: { waiting: 'paused', cancelled: 'paused', skipped: 'completed' },
  /** .claude/orchestrator/state.json (initializing/active/paused/completed/failed). */
  orchestrator: { pending: 'initializing', waiting: 'paused', cancelled: 'paused' },
  /** ROADMAP.json (pending/active/completed/blocked/paused). */
  roadmap: { waiting: 'blocked', failed: 'blocked', cancelled: 'paused' },
  /** ROADMAP.json phases[], one per plan (pending/active/completed/failed). */
  roadmapStep: { cancelled: 'failed' },
  /** EPIC.json (pending/active/completed/blocked/cancelled): no paused epic, phaseflow.status says it. */
  epic: { waiting: 'blocked', failed: 'blocked', paused: 'active' },
  /** EPIC.json roadmaps[] (pending/active/completed/blocked). */
  epicRoadmap: { failed: 'blocked', cancelled: 'blocked', waiting: 'blocked', paused: 'active' },
} as const satisfies Record<string, Partial<Record<ShownStatus | PhaseStatus, string>>>;

export type CcaspStatusField = keyof typeof CCASP_STATUS;

export function ccaspStatus<T extends string>(field: CcaspStatusField, status: string): T {
  return ((CCASP_STATUS[field] as Record<string, string>)[status] ?? status) as T;
}
