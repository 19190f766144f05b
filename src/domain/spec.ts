/**
 * The epic spec: the one definition of what a user hands phaseflow.
 * The zod schema is the TypeScript type, the validator and (via `phaseflow schema`) the JSON Schema.
 * Workflows import only types from here (`import type`), so zod stays out of the workflow bundle.
 */
import { z } from 'zod';
import { GitSpec } from './git-spec';
import { GithubSpec } from './github-spec';
import { HOST_NAME, HOST_NAME_RULE } from './hosts';

export const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;
const slug = z
  .string()
  .regex(SLUG, 'expected a slug: lowercase letters, digits and dashes, starting with a letter or digit');
const title = z.string().min(1, 'expected a non-empty title');

export const DOMAINS = ['frontend', 'backend', 'testing', 'deployment', 'general'] as const;
export const OUTPUT_TYPES = ['search', 'analysis', 'code', 'tests', 'build'] as const;
export const COMPLEXITIES = ['simple', 'default', 'complex'] as const;
export const AGENT_MODES = ['dry-run', 'claude'] as const;
export const AGENT_RUNTIMES = ['tool-loop', 'claude-code'] as const;

/** AOP summary caps by output type (seeds: Agent Output Protocol summary rules). */
export const SUMMARY_CAPS: Record<(typeof OUTPUT_TYPES)[number], number> = {
  search: 500,
  analysis: 800,
  code: 300,
  tests: 400,
  build: 200,
};

/** Execution settings that can be set on the epic and overridden per roadmap, plan, phase or task. */
export const ExecutionSettings = z.strictObject({
  maxParallel: z.int().min(1).max(64).optional().describe('Tasks of one phase running at once (default 4)'),
  attempts: z.int().min(1).max(20).optional().describe('Attempts per task, timeouts following the ladder (default 3)'),
  timeoutBaseSeconds: z
    .number()
    .positive()
    .max(86_400)
    .optional()
    .describe('Start-to-close timeout of the first attempt (default 120)'),
  timeoutFactor: z
    .number()
    .min(1)
    .max(10)
    .optional()
    .describe('Each attempt gets factor x the previous timeout (default 1.5)'),
  retryBackoffSeconds: z
    .number()
    .min(0)
    .max(3600)
    .optional()
    .describe('Pause before the second attempt; grows by the timeout factor (default 1)'),
  heartbeatSeconds: z
    .number()
    .positive()
    .max(3600)
    .optional()
    .describe('A task that has not heartbeated for this long is failed and retried (default 10)'),
  model: z.string().min(1).optional().describe('Model alias (haiku, sonnet, opus) or a full model id'),
  decisionTimeoutSeconds: z
    .number()
    .positive()
    .max(365 * 86_400)
    .optional()
    .describe('How long a question to a person waits before its default is taken (default 86400 = 24 h)'),
  reminderBeforeSeconds: z
    .number()
    .min(0)
    .max(365 * 86_400)
    .optional()
    .describe(
      'A reminder goes out this long before the default fires (default 3600; at half-time if the limit is shorter)',
    ),
  escalationDefault: z
    .enum(['retry', 'retry-phase', 'skip', 'abort'])
    .optional()
    .describe('What a failed phase does when nobody decides in time (default abort)'),
  approvalDefault: z
    .enum(['approve', 'reject'])
    .optional()
    .describe('What a phase awaiting approval does when nobody decides in time (default reject)'),
  stuckAfterSeconds: z
    .number()
    .positive()
    .max(86_400)
    .optional()
    .describe(
      'An agent with no token and no tool call for this long is stopped and escalated (default 90; keep it below the attempt time limit)',
    ),
  toolLoopRepeats: z
    .int()
    .min(2)
    .max(1000)
    .optional()
    .describe('An agent making the same tool call this many times in a row is stopped and escalated (default 5)'),
  apiOutageSeconds: z
    .number()
    .positive()
    .max(7 * 86_400)
    .optional()
    .describe(
      'How long an agent waits out Anthropic API trouble (429, 529, 5xx, dropped connections) in one attempt before it escalates (default 1800)',
    ),
  apiMaxConcurrentRequests: z
    .int()
    .min(1)
    .max(256)
    .optional()
    .describe('Model requests in flight at once per worker, across all its agents (default 8)'),
  gateDebugAttempts: z
    .int()
    .min(0)
    .max(10)
    .optional()
    .describe(
      'A failed gate first gets this many rounds of a debug agent (reads the evidence, fixes, the gate runs again) before a person is asked (default 0; orchestrate sets 2)',
    ),
  agentRuntime: z
    .enum(AGENT_RUNTIMES)
    .optional()
    .describe(
      "Who runs an agent task: tool-loop (phaseflow's own Claude tool loop, the default) or claude-code (Claude Code through the Claude Agent SDK, with the workspace's CLAUDE.md, .claude/agents, skills and MCP servers; install it with `phaseflow runtime install claude-code`)",
    ),
  historyEventsLimit: z
    .int()
    .min(20)
    .max(50_000)
    .optional()
    .describe(
      'A workflow continues as new past this many history events, or when the server suggests it (default 5000)',
    ),
});
export type ExecutionSettings = z.infer<typeof ExecutionSettings>;

