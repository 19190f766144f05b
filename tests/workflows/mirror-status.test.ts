/**
 * What the mirrors and the status tree say while a run waits, on a real server: every mirror
 * agrees on "paused" and "waiting" (in phaseflow.status, and in CCASP's status where CCASP has the
 * word), ROADMAP.json counts phases, a passed gate is in PROGRESS.json while its phase waits for
 * approval, and every level of the status tree shows the same spend while a budget question waits.
 */
import { strict as assert } from 'node:assert';
import type { WorkflowHandle } from '@temporalio/client';
import type { PendingDecision } from '../../src/domain/decisions';
import { totalTokens } from '../../src/domain/types';
import { controlSignal, decideUpdate, pendingQuery, type StatusNode, statusQuery } from '../../src/workflows/messages';
import { ccaspProblems } from '../support/ccasp';
import {
  agentTask,
  epicSpec,
  FAST_SETTINGS,
  ids,
  mirrorFile,
  startEpic,
  tempWorkspace,
  testClient,
  tryReadJson,
  uniqueName,
  waitFor,
  withWorker,
} from '../support/worker-harness';

const R = 'delivery';
/** People answer within minutes in these tests. */
const PATIENT = { ...FAST_SETTINGS, decisionTimeoutSeconds: 600 };

function setup(prefix: string) {
  return { slug: uniqueName(prefix), taskQueue: uniqueName(`tq-${prefix}`), ws: tempWorkspace() };
}

/** The four mirrors of a one-roadmap epic as they are on disk now (undefined while missing). */
function mirrors(ws: string, slug: string, plan: string) {
  return {
    epic: tryReadJson(mirrorFile.epic(ws, slug)),
    roadmap: tryReadJson(mirrorFile.roadmap(ws, R)),
    progress: tryReadJson(mirrorFile.progress(ws, plan)),
    state: tryReadJson(mirrorFile.state(ws)),
  };
}

function assertValid(docs: ReturnType<typeof mirrors>): void {
  for (const kind of ['epic', 'roadmap', 'progress', 'state'] as const)
    assert.deepEqual(ccaspProblems(kind, docs[kind]), [], `${kind} mirror validates against CCASP`);
}

/** Total tokens of a mirror's usage block. */
const docTokens = (u: {
  input_tokens: number;
  output_tokens: number;
  cache_write_tokens: number;
  cache_read_tokens: number;
}) => u.input_tokens + u.output_tokens + u.cache_write_tokens + u.cache_read_tokens;

const shown = (docs: ReturnType<typeof mirrors>) => [
  docs.epic?.phaseflow?.status,
  docs.roadmap?.phaseflow?.status,
  docs.progress?.phaseflow?.status,
  docs.state?.phaseflow?.status,
];

async function waitForQuestion(handle: WorkflowHandle, kind: PendingDecision['kind']): Promise<PendingDecision> {
  return waitFor(
    `a pending ${kind} decision`,
    async () => {
      const p = (await handle.query(pendingQuery))[0];
      return p?.kind === kind ? p : undefined;
    },
    30_000,
  );
}

async function answer(p: PendingDecision, a: { action: string; tokens?: number }) {
  const client = await testClient();
  return client.workflow
    .getHandle(p.workflowId)
    .executeUpdate(decideUpdate, { args: [{ decisionId: p.id, by: 'tester', ...a } as any] });
}

/** Each level's own status node (not the nested tree): what its workflow knows itself. */
async function levelNodes(
  slug: string,
  plan: string,
  phase: string,
): Promise<Record<'epic' | 'roadmap' | 'plan' | 'phase', StatusNode>> {
  const client = await testClient();
  const q = (id: string) => client.workflow.getHandle(id).query(statusQuery);
  const [epic, roadmap, planNode, phaseNode] = await Promise.all([
    q(ids.epic(slug)),
    q(ids.roadmap(slug, R)),
    q(ids.plan(slug, R, plan)),
    q(ids.phase(slug, R, plan, phase)),
  ]);
  return { epic, roadmap, plan: planNode, phase: phaseNode };
}

