/**
 * `phaseflow expand|collapse` as a durable workflow on the real Temporal server: the plan is
 * checkpointed, the specialists run in parallel, the diff waits for approval; an approved
 * expansion moves the plan from Level 0 to 1 as recommended (metadata kept true, the tasks
 * unchanged) and collapse brings it back; a rejected diff changes nothing; a failed expansion
 * restores the checkpoint byte for byte; a partial failure keeps the successful operations when
 * the person says so, or retries the failed ones.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { DecisionAction, PendingDecision } from '../../src/domain/decisions';
import { EpicSpec } from '../../src/domain/spec';
import { importPlans } from '../../src/plans/import';
import { decideUpdate, pendingQuery } from '../../src/workflows/messages';
import { planReshapeWorkflow } from '../../src/workflows/plan-reshape';
import type { ReshapeInput, ReshapeOutcome } from '../../src/workflows/reshape-run';
import { phaseflow, startPhaseflow } from '../cli/run-cli';
import { FakeAnthropic, reply } from '../fake-anthropic/server';
import { testTemporal } from '../support/temporal-server';
import { tempWorkspace, testClient, uniqueName, waitFor, withWorker } from '../support/worker-harness';

/** A Level-0 plan: phase 2 is big (complexity 10), phases 1 and 3 small. */
function writePlan(dir: string): string {
  const big = Array.from(
    { length: 40 },
    (_, i) =>
      `- [${i < 5 ? 'x' : ' '}] Migrate \`src/module${i % 8}/part${i}.ts\` to the new storage API and update its callers`,
  ).join('\n');
  const text = [
    '# Implementation Plan: Storage Migration',
    '',
    '## Metadata',
    '- **Date**: 2026-03-01',
    '- **Structure Level**: 0',
    '',
    '## Implementation Phases',
    '',
    '### Phase 1: Inventory [COMPLETED]',
    '**Objective**: List the modules',
    '',
    '- [x] List modules',
    '',
    '### Phase 2: Migrate Modules',
    `**Objective**: ${'Move every module to the new storage API without downtime. '.repeat(30)}`,
    '',
    big,
    '',
    '#### Testing',
    '```bash',
    '# one check per module',
    'test -d .',
    '```',
    '',
    '### Phase 3: Cleanup',
    '- [ ] Remove the old storage layer',
    '',
  ].join('\n');
  mkdirSync(path.join(dir, '.claude'), { recursive: true });
  mkdirSync(path.join(dir, 'specs', 'plans'), { recursive: true });
  const file = path.join(dir, 'specs', 'plans', '001_storage_migration.md');
  writeFileSync(file, text);
  return file;
}

/** Every file under the plans directory, path → bytes. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = path.join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(path.relative(dir, p), readFileSync(p, 'latin1'));
    }
  };
  walk(dir);
  return out;
}

const tasksOf = (planPath: string) =>
  EpicSpec.parse(importPlans([planPath]).spec).roadmaps[0].plans[0].phases.flatMap((p) =>
    p.tasks.map((t) => [t.description, t.status ?? 'pending']),
  );

/** The whole imported spec, without where each status came from (file and line differ by level). */
const specOf = (p: string) =>
  JSON.parse(
    JSON.stringify(EpicSpec.parse(importPlans([p]).spec), (k, v) => (k === 'source' ? undefined : v)),
  ) as unknown;

async function nextQuestion(handle: WorkflowHandle, kind: PendingDecision['kind']): Promise<PendingDecision> {
  return waitFor(
    `a pending ${kind} decision`,
    async () => (await handle.query(pendingQuery)).find((p) => p.kind === kind),
    30_000,
  );
}

async function answer(handle: WorkflowHandle, p: PendingDecision, action: DecisionAction): Promise<void> {
  await handle.executeUpdate(decideUpdate, { args: [{ action, decisionId: p.id, by: 'test' }] });
}