export const DryRunBehaviour = z.strictObject({
  durationMs: z
    .int()
    .min(0)
    .max(3_600_000)
    .optional()
    .describe('Simulated work time (default: derived from the task id, 100-600 ms)'),
  outcome: z
    .enum(['success', 'failure', 'partial', 'blocked'])
    .optional()
    .describe('Final AOP status (default success); blocked asks a person'),
  failAttempts: z
    .int()
    .min(0)
    .max(20)
    .optional()
    .describe('The first N attempts fail with a transient error before the outcome applies'),
  summary: z.string().max(10_000).optional().describe('Summary text the simulated agent reports'),
  outputBytes: z
    .int()
    .min(0)
    .max(10_000_000)
    .optional()
    .describe('Size of the simulated full output written to the details file'),
  writes: z
    .array(
      z.strictObject({
        path: z.string().min(1),
        content: z.string().max(100_000),
        prepend: z.boolean().optional().describe('Put the content before what the file holds (a changelog entry)'),
      }),
    )
    .max(50)
    .optional()
    .describe(
      'Files the simulated agent writes in the workspace (workspace-relative), so a dry run changes real files',
    ),
});
export type DryRunBehaviour = z.infer<typeof DryRunBehaviour>;

export const TaskSpec = z.strictObject({
  id: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
      'expected a task id such as "1.1" (letters, digits, dot, dash, underscore)',
    ),
  description: z.string().min(1, 'expected a non-empty description'),
  kind: z.enum(['agent', 'command']).default('agent'),
  command: z.string().min(1).optional().describe('Shell command (kind: command), run in the workspace'),
  domain: z.enum(DOMAINS).default('general').describe('Specialist system prompt'),
  agent: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Assigned agent name, mirrored to PROGRESS.json; with agentRuntime claude-code, the agent .claude/agents/<name>.md in the workspace runs the task (its prompt, tools and model)',
    ),
  outputType: z.enum(OUTPUT_TYPES).default('code').describe('Caps the AOP summary length'),
  complexity: z.enum(COMPLEXITIES).default('default').describe('Picks the model when none is named'),
  model: z
    .string()
    .min(1)
    .optional()
    .describe('Model alias (haiku, sonnet, opus) or full id; overrides settings.model and complexity'),
  files: z.array(z.string().min(1)).default([]),
  dependsOn: z.array(z.string()).default([]).describe('Ids of tasks in the same phase that must complete first'),
  settings: ExecutionSettings.optional(),
  dryRun: DryRunBehaviour.optional(),
  status: z
    .enum(['pending', 'completed'])
    .optional()
    .describe('completed: already done before this run (an imported plan); the task does not run and shows completed'),
  source: z.string().min(1).optional().describe('Where the status came from, e.g. "imported"'),
});
export type TaskSpec = z.infer<typeof TaskSpec>;

export const GateCommand = z.union(
  [
    z.string().min(1),
    z.strictObject({
      run: z.string().min(1),
      timeoutSeconds: z.number().positive().max(86_400).optional(),
      name: z.string().min(1).optional(),
    }),
  ],
  { error: 'expected a command string, or an object {run, timeoutSeconds?, name?}' },
);
export type GateCommand = z.infer<typeof GateCommand>;

export const GateSpec = z.strictObject({
  commands: z.array(GateCommand).default([]).describe('All must exit 0 for the phase to pass'),
  successCriteria: z.array(z.string().min(1)).default([]),
  dryRunDebug: DryRunBehaviour.optional().describe(
    'dry-run: what the simulated debug agent does when this gate fails (settings.gateDebugAttempts > 0)',
  ),
});
export type GateSpec = z.infer<typeof GateSpec>;

export const PhaseSpec = z.strictObject({
  slug,
  title,
  description: z.string().default(''),
  settings: ExecutionSettings.optional(),
  tasks: z.array(TaskSpec).min(1, 'a phase needs at least one task'),
  gate: GateSpec.default({ commands: [], successCriteria: [] }),
  status: z
    .enum(['pending', 'completed', 'skipped'])
    .optional()
    .describe('completed or skipped before this run (an imported plan): no task and no gate runs'),
  source: z.string().min(1).optional().describe('Where the status came from, e.g. "imported"'),
});
export type PhaseSpec = z.infer<typeof PhaseSpec>;

