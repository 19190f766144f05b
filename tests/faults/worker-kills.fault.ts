/**
 * kill -9 of the only worker at random points of a running epic, many times; a new worker
 * process is started after each kill. The epic completes as if nothing happened.
 */
import { strict as assert } from 'node:assert';
import { undisturbedRun, runFaultEpic } from './support/fault-run';
import { assertSurvived, describeRun } from './support/invariants';
import { envInt, prng } from './support/prng';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fault: worker killed (SIGKILL) again and again', function () {
  it('the epic completes; no completed task runs again; mirrors stay valid and end as undisturbed', async () => {
    const undisturbed = await undisturbedRun();
    const rnd = prng('worker-kills');
    // 8-12 kills (each costs ~10-15 s: a new worker process, and the dead worker's workflow tasks
    // time out after 10 s); PHASEFLOW_FAULT_KILLS=n for a longer soak.
    const planned = envInt('PHASEFLOW_FAULT_KILLS') ?? rnd.int(8, 12);
    const kills: string[] = [];
    const run = await runFaultEpic('worker-kills', { workers: 1 }, async (ctx) => {
      for (let k = 1; k <= planned && !ctx.closed(); k++) {
        // Each kill comes at a random moment after the (new) worker has moved the epic on, so the
        // kills spread over the whole run: workflow tasks, running tasks, mirror writes, gates,
        // child workflow starts.
        await ctx.progress(`after kill ${k - 1}`);
        await sleep(rnd.between(0, 2500));
        if (ctx.closed()) break;
        const [victim] = ctx.pool.alive();
        const where = ctx.where();
        await ctx.pool.kill9(victim);
        kills.push(`${((Date.now() - ctx.startedAt) / 1000).toFixed(1)}s ${where}`);
        await ctx.pool.start();
      }
    });
    console.log(`      ${describeRun(`${kills.length} kills (planned ${planned})`, run)}`);
    console.log(`      kills at: ${kills.join(' | ')}`);
    assert.ok(
      kills.length >= Math.min(planned, 8),
      `at least ${Math.min(planned, 8)} kills happened before the epic ended (got ${kills.length}: ${kills.join(', ')})`,
    );
    assertSurvived(run, undisturbed);
  });
});
