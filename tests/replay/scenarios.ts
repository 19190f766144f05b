/**
 * The runs `npm run record:histories` records for the replay test. Each scenario is an epic run
 * on a real dev server with dry-run agents and real commands; every workflow run it starts (epic,
 * roadmaps, plans, phases, and any later run continued-as-new) is saved.
 *
 * To add one: append an entry, run `npm run record:histories`, commit the new files. `drive` is
 * where a scenario talks to the running epic (signals, updates, queries) before it ends.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { DecisionAnswer, PendingDecision } from '../../src/domain/decisions';
import { controlSignal, decideUpdate, pendingQuery } from '../../src/workflows/messages';
import { agentTask, FAST_SETTINGS, waitFor } from '../support/worker-harness';

export interface ScenarioRun {
  client: Client;
  /** The epic, started by the recorder. */
  handle: WorkflowHandle;
  workspace: string;
}

export interface Scenario {
  /** Directory name under histories/ and epic slug suffix: [a-z0-9-]. */
  name: string;
  /** One line: what this history exercises. */
  what: string;
  /** The epic input (given to epicWorkflow as is, so it may be invalid on purpose). `slug` is set by the recorder. */
  spec: (workspace: string) => Record<string, unknown>;
  expect: 'completed' | 'failed' | 'cancelled';
  drive?: (run: ScenarioRun) => Promise<void>;
}

/** Waits for the epic's next question of `kind` (not `after`) and answers it. */
async function answerNext(
  run: ScenarioRun,
  kind: PendingDecision['kind'],
  answer: DecisionAnswer,
  after?: PendingDecision,
): Promise<PendingDecision> {
  const q = await waitFor(
    `a ${kind} question`,
    async () => {
      const [p] = await run.handle.query(pendingQuery);
      return p?.kind === kind && p.id !== after?.id ? p : undefined;
    },
    60_000,
  );
  await run.client.workflow
    .getHandle(q.workflowId)
    .executeUpdate(decideUpdate, { args: [{ decisionId: q.id, by: 'recorder', ...answer }] });
  return q;
}

const PATIENT = { decisionTimeoutSeconds: 600 };

const cmd = (id: string, command: string, extra: Record<string, unknown> = {}) => ({
  id,
  description: `command ${id}`,
  kind: 'command',
  command,
  ...extra,
});

/** One roadmap `rm` with one plan `plan` holding `phases`. */
const onePlan = (phases: unknown[], settings: object = {}) => ({
  title: 'Replay scenario',
  agentMode: 'dry-run',
  settings: { ...FAST_SETTINGS, ...settings },
  roadmaps: [{ slug: 'rm', title: 'Roadmap', plans: [{ slug: 'plan', title: 'Plan', phases }] }],
});

