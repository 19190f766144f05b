/**
 * `phaseflow orchestrate` through the built CLI on the real server: bad options exit 2 with the
 * field and start nothing; a dry-run goal with `--until plan` waits for `phaseflow approve`,
 * stops at the approved plan and writes its outcome with `--out`.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { phaseflow, shown, startPhaseflow } from '../cli/run-cli';
import { tempWorkspace, uniqueName, waitFor, withWorker } from '../support/worker-harness';

describe('phaseflow orchestrate (built CLI, real server)', function () {
  this.timeout(180_000);

  it('bad options: exit 2 with the field, nothing started', async () => {
    const ws = tempWorkspace('phaseflow-orch-cli-');
    for (const [args, expected] of [
      [['orchestrate', 'go', '--workspace', ws], /orchestrate: goal: expected a goal of a few words/],
      [
        ['orchestrate', 'Add a greeting', '--workspace', ws, '--until', 'phase:0'],
        /until: expected plan, all or phase:N/,
      ],
      [['orchestrate', 'Add a greeting', '--workspace', ws, '--research', '20'], /research: .*8/],
      [
        ['orchestrate', 'Add a greeting', '--workspace', path.join(ws, 'nope')],
        /--workspace: no such directory .*nope; nothing started/,
      ],
    ] as const) {
      const r = await phaseflow([...args]);
      assert.equal(r.code, 2, shown(r));
      assert.match(r.stderr, expected, shown(r));
      assert.doesNotMatch(r.stdout, /Started/);
    }
  });

  it('--until plan: asks for approval, `phaseflow approve` answers, the run stops at the plan', async () => {
    const ws = tempWorkspace('phaseflow-orch-cli-');
    writeFileSync(path.join(ws, 'README.md'), '# Tool\n');
    const slug = uniqueName('orchcli').slice(0, 30);
    const taskQueue = uniqueName('orchcli-q');
    const out = path.join(ws, 'outcome.json');
    await withWorker(taskQueue, async () => {
      const cli = startPhaseflow(
        [
          'orchestrate',
          'Add a greeting command, then test it',
          '--workspace',
          ws,
          '--mode',
          'dry-run',
          '--until',
          'plan',
          '--slug',
          slug,
          '--out',
          out,
        ],
        { PHASEFLOW_TASK_QUEUE: taskQueue },
      );
      await waitFor(
        'the approval hint',
        () => cli.stdout().includes(`answer: phaseflow approve orchestrate/${slug}`),
        60_000,
      );
      const a = await phaseflow(['approve', `orchestrate/${slug}`, '--note', 'looks right']);
      assert.equal(a.code, 0, shown(a));
      const r = await cli.done;
      assert.equal(r.code, 0, shown(r));
      assert.match(r.stdout, new RegExp(`${slug}: planned`));
      assert.match(r.stdout, /research\s+completed/);
    });
    const outcome = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(outcome.status, 'planned');
    assert.ok(existsSync(path.join(ws, outcome.planPath)));
    assert.ok(!existsSync(path.join(ws, '.claude/epics')), 'no epic ran');
    const approval = outcome.stages.find((s: any) => s.stage === 'approval');
    assert.match(approval.items[0].summary, /approve by .*: looks right/);
  });
});
