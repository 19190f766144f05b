/**
 * Two workers on the same task queue; mid-run, kill -9 the one that is running tasks at that
 * moment (chosen at random among the busy ones). No worker is started again: the other one
 * finishes the epic.
 */
import { strict as assert } from 'node:assert';
import { runFaultEpic, undisturbedRun } from './support/fault-run';
import { assertSurvived, describeRun } from './support/invariants';
import { prng } from './support/prng';
import type { WorkerProc } from './support/workers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fault: one of two workers killed (SIGKILL)', function () {
  it('the other worker finishes the epic; no completed task runs again; mirrors stay valid and end as undisturbed', async () => {
    const undisturbed = await undisturbedRun();
    const rnd = prng('two-workers');
    let victim: WorkerProc | undefined;
    let survivor: WorkerProc | undefined;
    let busyAtKill = new Map<string, number>();
    let where = '';
    const run = await runFaultEpic('two-workers', { workers: 2 }, async (ctx) => {
      // A random point after the epic got going (and past its first phase now and then).
      for (let i = rnd.int(1, 3); i > 0; i--) await ctx.progress('before the kill');
      await sleep(rnd.between(0, 2000));
      // Kill a worker that has tasks in flight, so the kill interrupts real work.
      for (let tries = 0; tries < 100 && !ctx.closed(); tries++) {
        busyAtKill = await ctx.busyWorkers();
        const busy = ctx.pool.alive().filter((w) => busyAtKill.has(w.identity));
        if (busy.length) {
          victim = rnd.pick(busy);
          break;
        }
        await sleep(50);
      }
      assert.ok(victim, 'a worker was running activities at some point');
      where = ctx.where();
      await ctx.pool.kill9(victim);
      survivor = ctx.pool.alive()[0];
    });
    console.log(`      ${describeRun('one of two workers killed', run)}`);
    console.log(`      killed ${victim!.identity} in ${where} while it ran ${busyAtKill.get(victim!.identity)} activit(y/ies); running then: ${JSON.stringify(Object.fromEntries(busyAtKill))}`);
    assertSurvived(run, undisturbed);

    assert.equal(run.pool.all.length, 2, 'no worker was started after the kill');
    const killedAt = victim!.killedAt!;
    const byVictim = run.pickups.filter((p) => p.identity === victim!.identity);
    const bySurvivor = run.pickups.filter((p) => p.identity === survivor!.identity && p.at > killedAt);
    assert.ok(byVictim.length > 0, 'the killed worker had done work');
    assert.ok(bySurvivor.length > 0, 'the surviving worker picked up work after the kill');
    assert.deepEqual(run.pickups.filter((p) => p.identity !== victim!.identity && p.identity !== survivor!.identity), [], 'only these two workers ran anything');
    // Tasks the victim was running when it died were retried: their interrupted attempt timed out.
    const interrupted = run.executions.filter((x) => x.identity === victim!.identity && x.outcome === 'timedOut');
    console.log(`      ${byVictim.length} pickups by the killed worker, ${bySurvivor.length} by the survivor after the kill; ${interrupted.length} task attempt(s) interrupted and retried`);
  });
});