/** Token and USD limits of a level (epic, roadmap, plan); a spent budget pauses the run and asks for a raise. */
export const Budget = z.strictObject({
  tokens: z.int().positive().optional(),
  usd: z.number().positive().optional(),
});

export const PlanSpec = z.strictObject({
  slug,
  title,
  description: z.string().default(''),
  settings: ExecutionSettings.optional(),
  budget: Budget.optional(),
  github: GithubSpec.optional().describe('Sync this plan to a GitHub issue (overrides the roadmap and epic)'),
  phases: z.array(PhaseSpec).min(1, 'a plan needs at least one phase'),
});
export type PlanSpec = z.infer<typeof PlanSpec>;

export const RoadmapSpec = z.strictObject({
  slug,
  title,
  description: z.string().default(''),
  settings: ExecutionSettings.optional(),
  budget: Budget.optional(),
  github: GithubSpec.optional().describe("Sync this roadmap's plans to GitHub (overrides the epic)"),
  plans: z.array(PlanSpec).min(1, 'a roadmap needs at least one plan'),
});
export type RoadmapSpec = z.infer<typeof RoadmapSpec>;

export const Gating = z.strictObject({
  require_tests: z.boolean().default(false).describe('Every phase must have at least one gate command'),
  require_phase_approval: z
    .boolean()
    .default(false)
    .describe('A passed phase waits for approval before the next starts'),
});

export const EpicSpec = z
  .strictObject({
    $schema: z.string().optional(),
    slug,
    title,
    description: z.string().default(''),
    workspace: z.string().min(1).describe('Directory the tasks work in; relative paths resolve against the spec file'),
    agentMode: z.enum(AGENT_MODES).default('claude').describe('dry-run simulates agents at no cost'),
    host: z
      .string()
      .regex(HOST_NAME, `expected a host name: ${HOST_NAME_RULE}`)
      .optional()
      .describe(
        "Worker host whose workers run this epic's workspace activities (phaseflow worker --host); set by phaseflow start --host",
      ),
    settings: ExecutionSettings.optional(),
    gating: Gating.default({ require_tests: false, require_phase_approval: false }),
    budget: Budget.default({}),
    tags: z.array(z.string()).default([]),
    git: GitSpec.optional().describe('A commit per phase on a branch (the workspace must be a git repository)'),
    github: GithubSpec.optional().describe('Sync progress to GitHub issues; answer questions from issue comments'),
    roadmaps: z.array(RoadmapSpec).min(1, 'an epic needs at least one roadmap'),
  })
  .superRefine((epic, ctx) => checkStructure(epic, (path, message) => ctx.addIssue({ code: 'custom', path, message })));
export type EpicSpec = z.infer<typeof EpicSpec>;
export type EpicSpecInput = z.input<typeof EpicSpec>;

/**
 * Cross-field rules zod cannot express field by field; each issue carries its exact path.
 * Tolerant of malformed input (it also runs on data that failed the shape checks, so a user
 * sees every problem at once).
 */