export const SCENARIOS: Scenario[] = [
  {
    name: 'completed',
    what: 'a normal epic: 2 roadmaps, 3 plans, 4 phases; agents and commands in parallel under a cap, dependsOn, passing gates',
    expect: 'completed',
    spec: () => ({
      title: 'Replay: completed',
      agentMode: 'dry-run',
      settings: { ...FAST_SETTINGS, maxParallel: 2 },
      roadmaps: [
        {
          slug: 'build',
          title: 'Build',
          plans: [
            {
              slug: 'core',
              title: 'Core',
              phases: [
                {
                  slug: 'models',
                  title: 'Models',
                  tasks: [
                    agentTask('1.1', 150),
                    agentTask('1.2', 100),
                    cmd('1.3', 'echo made > made.txt', { dependsOn: ['1.1'] }),
                  ],
                  gate: { commands: ['test -s made.txt'], successCriteria: ['made.txt exists'] },
                },
                {
                  slug: 'api',
                  title: 'API',
                  tasks: [agentTask('2.1', 100), agentTask('2.2', 120, { dependsOn: ['2.1'] })],
                },
              ],
            },
            {
              slug: 'docs',
              title: 'Docs',
              phases: [
                {
                  slug: 'write',
                  title: 'Write',
                  tasks: [agentTask('1', 80, { domain: 'general', outputType: 'analysis' })],
                },
              ],
            },
          ],
        },
        {
          slug: 'ship',
          title: 'Ship',
          plans: [
            {
              slug: 'release',
              title: 'Release',
              phases: [{ slug: 'tag', title: 'Tag', tasks: [cmd('1', 'true')], gate: { commands: ['true'] } }],
            },
          ],
        },
      ],
    }),
  },
  {
    name: 'task-fails',
    what: 'an agent reports failure on its last attempt: its dependant never starts, the phase, plan, roadmap and epic fail, phase 2 never runs',
    expect: 'failed',
    spec: () =>
      onePlan([
        {
          slug: 'one',
          title: 'One',
          tasks: [
            agentTask('a', 100),
            agentTask('b', 100, { dryRun: { outcome: 'failure' }, settings: { attempts: 2 } }),
            agentTask('c', 100, { dependsOn: ['b'] }),
          ],
        },
        { slug: 'two', title: 'Two', tasks: [agentTask('d', 100)] },
      ]),
  },
  {
    name: 'gate-fails',
    what: 'all tasks complete but a gate command exits non-zero: the phase fails at its gate',
    expect: 'failed',
    spec: () =>
      onePlan([
        {
          slug: 'one',
          title: 'One',
          tasks: [cmd('a', 'true')],
          gate: { commands: ['true', { name: 'lint', run: 'exit 3' }] },
        },
      ]),
  },
  {
    name: 'retries',
    what: 'the retry ladder: transient agent failures (failAttempts), a command that fails once, an attempt that times out, backoff timers',
    expect: 'completed',
    spec: () =>
      onePlan([
        {
          slug: 'one',
          title: 'One',
          tasks: [
            agentTask('flaky', 50, { dryRun: { failAttempts: 2 } }),
            cmd('once', 'test -f .tried || { touch .tried; exit 1; }'),
            // 1 s for attempt 1 (the 1.5 s simulated agent times out), 4 s for attempt 2.
            agentTask('slow', 1500, { settings: { timeoutBaseSeconds: 1, timeoutFactor: 4 } }),
          ],
        },
      ]),
  },
  {
    name: 'shared-files',
    what: 'tasks of a phase that declare the same file never overlap (patch tasks-sharing-files-never-overlap); the others run beside them',
    expect: 'completed',
    spec: () =>
      onePlan([
        {
          slug: 'one',
          title: 'One',
          tasks: [
            agentTask('a', 300, { files: ['src/app.ts'] }),
            agentTask('b', 300, { files: ['./src/app.ts'] }),
            agentTask('c', 300, { files: ['src/other.ts'] }),
          ],
        },
      ]),
  },
  {
    name: 'invalid-spec',
    what: 'an epic started with an invalid spec fails at once with InvalidSpec and starts nothing',
    expect: 'failed',
    spec: () => ({ title: 'Replay: invalid', roadmaps: [{ slug: 'Not A Slug', title: 'x', plans: [] }] }),
  },
  {
    name: 'decisions',
    what: 'people in the loop: a failed task retried, a failed gate skipped, approvals, a budget raise, a blocked agent left to its default',
    expect: 'completed',
    spec: () => ({
      ...onePlan(
        [
          {
            slug: 'budget',
            title: 'Budget',
            settings: { maxParallel: 1 },
            tasks: [agentTask('1.1', 30), agentTask('1.2', 30)],
          },
          {
            slug: 'retry',
            title: 'Retry',
            tasks: [
              agentTask('2.1', 30, { settings: { attempts: 1 }, dryRun: { durationMs: 30, failAttempts: 1 } }),
              agentTask('2.2', 30),
            ],
          },
          { slug: 'skip', title: 'Skip', tasks: [cmd('3.1', 'true')], gate: { commands: ['exit 1'] } },
          {
            slug: 'blocked',
            title: 'Blocked',
            settings: { decisionTimeoutSeconds: 1, escalationDefault: 'skip' },
            tasks: [agentTask('4.1', 30, { dryRun: { durationMs: 30, outcome: 'blocked' } })],
          },
        ],
        PATIENT,
      ),
      gating: { require_tests: false, require_phase_approval: true },
      budget: { tokens: 1000 },
    }),
    drive: async (run) => {
      await answerNext(run, 'budget', { action: 'raise', tokens: 1_000_000 });
      const a1 = await answerNext(run, 'approval', { action: 'approve' });
      const retry = await answerNext(run, 'escalation', { action: 'retry', note: 'flaky' });
      await answerNext(run, 'approval', { action: 'approve' }, a1);
      await answerNext(run, 'escalation', { action: 'skip' }, retry);
      // The blocked phase takes its default (skip) after 1 s.
    },
  },
  {
    name: 'pause-and-cancel',
    what: 'pause and resume passed down to a running phase, then the epic cancelled with a task running',
    expect: 'cancelled',
    spec: () =>
      onePlan([
        {
          slug: 'one',
          title: 'One',
          settings: { maxParallel: 1, timeoutBaseSeconds: 120 },
          tasks: [agentTask('1', 400), agentTask('2', 20), agentTask('3', 60_000)],
        },
      ]),
    drive: async (run) => {
      await new Promise((r) => setTimeout(r, 200));
      await run.handle.signal(controlSignal, { paused: true, by: 'recorder' });
      await new Promise((r) => setTimeout(r, 1500));
      await run.handle.signal(controlSignal, { paused: false, by: 'recorder' });
      await new Promise((r) => setTimeout(r, 2500));
      await run.handle.cancel();
    },
  },
  {
    name: 'continue-as-new',
    what: 'histories past historyEventsLimit: epic, roadmaps, plans and phases continue as new and carry their state',
    expect: 'completed',
    spec: () => ({
      title: 'Replay: continue-as-new',
      agentMode: 'dry-run',
      settings: { ...FAST_SETTINGS, maxParallel: 2, historyEventsLimit: 30 },
      roadmaps: ['r1', 'r2'].map((r) => ({
        slug: r,
        title: r,
        plans: ['a', 'b'].map((p) => ({
          slug: `${r}-${p}`,
          title: p,
          phases: [1, 2].map((n) => ({
            slug: `p${n}`,
            title: `P${n}`,
            tasks: Array.from({ length: 8 }, (_, i) => agentTask(`${n}.${i + 1}`, 10)),
          })),
        })),
      })),
    }),
  },
];
