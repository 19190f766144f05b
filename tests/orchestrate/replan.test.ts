/**
 * Re-planning a running epic on the real Temporal server, through `phaseflow replan` (the built
 * CLI) and the `replan` update: a phase added to the Markdown plan of a running epic runs; a
 * replan that touches a completed phase is refused with its reason and changes nothing.
 */
import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { EpicSpec } from '../../src/domain/spec';
import { exportMarkdown } from '../../src/plans/markdown-export';
import { planViewQuery, replanUpdate } from '../../src/workflows/messages';
import { phaseflow, shown } from '../cli/run-cli';
import { epicSpec, ids, startEpic, tempWorkspace, uniqueName, waitFor, withWorker } from '../support/worker-harness';
import { testClient } from '../support/worker-harness';

function twoPhaseEpic(ws: string, slug: string, firstMs: number, secondMs: number): EpicSpec {
  return epicSpec({
    slug,
    title: 'Replan me',
    workspace: ws,
    settings: { timeoutBaseSeconds: 30, retryBackoffSeconds: 0.2, heartbeatSeconds: 5 },
    roadmaps: [
      {
        slug: 'rm',
        title: 'Roadmap',
        plans: [
          {
            slug: 'greeter',
            title: 'Greeter',
            phases: [
              {
                slug: 'first',
                title: 'First',
                tasks: [{ id: '1.1', description: 'Start', dryRun: { durationMs: firstMs } }],
              },
              {
                slug: 'second',
                title: 'Second',
                tasks: [{ id: '2.1', description: 'Go on', dryRun: { durationMs: secondMs } }],
              },
            ],
          },
        ],
      },
    ],
  });
}

const progressOf = (ws: string) =>
  JSON.parse(readFileSync(path.join(ws, '.claude/phase-plans/greeter/PROGRESS.json'), 'utf8'));

describe('replan a running epic (real server, phaseflow replan)', function () {
  this.timeout(180_000);

  it('a phase added to the Markdown plan of a running epic runs, and the replan is a decision in PROGRESS.json', async () => {
    const ws = tempWorkspace('phaseflow-replan-');
    const slug = uniqueName('replan').slice(0, 40);
    const spec = twoPhaseEpic(ws, slug, 6000, 300);
    const taskQueue = uniqueName('replan-q');
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      const planId = `${ids.epic(slug)}/rm/greeter`;
      const client = await testClient();
      await waitFor('phase 1 running', async () => {
        const view = await client.workflow
          .getHandle(planId)
          .query(planViewQuery)
          .catch(() => undefined);
        return view?.phases[0].status === 'active';
      });
      // The user edits the Markdown plan: a third phase at the end.
      const [[name, text]] = [...exportMarkdown(spec, 0)];
      const md = path.join(ws, name);
      writeFileSync(md, `${text}\n### Phase 3: Docs\n\n- [ ] Write the docs\n`);
      const r = await phaseflow(['replan', ids.epic(slug), md, '--note', 'docs too']);
      assert.equal(r.code, 0, shown(r));
      assert.match(r.stdout, /^\+ *- slug: phase-3-docs/m, shown(r));
      assert.match(
        r.stdout,
        /replan applied between phases: added phase-3-docs \(now 3 phases\); kept 1 started phase/,
      );
      await handle.result();
    });
    const progress = progressOf(ws);
    assert.deepEqual(
      progress.phases.map((p: any) => [p.slug, p.status]),
      [
        ['first', 'completed'],
        ['second', 'completed'],
        ['phase-3-docs', 'completed'],
      ],
    );
    const decision = progress.decisions.find((d: any) => d.kind === 'replan');
    assert.ok(decision, JSON.stringify(progress.decisions));
    assert.match(decision.question, /added phase-3-docs/);
    assert.equal(decision.note, 'docs too');
    const epic = JSON.parse(readFileSync(path.join(ws, `.claude/epics/${slug}/EPIC.json`), 'utf8'));
    assert.equal(epic.status, 'completed');
  });

  it('a replan that changes a completed phase is refused with its reason; nothing changes', async () => {
    const ws = tempWorkspace('phaseflow-replan-');
    const slug = uniqueName('replan').slice(0, 40);
    const spec = twoPhaseEpic(ws, slug, 200, 8000);
    const taskQueue = uniqueName('replan-q');
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      const planId = `${ids.epic(slug)}/rm/greeter`;
      const client = await testClient();
      await waitFor('phase 1 completed', async () => {
        const view = await client.workflow
          .getHandle(planId)
          .query(planViewQuery)
          .catch(() => undefined);
        return view?.phases[0].status === 'completed' && view.phases[1].status === 'active';
      });
      const changed = structuredClone(spec);
      changed.roadmaps[0].plans[0].phases[0].tasks[0].description = 'Start differently';
      changed.roadmaps[0].plans[0].phases.push({ ...changed.roadmaps[0].plans[0].phases[1], slug: 'third' });
      changed.roadmaps[0].plans[0].phases[2].tasks = [
        { ...changed.roadmaps[0].plans[0].phases[2].tasks[0], id: '3.1' },
      ];
      const file = path.join(ws, 'changed.json');
      writeFileSync(file, JSON.stringify(changed));
      const r = await phaseflow(['replan', slug, file]);
      assert.equal(r.code, 1, shown(r));
      assert.match(
        r.stderr,
        /replan refused: plan greeter: phases\[0\]\.tasks\[0\]\.description would change; phase 1 \(first\) is completed: completed and running phases never change; nothing changed/,
      );
      // Sent past the CLI, the workflow refuses it too (its validator: nothing enters history).
      await assert.rejects(
        client.workflow
          .getHandle(planId)
          .executeUpdate(replanUpdate, { args: [{ plan: changed.roadmaps[0].plans[0] }] }),
        (err: Error) => /phase 1 \(first\) is completed/.test(`${err.message} ${(err.cause as Error)?.message}`),
      );
      // The running phase cannot change either.
      const running = structuredClone(spec);
      running.roadmaps[0].plans[0].phases[1].title = 'Second, renamed';
      await assert.rejects(
        client.workflow
          .getHandle(planId)
          .executeUpdate(replanUpdate, { args: [{ plan: running.roadmaps[0].plans[0] }] }),
        (err: Error) => /phase 2 \(second\) is active/.test(`${err.message} ${(err.cause as Error)?.message}`),
      );
      await handle.result();
    });
    const progress = progressOf(ws);
    assert.deepEqual(
      progress.phases.map((p: any) => p.slug),
      ['first', 'second'],
    );
    assert.equal(progress.decisions.filter((d: any) => d.kind === 'replan').length, 0);
  });
});
