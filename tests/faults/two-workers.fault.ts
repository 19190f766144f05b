/**
 * Two workers on the same task queue; mid-run, kill -9 one that has just started a task (chosen
 * at random if both have). No worker is started again: the other one finishes the epic.
 */
import { strict as assert } from 'node:assert';
import { type RunningActivity, runFaultEpic, undisturbedRun } from './support/fault-run';
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
    let runningAtKill: RunningActivity[] = [];
    let where = '';
    const run = await runFaultEpic('two-workers', { workers: 2 }, async (ctx) => {
      // A random point after the epic got going (and past its first phase now and then).
      for (let i = rnd.int(1, 3); i > 0; i--) await ctx.progress('before the kill');
      await sleep(rnd.between(0, 2000));
      // Kill a worker in the middle of a task: one that started a task attempt in the last 300 ms
      // (every task here takes 500 ms or more), so the kill surely interrupts it.
      for (let tries = 0; tries < 400 && !ctx.closed() && !victim; tries++) {
        runningAtKill = await ctx.runningActivities();
        const fresh = runningAtKill.filter(
          (a) => /^run(Agent|Command)Task$/.test(a.type) && Date.now() - a.startedAt < 300,
        );
        const busy = ctx.pool.alive().filter((w) => fresh.some((a) => a.identity === w.identity));
        if (busy.length) victim = rnd.pick(busy);
        else await sleep(30);
      }
      assert.ok(victim, 'a worker was seen starting a task');
      where = ctx.where();
      await ctx.pool.kill9(victim);
      survivor = ctx.pool.alive()[0];
    });
    console.log(`      ${describeRun('one of two workers killed', run)}`);
    const victimWork = runningAtKill
      .filter((a) => a.identity === victim!.identity)
      .map((a) => `${a.type} of ${a.workflowId}`);
    console.log(`      killed ${victim!.identity} in ${where} while it ran: ${victimWork.join(', ')}`);
    assertSurvived(run, undisturbed);

    assert.equal(run.pool.all.length, 2, 'no worker was started after the kill');
    const killedAt = victim!.killedAt!;
    const byVictim = run.pickups.filter((p) => p.identity === victim!.identity);
    const bySurvivor = run.pickups.filter((p) => p.identity === survivor!.identity && p.at > killedAt);
    assert.ok(byVictim.length > 0, 'the killed worker had done work');
    assert.ok(bySurvivor.length > 0, 'the surviving worker picked up work after the kill');
    assert.deepEqual(
      run.pickups.filter((p) => p.identity !== victim!.identity && p.identity !== survivor!.identity),
      [],
      'only these two workers ran anything',
    );
    // The task the victim was running when it died was retried: its interrupted attempt timed out.
    const interrupted = run.executions.filter((x) => x.identity === victim!.identity && x.outcome === 'timedOut');
    assert.ok(interrupted.length >= 1, 'the kill interrupted a task attempt, which timed out and was retried');
    console.log(
      `      ${byVictim.length} pickups by the killed worker, ${bySurvivor.length} by the survivor after the kill; ${interrupted.length} task attempt(s) interrupted and retried`,
    );
  });
});
