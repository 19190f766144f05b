/**
 * `phaseflow budget` against a spent budget, on a real server with the compiled CLI: a "raise" at
 * or below what is already spent, or for another level than the question's, exits 1 with the
 * validator's reason and changes nothing (the same question stays open); a raise above it answers,
 * and the decision line in `status` carries the new limit.
 */
import { strict as assert } from 'node:assert';
import {
  agentTask,
  epicSpec,
  FAST_SETTINGS,
  ids,
  mirrorFile,
  readJson,
  startEpic,
  tempWorkspace,
  testClient,
  uniqueName,
  waitFor,
  withWorker,
} from '../support/worker-harness';
import { phaseflow, shown } from './run-cli';
import { pendingQuery } from '../../src/workflows/messages';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('phaseflow budget refuses raises that do not lift the spent budget (real server)', function () {
  this.timeout(120_000);

  it('below what is spent, or for another level: exit 1, the reason, nothing recorded; then a real raise is recorded with its limit', async () => {
    const slug = uniqueName('cli-raise');
    const ws = tempWorkspace();
    const taskQueue = uniqueName('tq-cli-raise');
    const spec = epicSpec({
      slug,
      title: 'Raise',
      workspace: ws,
      settings: { ...FAST_SETTINGS, decisionTimeoutSeconds: 600 },
      budget: { tokens: 1000 },
      roadmaps: [
        {
          slug: 'rm',
          title: 'RM',
          plans: [
            {
              slug: 'pl',
              title: 'PL',
              phases: [
                {
                  slug: 'work',
                  title: 'Work',
                  settings: { maxParallel: 1 },
                  tasks: [agentTask('1.1', 20), agentTask('1.2', 20)],
                },
              ],
            },
          ],
        },
      ],
    });
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, spec);
      const q = await waitFor(
        'the budget question',
        async () => (await handle.query(pendingQuery)).find((p) => p.kind === 'budget'),
        30_000,
      );
      const spent = Number(/spent ([\d,]+) tokens/.exec(q.detail)![1].replace(/,/g, ''));

      const low = await phaseflow(['budget', slug, '--tokens', '1000']);
      assert.equal(low.code, 1, shown(low));
      assert.equal(
        low.stderr.trim(),
        `error: ${q.workflowId} refused "raise" for decision ${q.id}: 1,000 tokens is not above the ${spent.toLocaleString('en-US')} already spent on the epic budget of ${slug}; nothing changed`,
      );
      const other = await phaseflow(['budget', slug, '--tokens', '9000000', '--level', 'roadmap']);
      assert.equal(other.code, 1, shown(other));
      assert.match(
        other.stderr,
        new RegExp(
          `refused "raise" for decision ${escape(q.id)}: this question is about the epic budget, not the roadmap budget`,
        ),
      );
      const still = await handle.query(pendingQuery);
      assert.deepEqual(
        still.map((p) => p.id),
        [q.id],
        'the same question is still open; no new one was asked',
      );
      assert.deepEqual(readJson(mirrorFile.progress(ws, 'pl')).decisions, [], 'nothing was recorded');

      const ok = await phaseflow(['budget', slug, '--tokens', '1000000', '--note', 'worth it']);
      assert.equal(ok.code, 0, shown(ok));
      assert.match(ok.stdout, /record: .* budget \(budget\) → raise \(epic limit 1,000,000 tokens\), by .*: worth it/);
      await handle.result();
      const status = await phaseflow(['status', slug]);
      assert.match(
        status.stdout,
        new RegExp(`${escape(q.id)} budget \\(budget\\) → raise \\(epic limit 1,000,000 tokens\\), by `),
        shown(status),
      );
    });
    const client = await testClient();
    assert.equal((await client.workflow.getHandle(ids.epic(slug)).describe()).status.name, 'COMPLETED');
  });
});