describe('mirrors and the status tree while a run waits (real server)', function () {
  this.timeout(120_000);

  it('a paused epic is paused in EPIC.json, ROADMAP.json, PROGRESS.json and state.json; ROADMAP.json counts the phases of all its plans', async () => {
    const { slug, taskQueue, ws } = setup('mpause');
    const phase = (s: string, ms = 20) => ({ slug: s, title: `Phase ${s}`, tasks: [agentTask(`${s}.1`, ms)] });
    // 2 plans with 3 + 2 phases: the roadmap estimates 5 phases, not 2 (its plan count).
    const spec = epicSpec({
      slug,
      title: `Epic ${slug}`,
      workspace: ws,
      settings: PATIENT,
      roadmaps: [
        {
          slug: R,
          title: 'Delivery',
          plans: [
            {
              slug: 'core',
              title: 'Core',
              phases: [
                {
                  ...phase('one'),
                  tasks: [agentTask('one.1', 1500), agentTask('one.2', 20, { dependsOn: ['one.1'] })],
                },
                phase('two'),
                phase('three'),
              ],
            },
            { slug: 'extra', title: 'Extra', phases: [phase('four'), phase('five')] },
          ],
        },
      ],
    });
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      await waitFor(
        'task one.1 running',
        () => mirrors(ws, slug, 'core').progress?.phases?.[0]?.tasks?.[0]?.status === 'running',
        20_000,
        50,
      );
      await handle.signal(controlSignal, { paused: true, by: 'tester' });

      // one.1 finishes; one.2 is held. Every mirror says paused, and the level usages agree.
      const docs = await waitFor(
        'every mirror says paused after one.1 completed',
        () => {
          const d = mirrors(ws, slug, 'core');
          const done = d.progress?.phases?.[0]?.tasks?.[0]?.status === 'completed';
          return done &&
            shown(d).every((s) => s === 'paused') &&
            d.epic.phaseflow.usage.output_tokens === d.progress.phaseflow.usage.output_tokens
            ? d
            : undefined;
        },
        20_000,
      );
      assertValid(docs);
      // CCASP's status says paused wherever its schema has the word (an epic's has not: "active").
      assert.equal(docs.roadmap.status, 'paused');
      assert.equal(docs.progress.status, 'paused');
      assert.equal(docs.progress.phases[0].status, 'paused', 'the running phase of a paused plan is paused');
      assert.equal(docs.state.status, 'paused');
      assert.equal(docs.epic.status, 'active');
      assert.equal(docs.epic.phaseflow.status, 'paused');
      assert.deepEqual(docs.epic.phaseflow.usage, docs.roadmap.phaseflow.usage);
      assert.deepEqual(docs.roadmap.phaseflow.usage, docs.progress.phaseflow.usage);
      assert.equal(docs.roadmap.estimated_phases, 5);
      assert.equal(docs.epic.roadmaps[0].estimated_phases, 5);

      // The status tree: the same status and spend at every level.
      const nodes = await levelNodes(slug, 'core', 'one');
      assert.deepEqual(
        Object.values(nodes).map((n) => n.status),
        ['paused', 'paused', 'paused', 'paused'],
      );
      assert.ok(totalTokens(nodes.phase.usage) > 0);
      for (const level of ['epic', 'roadmap', 'plan'] as const)
        assert.deepEqual(nodes[level].usage, nodes.phase.usage, `${level} shows the phase's spend`);
      assert.equal(nodes.epic.tasksCompleted, 1);

      await handle.signal(controlSignal, { paused: false, by: 'tester' });
      await handle.result();
    });
    const end = mirrors(ws, slug, 'core');
    assertValid(end);
    assert.deepEqual(shown(end), ['completed', 'completed', 'completed', 'completed']);
    assert.deepEqual(
      [end.epic.status, end.roadmap.status, end.progress.status],
      ['completed', 'completed', 'completed'],
    );
    assert.equal(end.roadmap.estimated_phases, 5);
  });

  it('a passed gate is in PROGRESS.json while its phase waits for approval, and every mirror says waiting', async () => {
    const { slug, taskQueue, ws } = setup('mgate');
    const spec = epicSpec({
      slug,
      title: `Epic ${slug}`,
      workspace: ws,
      settings: PATIENT,
      gating: { require_tests: false, require_phase_approval: true },
      roadmaps: [
        {
          slug: R,
          title: 'Delivery',
          plans: [
            {
              slug: 'core',
              title: 'Core',
              phases: [
                {
                  slug: 'design',
                  title: 'Design',
                  tasks: [agentTask('1.1', 20)],
                  gate: { commands: ['echo gate-ok'] },
                },
                { slug: 'build', title: 'Build', tasks: [agentTask('2.1', 20)] },
              ],
            },
          ],
        },
      ],
    });
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      const q = await waitForQuestion(handle, 'approval');
      assert.equal(q.phaseSlug, 'design');
      const docs = await waitFor('PROGRESS.json has the gate while the phase waits', () => {
        const d = mirrors(ws, slug, 'core');
        return d.progress?.phases?.[0]?.gate && shown(d).every((s) => s === 'waiting') ? d : undefined;
      });
      assertValid(docs);
      const gate = docs.progress.phases[0].gate;
      assert.equal(gate.passed, true);
      assert.deepEqual(
        gate.checks.map((c: any) => [c.command, c.exit_code, c.passed]),
        [['echo gate-ok', 0, true]],
      );
      assert.equal(docs.progress.phases[0].phaseflow_status, 'waiting');
      assert.equal(docs.progress.phases[1].status, 'pending');
      assert.equal(docs.progress.waiting_for.id, q.id);
      // CCASP: waiting on a person is "blocked" for epics and roadmaps, "paused" for plans.
      assert.deepEqual(
        [docs.epic.status, docs.roadmap.status, docs.progress.status, docs.state.status],
        ['blocked', 'blocked', 'paused', 'paused'],
      );
      const nodes = await levelNodes(slug, 'core', 'design');
      assert.deepEqual(
        Object.values(nodes).map((n) => n.status),
        ['waiting', 'waiting', 'waiting', 'waiting'],
      );

      await answer(q, { action: 'approve' });
      const second = await waitFor(
        'the second approval',
        async () => {
          const p = (await handle.query(pendingQuery))[0];
          return p && p.id !== q.id ? p : undefined;
        },
        30_000,
      );
      await answer(second, { action: 'approve' });
      await handle.result();
    });
    const end = mirrors(ws, slug, 'core');
    assertValid(end);
    assert.equal(end.progress.phases[0].gate.passed, true);
    assert.equal(end.progress.phases[0].status, 'completed');
    assert.equal(end.progress.phases[0].phaseflow_status, undefined);
  });

  it('while a budget question waits, every level shows the same spend, and the epic budget line is what the question says', async () => {
    const { slug, taskQueue, ws } = setup('mbudget');
    // A dry-run agent task reports 1,200-5,800 tokens: after 1.1 the epic budget of 1,000 is spent; 1.2
    // (already running) ends later, just before the question goes up, so its update may reach the
    // plan after the question did (the race that left the epic and roadmap showing 1.1's spend only).
    const spec = epicSpec({
      slug,
      title: `Epic ${slug}`,
      workspace: ws,
      settings: PATIENT,
      budget: { tokens: 1000 },
      roadmaps: [
        {
          slug: R,
          title: 'Delivery',
          plans: [
            {
              slug: 'core',
              title: 'Core',
              phases: [
                {
                  slug: 'build',
                  title: 'Build',
                  settings: { maxParallel: 2 },
                  tasks: [agentTask('1.1', 5), agentTask('1.2', 40), agentTask('1.3', 5)],
                },
              ],
            },
          ],
        },
      ],
    });
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      const q = await waitForQuestion(handle, 'budget');
      assert.equal(q.budgetLevel, 'epic');
      const nodes = await waitFor(
        'every level shows the spend of tasks 1.1 and 1.2',
        async () => {
          const n = await levelNodes(slug, 'core', 'build');
          const spent = n.phase.usage;
          return n.phase.tasksCompleted === 2 &&
            (['epic', 'roadmap', 'plan'] as const).every((l) => JSON.stringify(n[l].usage) === JSON.stringify(spent))
            ? n
            : undefined;
        },
        10_000,
      );
      const spent = totalTokens(nodes.phase.usage);
      assert.ok(spent > 1000, `the phase spent more than the budget (${spent})`);
      for (const level of ['epic', 'roadmap', 'plan', 'phase'] as const)
        assert.equal(nodes[level].tasksCompleted, 2, `${level}: 2 tasks completed`);
      assert.deepEqual(nodes.epic.budget, {
        limit: { tokens: 1000 },
        usedTokens: spent,
        usedUsd: nodes.phase.usage.costUsd,
      });
      for (const level of ['roadmap', 'plan'] as const)
        assert.equal(nodes[level].budget?.usedTokens, spent, `${level} budget line`);
      // The question states the same spend as the epic's budget line.
      assert.ok(
        q.detail.replace(/,/g, '').includes(String(spent)),
        `question detail "${q.detail}" names the ${spent} tokens spent`,
      );
      // And so do the mirrors.
      const docs = await waitFor('EPIC.json, ROADMAP.json and PROGRESS.json show the spend', () => {
        const d = mirrors(ws, slug, 'core');
        return d.epic?.token_budget?.used_tokens === spent &&
          [d.epic, d.roadmap, d.progress].every((m) => m && docTokens(m.phaseflow.usage) === spent)
          ? d
          : undefined;
      });
      assertValid(docs);

      await answer(q, { action: 'raise', tokens: 1_000_000 });
      await handle.result();
    });
    const end = mirrors(ws, slug, 'core');
    assertValid(end);
    assert.equal(end.epic.token_budget.used_tokens, docTokens(end.progress.phaseflow.usage));
  });
});
