/**
 * The fault suite's checks on the production-shaped stack: while the fault epic runs with two
 * workers, a worker is killed with SIGKILL (and replaced), the Temporal server is killed with
 * SIGKILL (and started again by `stack up`), and PostgreSQL goes down hard (`pg_ctl -m immediate`,
 * a crash with recovery) and comes back, in a random order at random points. As in
 * `test:faults`: the epic completes, no completed task runs again, no mirror version goes
 * backwards or is invalid, and the final mirrors equal an undisturbed run's on the same stack.
 */
import { strict as assert } from 'node:assert';
import { cachedPath } from '../../src/stack/go-build';
import { isRunning } from '../../src/stack/processes';
import { serverPid } from '../../src/stack/temporal-server';
import { runFaultEpic, undisturbedRun, type FaultContext } from '../faults/support/fault-run';
import { assertSurvived, describeRun } from '../faults/support/invariants';
import { prng } from '../faults/support/prng';
import { waitFor } from '../support/worker-harness';
import { stackUnderTest } from './support/stack-fixture';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Fault = 'worker kill -9' | 'temporal server kill -9' | 'postgres restart';

async function bothPolling(ctx: FaultContext, what: string): Promise<void> {
  await waitFor(
    `every worker polling again after the ${what}`,
    async () => {
      const p = await ctx.pollers().catch(() => undefined);
      return Boolean(p && ctx.pool.alive().every((w) => p.workflow.has(w.identity) && p.activity.has(w.identity)));
    },
    180_000,
    200,
  );
}

describe('stack fault: worker, Temporal server and PostgreSQL killed mid-run', function () {
  it('the epic completes; no completed task runs again; mirrors stay valid and end as undisturbed', async () => {
    const stack = stackUnderTest();
    const undisturbed = await undisturbedRun();
    const rnd = prng('stack-faults');
    const faults: Fault[] = ['worker kill -9', 'temporal server kill -9', 'postgres restart'];
    for (let i = faults.length - 1; i > 0; i--) {
      const j = rnd.int(0, i);
      [faults[i], faults[j]] = [faults[j], faults[i]];
    }
    const done: string[] = [];
    const run = await runFaultEpic('stack', { workers: 2 }, async (ctx) => {
      // A replacement worker takes many seconds to start on a busy machine: it starts in the
      // background, so all three faults land while the ~20-40 s epic runs.
      const replacements: Promise<unknown>[] = [];
      for (const fault of faults) {
        await ctx.progress(`before the ${fault}`);
        await sleep(rnd.between(0, 1000));
        if (ctx.closed()) break;
        const at = Date.now();
        const where = ctx.where();
        if (fault === 'worker kill -9') {
          await ctx.pool.kill9(ctx.pool.alive()[0]);
          replacements.push(ctx.pool.start());
        } else if (fault === 'temporal server kill -9') {
          const pid = serverPid(stack.dir)!;
          process.kill(pid, 'SIGKILL');
          await waitFor('the server process to die', () => !isRunning(pid, cachedPath('server')), 10_000, 20);
          await sleep(rnd.between(500, 2000));
          await stack.up();
        } else {
          const pg = stack.postgres();
          pg.stop('immediate');
          await sleep(rnd.between(500, 2000));
          pg.start();
        }
        done.push(
          `${fault} at ${((at - ctx.startedAt) / 1000).toFixed(1)} s in ${where}, back ${((Date.now() - at) / 1000).toFixed(1)} s later`,
        );
      }
      await Promise.all(replacements);
      // The workers that live on reconnect on their own and finish the epic.
      if (!ctx.closed()) await bothPolling(ctx, 'faults');
    });
    console.log(`      ${describeRun(`${done.length} faults on the stack`, run)}`);
    console.log(`      faults: ${done.join(' | ')}`);
    assert.equal(done.length, faults.length, `all three faults happened while the epic ran: ${done.join(', ')}`);
    assertSurvived(run, undisturbed);
  });
});
