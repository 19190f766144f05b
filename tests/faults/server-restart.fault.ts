/**
 * The Temporal server stops in the middle of an epic (once with SIGTERM, once with SIGKILL, in
 * random order, each at a random point and down for a random time) and comes back on the same
 * port with the same SQLite file. The two workers keep running throughout, reconnect on their
 * own, and finish the epic.
 */
import { strict as assert } from 'node:assert';
import { faultServer, type Restart } from './support/fault-server';
import { runFaultEpic, undisturbedRun } from './support/fault-run';
import { assertSurvived, describeRun } from './support/invariants';
import { envInt, prng } from './support/prng';
import { waitFor } from '../support/worker-harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long the server stays down (default: random, 0.5-4 s); e.g. 90000 to check workers outlast a long outage. */
const DOWN_MS = envInt('PHASEFLOW_FAULT_SERVER_DOWN_MS');

describe('fault: Temporal server restarted mid-run', function () {
  it('the workers reconnect and finish the epic; no completed task runs again; mirrors stay valid and end as undisturbed', async () => {
    const undisturbed = await undisturbedRun();
    const rnd = prng('server-restart');
    const signals = rnd.next() < 0.5 ? (['SIGTERM', 'SIGKILL'] as const) : (['SIGKILL', 'SIGTERM'] as const);
    const restarts: (Restart & { at: number; upAt: number; reconnectMs: number; where: string })[] = [];
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
        const r = await server.restart(signal, DOWN_MS ?? Math.round(rnd.between(500, 4000)));
        const upAt = Date.now();
        // The server forgets its pollers when it stops: a worker it lists again has reconnected.
        await waitFor(
          `both workers polling again after the ${signal} restart`,
          async () => {
            const p = await ctx.pollers();
            return ctx.pool.all.every((w) => p.workflow.has(w.identity) && p.activity.has(w.identity));
          },
          120_000,
          100,
        );
        restarts.push({ ...r, at, upAt, reconnectMs: Date.now() - upAt, where });
      }
    });
    console.log(`      ${describeRun(`${restarts.length} server restarts`, run)}`);
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(
      `      restarts: ${restarts
        .map(
          (r) =>
            `${r.signal} at ${s(r.at - restarts[0].at)} in ${r.where}: down ${s(r.downMs)} (stop ${s(r.stopMs)}, kept down ${s(r.pauseMs)}, start ${s(r.startMs)}), both workers polling ${s(r.reconnectMs)} later`,
        )
        .join(' | ')}`,
    );
    // A long outage (PHASEFLOW_FAULT_SERVER_DOWN_MS) may leave no time for the second restart.
    assert.ok(
      restarts.length === 2 || (DOWN_MS !== undefined && restarts.length === 1),
      `both restarts happened while the epic ran (${restarts.length})`,
    );
    assertSurvived(run, undisturbed);

    // The same two worker processes ran the epic to the end: no new worker, none died (checked
    // above: no exit the test did not cause), each polled again after every restart (checked
    // as it happened), and each ran tasks on the restarted server. (After a long outage the
    // server serves workers well before its health check says so: count from the stop.)
    assert.deepEqual(
      run.pool.all.map((w) => w.pid),
      workerPids,
      'no worker was started after the first two',
    );
    const firstGone = restarts[0].at + restarts[0].stopMs;
    for (const w of run.pool.all) {
      const after = run.pickups.filter((p) => p.identity === w.identity && p.at > firstGone);
      assert.ok(after.length > 0, `worker ${w.identity} picked up work after the server came back`);
      console.log(`      ${w.identity}: ${after.length} workflow and activity tasks picked up after the first restart`);
    }
  });
});
