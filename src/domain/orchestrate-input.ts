/**
 * The input of `phaseflow orchestrate` / `orchestrateWorkflow`: the zod schema is the type and
 * the validator. The workflow loads it lazily (like the epic's), so zod stays out of the other
 * workflows' evaluation.
 */
import { z } from 'zod';
import { AGENT_MODES, ExecutionSettings, SLUG } from './spec';

/** Research agents one run may start at all, whatever `research` asks for. */
export const MAX_RESEARCH_AGENTS = 8;

export const OrchestrateInput = z.strictObject({
  goal: z.string().min(3, 'expected a goal of a few words').max(2000),
  workspace: z.string().min(1).describe('The repository the run works in (absolute, or relative to the worker)'),
  slug: z.string().regex(SLUG, 'expected a slug').optional().describe('Names the run, its plan and its epic'),
  research: z
    .int()
    .min(0)
    .max(MAX_RESEARCH_AGENTS)
    .default(3)
    .describe(`Research agents, one per topic (at most ${MAX_RESEARCH_AGENTS})`),
  researchParallel: z.int().min(1).max(MAX_RESEARCH_AGENTS).default(3).describe('Research agents running at once'),
  until: z
    .string()
    .regex(/^(plan|all|phase:[1-9][0-9]*)$/, 'expected plan, all or phase:N')
    .default('all')
    .describe('plan: stop after the approved plan; phase:N: stop after the epic’s phase N; all'),
  agentMode: z.enum(AGENT_MODES).default('claude'),
  expand: z
    .enum(['auto', 'ask', 'off'])
    .default('auto')
    .describe('Phases of complexity 8 or more: expanded in the Markdown plan (auto), asked, or left'),
  plannerDrafts: z.int().min(1).max(10).default(3).describe('Drafts the planner may write until one validates'),
  gateDebugAttempts: z.int().min(0).max(10).default(2).describe('Debug-agent rounds after a failed gate'),
  decisionTimeoutSeconds: z
    .number()
    .positive()
    .max(365 * 86_400)
    .default(86_400),
  reminderBeforeSeconds: z
    .number()
    .min(0)
    .max(365 * 86_400)
    .default(3600),
  approvalDefault: z.enum(['approve', 'reject']).default('reject'),
  settings: ExecutionSettings.optional().describe('Settings of the orchestrate agents, and the epic’s defaults'),
  simulate: z
    .strictObject({
      invalidFirstDraft: z.boolean().optional(),
      failingGate: z.boolean().optional(),
      heavyPhase: z.boolean().optional(),
    })
    .optional()
    .describe(
      'dry-run only: the simulated planner writes one invalid draft; a gate fails until the debug agent fixes it; a phase of complexity 10 (expanded by the analysis)',
    ),
});
export type OrchestrateInput = z.infer<typeof OrchestrateInput>;
export type OrchestrateInputRaw = z.input<typeof OrchestrateInput>;