describe('expand and collapse (durable workflow, real server)', function () {
  this.timeout(120_000);
  const taskQueue = uniqueName('tq-reshape');
  const start = async (input: Omit<ReshapeInput, 'decisionTimeoutSeconds'> & { decisionTimeoutSeconds?: number }) =>
    (await testClient()).workflow.start(planReshapeWorkflow, {
      workflowId: uniqueName('reshape'),
      taskQueue,
      args: [{ decisionTimeoutSeconds: 60, ...input }],
    });

  it('--auto expands the phase the analysis recommends after approval; collapse brings it back', async () => {
    const ws = tempWorkspace();
    const plan = writePlan(ws);
    const before = tasksOf(plan);
    await withWorker(taskQueue, async () => {
      const h = await start({ planPath: plan, op: 'expand', auto: true });
      const q = await nextQuestion(h, 'approval');
      assert.match(q.question, /apply the expand of phases 2\? 3 file\(s\) changed/);
      const diffFile = /plan diff: (.*)$/.exec(q.detail)![1];
      assert.match(readFileSync(diffFile, 'utf8'), /\+\+\+ b\/001_storage_migration\/phase_2_migrate_modules\.md/);
      await answer(h, q, 'approve');
      const o: ReshapeOutcome = await h.result();
      assert.equal(o.status, 'applied');
      assert.deepEqual(o.phases, ['2']);
      assert.ok(existsSync(path.join(o.checkpoint!, 'manifest.json')));
      assert.match(o.checkpoint!, /\.claude\/checkpoints\/parallel_ops\/parallel_expand_001_storage_migration_/);
      // Level 1 now: a directory with the main plan and phase 2's file; the metadata says so.
      const dir = path.join(ws, 'specs', 'plans', '001_storage_migration');
      assert.ok(!existsSync(plan));
      const main = readFileSync(path.join(dir, '001_storage_migration.md'), 'utf8');
      assert.match(main, /- \*\*Structure Level\*\*: 1\n/);
      assert.match(main, /- \*\*Expanded Phases\*\*: \[2\]/);
      assert.match(main, /### Phase 2: Migrate Modules \[EXPANDED\]/);
      assert.match(readFileSync(path.join(dir, 'phase_2_migrate_modules.md'), 'utf8'), /^# Phase 2: Migrate Modules\n/);
      // The same tasks with the same status; the second-round analysis finds nothing more to expand.
      assert.deepEqual(tasksOf(dir), before);
      assert.deepEqual(o.nextCandidates, []);

      const c = await start({ planPath: dir, op: 'collapse', phases: ['2'] });
      await answer(c, await nextQuestion(c, 'approval'), 'approve');
      assert.equal((await c.result()).status, 'applied');
      assert.ok(existsSync(plan) && !existsSync(dir), 'back to one Level-0 file');
      assert.match(readFileSync(plan, 'utf8'), /- \*\*Structure Level\*\*: 0\n- \*\*Expanded Phases\*\*: \[\]/);
      assert.deepEqual(tasksOf(plan), before);
    });
  });

  it('Level 2: a phase file splits into a phase directory with stages, and collapses back (same spec)', async () => {
    const ws = tempWorkspace();
    const plan = writePlan(ws);
    const dir = path.join(ws, 'specs', 'plans', '001_storage_migration');
    const phaseDir = path.join(dir, 'phase_2_migrate_modules');
    const approved = async (input: Omit<ReshapeInput, 'decisionTimeoutSeconds'>) => {
      const h = await start(input);
      await answer(h, await nextQuestion(h, 'approval'), 'approve');
      const o: ReshapeOutcome = await h.result();
      assert.equal(o.status, 'applied');
      return o;
    };
    const metadataWarnings = (p: string) =>
      importPlans([p]).warnings.filter((w) => /Structure Level|Expanded Phases/.test(w.message));
    await withWorker(taskQueue, async () => {
      await approved({ planPath: plan, op: 'expand', phases: ['2'] }); // Level 0 → 1
      const level1 = specOf(dir);
      const l1Files = snapshot(dir);

      const o = await approved({ planPath: dir, op: 'expand', phases: ['2'] }); // Level 1 → 2
      assert.match(o.operations[0].summary, /phase 2 \(Migrate Modules\): 40 tasks in 8 stage\(s\)/);
      assert.ok(!existsSync(path.join(dir, 'phase_2_migrate_modules.md')));
      assert.deepEqual(
        readdirSync(phaseDir).sort(),
        ['phase_2_migrate_modules.md', ...Array.from({ length: 8 }, (_, i) => `stage_${i + 1}_tasks.md`)].sort(),
      );
      const main = readFileSync(path.join(dir, '001_storage_migration.md'), 'utf8');
      assert.match(main, /- \*\*Structure Level\*\*: 2\n- \*\*Expanded Phases\*\*: \[2\]/);
      assert.ok(main.includes('](phase_2_migrate_modules/phase_2_migrate_modules.md)'));
      assert.match(
        readFileSync(path.join(phaseDir, 'phase_2_migrate_modules.md'), 'utf8'),
        /- \*\*Expanded Stages\*\*: \[1, 2, 3, 4, 5, 6, 7, 8\]/,
      );
      assert.deepEqual(specOf(dir), level1, 'the same tasks, ids, statuses and gate at Level 2');
      assert.deepEqual(metadataWarnings(dir), []);

      const again = await start({ planPath: dir, op: 'expand', phases: ['2'], decisionTimeoutSeconds: 2 });
      const q = await nextQuestion(again, 'escalation');
      assert.match(q.detail, /already expanded into stages/);
      await answer(again, q, 'abort');
      assert.equal((await again.result()).status, 'restored');

      await approved({ planPath: dir, op: 'collapse', phases: ['2'] }); // Level 2 → 1
      assert.ok(!existsSync(phaseDir) && existsSync(path.join(dir, 'phase_2_migrate_modules.md')));
      const back = readFileSync(path.join(dir, '001_storage_migration.md'), 'utf8');
      assert.equal(back, l1Files.get('001_storage_migration.md'), 'the main plan as it was at Level 1');
      assert.deepEqual(specOf(dir), level1);
      assert.deepEqual(metadataWarnings(dir), []);
    });
  });

  it('a rejected diff changes nothing (also through `phaseflow reject`)', async () => {
    const ws = tempWorkspace();
    const plan = writePlan(ws);
    const plans = path.dirname(plan);
    const was = snapshot(plans);
    await withWorker(taskQueue, async () => {
      const h = await start({ planPath: plan, op: 'expand', phases: ['2', '3'] });
      await nextQuestion(h, 'approval');
      const { address, namespace } = testTemporal();
      const r = await phaseflow(['reject', h.workflowId, '--note', 'not now'], {
        TEMPORAL_ADDRESS: address,
        TEMPORAL_NAMESPACE: namespace,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await h.result()).status, 'rejected');
    });
    assert.deepEqual(snapshot(plans), was);
  });

  it('a failed expansion restores the checkpoint byte for byte', async () => {
    const ws = tempWorkspace();
    const plan = writePlan(ws);
    const plans = path.dirname(plan);
    const was = snapshot(plans);
    await withWorker(taskQueue, async () => {
      const h = await start({
        planPath: plan,
        op: 'expand',
        phases: ['2'],
        simulateFailure: ['2'],
        decisionTimeoutSeconds: 2,
      });
      const q = await nextQuestion(h, 'escalation');
      assert.match(q.question, /1 of 1 expand operations failed \(phases 2\)/);
      // Meanwhile someone changes the plan: the restore puts the checkpoint's bytes back.
      writeFileSync(plan, 'scribbled over\n');
      writeFileSync(path.join(plans, 'stray.md'), 'x');
      const o: ReshapeOutcome = await h.result(); // nobody answers: the default, abort, restores
      assert.equal(o.status, 'restored');
      assert.deepEqual(o.failed, ['2']);
    });
    const now = snapshot(plans);
    now.delete('stray.md'); // not a plan file: the restore touches only the plan's own files
    assert.deepEqual(now, was);
  });

  it('a partial failure: keep the successful operations (skip), or retry the failed ones', async () => {
    await withWorker(taskQueue, async () => {
      for (const action of ['skip', 'retry'] as const) {
        const ws = tempWorkspace();
        const plan = writePlan(ws);
        const h = await start({ planPath: plan, op: 'expand', phases: ['2', '3'], simulateFailure: ['3'] });
        const q = await nextQuestion(h, 'escalation');
        assert.deepEqual(q.failedTasks, ['3']);
        await answer(h, q, action);
        const a = await nextQuestion(h, 'approval');
        assert.match(a.question, action === 'skip' ? /of phases 2\?/ : /of phases 2, 3\?/);
        await answer(h, a, 'approve');
        const o: ReshapeOutcome = await h.result();
        assert.equal(o.status, 'applied');
        const main = readFileSync(path.join(ws, 'specs/plans/001_storage_migration/001_storage_migration.md'), 'utf8');
        assert.match(main, action === 'skip' ? /Expanded Phases\*\*: \[2\]/ : /Expanded Phases\*\*: \[2, 3\]/);
      }
    });
  });

  it('the CLI: `phaseflow expand --phase 3 --wait`, approved with `phaseflow approve`', async () => {
    const ws = tempWorkspace();
    const plan = writePlan(ws);
    const { address, namespace } = testTemporal();
    const env = { TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace, PHASEFLOW_TASK_QUEUE: taskQueue };
    const id = uniqueName('reshape/cli');
    await withWorker(taskQueue, async () => {
      const run = startPhaseflow(['expand', plan, '--phase', '3', '--wait', '--id', id], env);
      const h = (await testClient()).workflow.getHandle(id);
      await waitFor('the workflow', async () => (await h.describe().catch(() => undefined)) !== undefined, 30_000);
      await nextQuestion(h, 'approval');
      const ok = await phaseflow(['approve', id], env);
      assert.equal(ok.code, 0, ok.stderr);
      const r = await run.done;
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^expand: applied \(phases 3\)$/m);
      assert.match(r.stdout, /✔ phase 3: phase 3 \(Cleanup\): \d+ lines moved to phase_3_cleanup\.md/);
      assert.match(r.stdout, /next candidates: expand phase 2 \(9\/10\), collapse phase 3 \(1\/10\)$/m);
    });
    const main = readFileSync(path.join(ws, 'specs/plans/001_storage_migration/001_storage_migration.md'), 'utf8');
    assert.match(main, /Expanded Phases\*\*: \[3\]/);
    const bad = await phaseflow(['expand', path.join(ws, 'specs/plans/001_storage_migration')], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /name the phases \(--phase N \.\.\.\) or use --auto/);
  });
});

describe('expand and collapse in claude mode (agent specialists, fake Messages API, real server)', function () {
  this.timeout(120_000);
  const taskQueue = uniqueName('tq-reshape-claude');
  let fake: FakeAnthropic;
  const saved = { key: process.env.ANTHROPIC_API_KEY, url: process.env.ANTHROPIC_BASE_URL };
  before(async () => {
    fake = await FakeAnthropic.start({ apiKey: 'sk-ant-test-reshape' });
    // The worker runs in this process: its activities read the key and the base URL from here.
    process.env.ANTHROPIC_API_KEY = 'sk-ant-test-reshape';
    process.env.ANTHROPIC_BASE_URL = fake.baseURL;
  });
  after(async () => {
    for (const [k, v] of [
      ['ANTHROPIC_API_KEY', saved.key],
      ['ANTHROPIC_BASE_URL', saved.url],
    ] as const)
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    await fake?.close();
  });
  const start = async (input: ReshapeInput) =>
    (await testClient()).workflow.start(planReshapeWorkflow, {
      workflowId: uniqueName('reshape'),
      taskQueue,
      args: [input],
    });

  it('the agent writes the phase file; it counts after the check, and collapse by the agent brings it back', async () => {
    const ws = tempWorkspace();
    const plan = writePlan(ws);
    const before = tasksOf(plan);
    const dir = path.join(ws, 'specs', 'plans', '001_storage_migration');
    fake.enqueue(
      reply.toolUse('write_plan_file', {
        markdown:
          '# Phase 3: Cleanup\n\n**Objective**: Remove what the migration left behind.\n\n## Tasks\n\n- [ ] Remove the old storage layer\n\nNote: only after every module is migrated.\n',
        summary: 'phase 3 in its own file, with an objective',
      }),
    );
    await withWorker(taskQueue, async () => {
      const h = await start({
        planPath: plan,
        op: 'expand',
        phases: ['3'],
        mode: 'claude',
        decisionTimeoutSeconds: 60,
      });
      await answer(h, await nextQuestion(h, 'approval'), 'approve');
      const o: ReshapeOutcome = await h.result();
      assert.equal(o.status, 'applied');
      assert.equal(o.operations[0].summary, 'agent: phase 3 in its own file, with an objective');
      assert.match(o.operations[0].path, /ops\/expand_phase_3\.md$/);
      const file = readFileSync(path.join(dir, 'phase_3_cleanup.md'), 'utf8');
      assert.match(file, /Note: only after every module is migrated\./);
      assert.match(readFileSync(path.join(dir, '001_storage_migration.md'), 'utf8'), /Expanded Phases\*\*: \[3\]/);
      assert.deepEqual(tasksOf(dir), before);
      const body = fake.messageRequests.at(-1)!.body;
      assert.deepEqual(body.tool_choice, { type: 'tool', name: 'write_plan_file' });
      assert.match(body.messages[0].content, /### Phase 3: Cleanup\n- \[ \] Remove the old storage layer/);

      fake.enqueue(
        reply.toolUse('write_plan_file', {
          markdown: '### Phase 3: Cleanup\n\n- [ ] Remove the old storage layer\n',
          summary: 'merged back',
        }),
      );
      const c = await start({
        planPath: dir,
        op: 'collapse',
        phases: ['3'],
        mode: 'claude',
        decisionTimeoutSeconds: 60,
      });
      await answer(c, await nextQuestion(c, 'approval'), 'approve');
      assert.equal((await c.result()).status, 'applied');
      assert.ok(existsSync(plan) && !existsSync(dir));
      assert.deepEqual(tasksOf(plan), before);
    });
  });

  it('a file that loses or changes a task is a failed operation; abort restores the plan byte for byte', async () => {
    const ws = tempWorkspace();
    const plan = writePlan(ws);
    const plans = path.dirname(plan);
    const was = snapshot(plans);
    fake.enqueue(
      reply.toolUse('write_plan_file', {
        markdown: '# Phase 3: Cleanup\n\n- [x] Remove the old storage layer and its tests\n',
        summary: 'done',
      }),
    );
    await withWorker(taskQueue, async () => {
      const h = await start({
        planPath: plan,
        op: 'expand',
        phases: ['3'],
        mode: 'claude',
        decisionTimeoutSeconds: 60,
      });
      const q = await nextQuestion(h, 'escalation');
      assert.match(q.question, /1 of 1 expand operations failed \(phases 3\)/);
      assert.match(
        q.detail,
        /the expand specialist's file for phase 3 is refused: it loses or changes 1 task\(s\): \[ \] Remove the old storage layer/,
      );
      await answer(h, q, 'abort');
      assert.equal((await h.result()).status, 'restored');
    });
    assert.deepEqual(snapshot(plans), was);
  });
});
