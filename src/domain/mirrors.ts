/**
 * The mirror files phaseflow writes into the workspace, as zod schemas: CCASP's required fields
 * and enums (reference/ccasp/schemas), plus phaseflow's own fields (allowed: CCASP's schemas
 * permit extra properties). The mirror-writing activity validates every document before writing.
 */
import { z } from 'zod';

const isoDate = z.iso.datetime({ offset: true });
const percent = z.number().min(0).max(100);

export const UsageDoc = z.object({
  input_tokens: z.int().min(0),
  output_tokens: z.int().min(0),
  cache_write_tokens: z.int().min(0),
  cache_read_tokens: z.int().min(0),
  cost_usd: z.number().min(0),
  /** dry-run: the figures are simulated (no model ran, nothing was paid). */
  simulated: z.literal(true).optional(),
});
export type UsageDoc = z.infer<typeof UsageDoc>;

/** phaseflow's bookkeeping in every mirror: a revision that only grows, and where the state lives. */
export const MirrorMeta = z.object({
  revision: z.int().min(1),
  workflow_id: z.string(),
  /** The workflow run that owns the file (stamped by the mirror writer); revisions count per owner. */
  owner: z.string().optional(),
  status: z.string(),
  usage: UsageDoc,
  tasks_total: z.int().min(0),
  tasks_completed: z.int().min(0),
});
export type MirrorMeta = z.infer<typeof MirrorMeta>;

export const EpicDoc = z.looseObject({
  epic_id: z.string(),
  title: z.string(),
  description: z.string(),
  status: z.enum(['pending', 'active', 'completed', 'blocked', 'cancelled']),
  completion_percentage: percent,
  created: isoDate,
  updated: isoDate,
  tags: z.array(z.string()),
  roadmaps: z.array(
    z.looseObject({
      roadmap_slug: z.string(),
      title: z.string(),
      order: z.int(),
      status: z.enum(['pending', 'active', 'completed', 'blocked']),
      completion_percentage: percent,
      estimated_phases: z.int(),
    }),
  ),
  token_budget: z.object({
    tokens: z.int().nullable(),
    usd: z.number().nullable(),
    used_tokens: z.int(),
    used_usd: z.number(),
    /** dry-run: the spend is simulated. */
    simulated: z.literal(true).optional(),
  }),
  phaseflow: MirrorMeta,
});
export type EpicDoc = z.infer<typeof EpicDoc>;

export const RoadmapDoc = z.looseObject({
  roadmap_id: z.string(),
  title: z.string(),
  description: z.string(),
  epic_slug: z.string(),
  status: z.enum(['pending', 'active', 'completed', 'blocked', 'paused']),
  order: z.int(),
  estimated_phases: z.int(),
  completion_percentage: percent,
  created: isoDate,
  updated: isoDate,
  phase_dev_plan_refs: z.array(
    z.looseObject({ plan_id: z.string(), title: z.string(), status: z.string(), completion_percentage: percent }),
  ),
  phases: z.array(
    z.looseObject({
      id: z.int(),
      name: z.string(),
      description: z.string(),
      estimated_tasks: z.int(),
      status: z.enum(['pending', 'active', 'completed', 'failed']),
    }),
  ),
  token_allocation: z.object({
    total: z.int().optional(),
    used: z.int(),
    remaining: z.int().optional(),
    simulated: z.literal(true).optional(),
  }),
  phaseflow: MirrorMeta,
});
export type RoadmapDoc = z.infer<typeof RoadmapDoc>;

export const ProgressTaskDoc = z.looseObject({
  id: z.string(),
  description: z.string(),
  completed: z.boolean(),
  agent: z.string().optional(),
  task_type: z.enum(['implementation', 'system', 'orchestration', 'validation', 'testing']),
  status: z.enum(['pending', 'running', 'completed', 'failed', 'not_started', 'blocked', 'cancelled']),
  kind: z.enum(['agent', 'command']),
  attempts: z.int().min(0),
  summary: z.string().optional(),
  details_file: z.string().optional(),
  error: z.string().optional(),
  usage: UsageDoc,
  duration_ms: z.int().min(0).optional(),
  /** Model requests retried after API weather (429, 529, 5xx, dropped connections), and the time waited on them. */
  api_retries: z.int().min(0).optional(),
  api_wait_ms: z.int().min(0).optional(),
  started_at: isoDate.optional(),
  completed_at: isoDate.optional(),
  depends_on: z.array(z.string()),
  files: z.array(z.string()),
});
export type ProgressTaskDoc = z.infer<typeof ProgressTaskDoc>;