export function checkStructure(epic: any, report: (path: (string | number)[], message: string) => void): void {
  const arr = (v: unknown): any[] => (Array.isArray(v) ? v : []);
  // `roadmaps[0].plans[1]`: where the first use is, spelled like the path of the problem.
  const spell = (p: (string | number)[]) =>
    p.map((k, i) => (typeof k === 'number' ? `[${k}]` : i ? `.${k}` : k)).join('');
  /** `at(i)` is the id field's path; the first use is named by its item (the path without the field). */
  const dup = (
    items: any[],
    key: (t: any) => unknown,
    at: (i: number) => (string | number)[],
    what: (k: string) => string,
  ) => {
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      const k = key(item);
      if (typeof k !== 'string') return;
      const first = seen.get(k);
      if (first !== undefined)
        report(at(i), `duplicate ${what(`"${k}"`)}: already used by ${spell(at(first).slice(0, -1))}`);
      else seen.set(k, i);
    });
  };
  const roadmaps = arr(epic?.roadmaps);
  dup(
    roadmaps,
    (r) => r?.slug,
    (i) => ['roadmaps', i, 'slug'],
    (k) => `roadmap slug ${k}`,
  );
  // Plan slugs name the plan's files in the workspace (PROGRESS.json, logs, details), so they are
  // unique across the whole epic, not only within a roadmap.
  const everyPlan = roadmaps.flatMap((r, ri) =>
    arr(r?.plans).map((p, pi) => ({ p, at: ['roadmaps', ri, 'plans', pi] })),
  );
  dup(
    everyPlan,
    (x) => x.p?.slug,
    (i) => [...everyPlan[i].at, 'slug'],
    (k) => `plan slug ${k} (plan slugs name files in the workspace, so they are unique across the epic)`,
  );
  roadmaps.forEach((roadmap, ri) => {
    const plans = arr(roadmap?.plans);
    plans.forEach((plan, pi) => {
      const base = ['roadmaps', ri, 'plans', pi];
      const phases = arr(plan?.phases);
      dup(
        phases,
        (p) => p?.slug,
        (i) => [...base, 'phases', i, 'slug'],
        (k) => `phase slug ${k}`,
      );
      const allTasks = phases.flatMap((ph, phi) =>
        arr(ph?.tasks).map((t, ti) => ({ t, at: [...base, 'phases', phi, 'tasks', ti] })),
      );
      // Ids name a task's files and decisions within its plan, so they are unique across the plan's phases.
      dup(
        allTasks,
        (x) => x.t?.id,
        (i) => [...allTasks[i].at, 'id'],
        (k) => `task id ${k} in plan ${typeof plan?.slug === 'string' ? plan.slug : spell(base)}`,
      );
      phases.forEach((phase, phi) => {
        const at = [...base, 'phases', phi];
        const tasks = arr(phase?.tasks).filter((t) => t && typeof t === 'object');
        // A gate with a misspelt field (`command:`) already has its problem: do not add a second one.
        const gateTypo =
          phase?.gate && typeof phase.gate === 'object' && Object.keys(phase.gate).some((k) => !(k in GateSpec.shape));
        if (epic?.gating?.require_tests === true && arr(phase?.gate?.commands).length === 0 && !gateTypo) {
          report(
            [...at, 'gate', 'commands'],
            'gating.require_tests is set, so every phase needs at least one gate command',
          );
        }
        const ids = new Set(tasks.map((t) => t.id));
        arr(phase?.tasks).forEach((task, ti) => {
          if (!task || typeof task !== 'object') return;
          const tat = [...at, 'tasks', ti];
          const kind = task.kind ?? 'agent';
          if (kind === 'command' && !task.command)
            report([...tat, 'command'], 'a task of kind "command" needs a command');
          if (kind === 'agent' && task.command)
            report([...tat, 'command'], 'only tasks of kind "command" take a command; set kind: command or remove it');
          arr(task.dependsOn).forEach((dep, di) => {
            if (dep === task.id) report([...tat, 'dependsOn', di], `task "${task.id}" cannot depend on itself`);
            else if (!ids.has(dep))
              report(
                [...tat, 'dependsOn', di],
                `no task "${dep}" in this phase (dependsOn names tasks of the same phase: ${[...ids].join(', ')})`,
              );
          });
        });
        const cycle = findCycle(tasks.map((t) => ({ id: String(t.id), dependsOn: arr(t.dependsOn).map(String) })));
        if (cycle) {
          const ti = arr(phase?.tasks).findIndex((t) => t?.id === cycle[0]);
          report(
            [...at, 'tasks', ti, 'dependsOn'],
            `dependency cycle: ${cycle.length > 12 ? `${cycle.slice(0, 10).join(' -> ')} -> … (${cycle.length - 11} more) -> ${cycle[cycle.length - 1]}` : cycle.join(' -> ')}`,
          );
        }
      });
    });
  });
}

/** Returns one dependency cycle as a list of ids (first id repeated at the end), or null. Iterative: a 20,000-task chain must not overflow the stack. */
export function findCycle(tasks: Pick<TaskSpec, 'id' | 'dependsOn'>[]): string[] | null {
  const deps = new Map(tasks.map((t) => [t.id, t.dependsOn.filter((d) => d !== t.id && d !== undefined)]));
  const state = new Map<string, 'visiting' | 'done'>();
  for (const root of deps.keys()) {
    if (state.has(root)) continue;
    // Depth-first with an explicit stack of [id, index of the next dependency to look at].
    const stack: [string, number][] = [[root, 0]];
    state.set(root, 'visiting');
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const next = deps.get(top[0])![top[1]++];
      if (next === undefined) {
        state.set(top[0], 'done');
        stack.pop();
      } else if (deps.has(next) && state.get(next) === 'visiting') {
        const ids = stack.map(([id]) => id);
        return [...ids.slice(ids.indexOf(next)), next];
      } else if (deps.has(next) && !state.has(next)) {
        state.set(next, 'visiting');
        stack.push([next, 0]);
      }
    }
  }
  return null;
}
