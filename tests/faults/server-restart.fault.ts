/**
 * The Temporal server stops in the middle of an epic (once with SIGTERM, once with SIGKILL, in
 * random order, each at a random point and down for a random time) and comes back on the same
 * port with the same SQLite file. The two workers keep running throughout, reconnect on their
 * own, and finish the epic.
 */
import { strict as assert } from 'node:assert';
import { faultServer } from './support/fault-server';
import { runFaultEpic, undisturbedRun } from './support/fault-run';
import { assertSurvived, describeRun } from './support/invariants';
import { prng } from './support/prng';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fault: Temporal server restarted mid-run', function () {
  it('the workers reconnect and finish the epic; no completed task runs again; mirrors stay valid and end as undisturbed', async () => {
    const undisturbed = await undisturbedRun();
    const rnd = prng('server-restart');
    const signals = rnd.next() < 0.5 ? (['SIGTERM', 'SIGKILL'] as const) : (['SIGKILL', 'SIGTERM'] as const);
    const restarts: { signal: string; downMs: number; at: number; upAt: number; where: string }[] = [];
    const server = faultServer();
    let workerPids: number[] = [];
    const run = await runFaultEpic('server-restart', { workers: 2 }, async (ctx) => {
      workerPids = ctx.pool.all.map((w) => w.pid);
      for (const signal of signals) {
        await ctx.progress(`before the ${signal} restart`);
        await sleep(rnd.between(0, 2500));
        if (ctx.closed()) break;
        const at = Date.now();
        const where = ctx.where();
        const { downMs } = await server.restart(signal, Math.round(rnd.between(500, 4000)));
        restarts.push({ signal, downMs, at, upAt: Date.now(), where });
      }
    });
    console.log(`      ${describeRun(`${restarts.length} server restarts`, run)}`);
    console.log(`      restarts: ${restarts.map((r) => `${r.signal} at ${((r.at - restarts[0].at) / 1000).toFixed(1)}s in ${r.where}, down ${(r.downMs / 1000).toFixed(1)} s`).join(' | ')}`);
    assert.equal(restarts.length, 2, 'both restarts happened while the epic ran');
    assertSurvived(run, undisturbed);

    // The same two worker processes ran the epic to the end: no new worker, none died (checked
    // above: no exit the test did not cause), and each
    // picked up work after the last restart, so each reconnected by itself.
    assert.deepEqual(run.pool.all.map((w) => w.pid), workerPids, 'no worker was started after the first two');
    const lastUp = restarts[restarts.length - 1].upAt;
    for (const w of run.pool.all) {
      const after = run.pickups.filter((p) => p.identity === w.identity && p.at > lastUp);
      assert.ok(after.length > 0, `worker ${w.identity} picked up work after the server came back the last time`);
      console.log(`      ${w.identity}: ${after.length} tasks picked up after the last restart`);
    }
  });
});