export const GateDoc = z.object({
  passed: z.boolean(),
  reason: z.string().optional(),
  checked_at: isoDate,
  checks: z.array(
    z.object({
      name: z.string(),
      command: z.string(),
      exit_code: z.int().nullable(),
      passed: z.boolean(),
      duration_ms: z.int().min(0),
      output_excerpt: z.string(),
      log_file: z.string(),
      timed_out: z.boolean().optional(),
    }),
  ),
});

export const ProgressPhaseDoc = z.looseObject({
  id: z.int().min(1),
  slug: z.string(),
  name: z.string(),
  status: z.enum(['pending', 'active', 'completed', 'failed', 'paused']),
  tasks: z.array(ProgressTaskDoc),
  success_criteria: z.array(z.string()),
  completion_percentage: percent,
  gate: GateDoc.nullable(),
  failure_reason: z.string().optional(),
  started_at: isoDate.optional(),
  completed_at: isoDate.optional(),
  usage: UsageDoc,
  /** Files that two or more tasks of the phase wrote. */
  conflicts: z.array(z.object({ file: z.string(), tasks: z.array(z.string()) })).optional(),
  /** Debug-agent rounds after a failed gate, before any person was asked (settings.gateDebugAttempts). */
  gate_debug: z
    .array(
      z.object({
        round: z.int(),
        taskId: z.string(),
        status: z.string(),
        summary: z.string().optional(),
        gatePassed: z.boolean(),
      }),
    )
    .optional(),
  /** The phase's commit on the epic's branch (spec `git`), as seed 003 keeps it. */
  commit_hash: z.string().optional(),
});
export type ProgressPhaseDoc = z.infer<typeof ProgressPhaseDoc>;

export const ProgressDoc = z.looseObject({
  plan_id: z.string(),
  phase_id: z.string(),
  roadmap_id: z.string(),
  epic_id: z.string(),
  project_name: z.string(),
  status: z.enum(['pending', 'active', 'completed', 'failed', 'paused']),
  created: isoDate,
  updated: isoDate,
  completion_percentage: percent,
  failure_reason: z.string().optional(),
  phases: z.array(ProgressPhaseDoc),
  phaseflow: MirrorMeta,
});
export type ProgressDoc = z.infer<typeof ProgressDoc>;

export const OrchestratorStateDoc = z.looseObject({
  planId: z.string(),
  planPath: z.string(),
  initialized: isoDate,
  lastUpdated: isoDate,
  status: z.enum(['initializing', 'active', 'paused', 'completed', 'failed']),
  currentPhase: z.string(),
  activeAgents: z.array(
    z.looseObject({
      agentId: z.string(),
      taskId: z.string(),
      level: z.enum(['L2', 'L3']),
      domain: z.enum(['frontend', 'backend', 'testing', 'deployment', 'general']),
      spawnedAt: isoDate,
      status: z.enum(['running', 'completed', 'failed', 'timeout']),
    }),
  ),
  completedTasks: z.array(z.string()),
  pendingTasks: z.array(z.string()),
  failedTasks: z.array(z.object({ taskId: z.string(), error: z.string(), retryCount: z.int(), failedAt: isoDate })),
  tokenBudget: z.object({ used: z.int(), limit: z.int().optional() }),
  metrics: z.object({
    tasksCompleted: z.int(),
    tasksFailed: z.int(),
    totalAgentsSpawned: z.int(),
    averageTaskDuration: z.number(),
  }),
  phaseflow: MirrorMeta,
});
export type OrchestratorStateDoc = z.infer<typeof OrchestratorStateDoc>;

export const MIRROR_SCHEMAS = {
  epic: EpicDoc,
  roadmap: RoadmapDoc,
  progress: ProgressDoc,
  state: OrchestratorStateDoc,
} as const;
export type MirrorKind = keyof typeof MIRROR_SCHEMAS;
