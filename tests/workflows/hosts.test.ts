/**
 * Epics pinned to worker hosts, on the test dev server, in one process: a shared worker (the
 * workflows) and two host workers (activities only, src/worker-host.ts) on the same queue. An epic
 * pinned to host a schedules every activity (workspace, tasks, gates, mirrors) on a's queue and
 * runs them all on a's worker, one pinned to b on b's, both at once on the same workflow worker;
 * an unpinned epic keeps everything on the shared queue, with no task queue of its own.
 */
import { strict as assert } from 'node:assert';
import * as os from 'node:os';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { hostOfIdentity, hostTaskQueue, hostWorkerIdentity } from '../../src/domain/hosts';
import { createHostWorker } from '../../src/worker-host';
import { HEARTBEAT_THROTTLE } from '../../src/worker';
import { outsideWorkspaceRoot } from '../../src/activities/workspace-root';
import {
  agentTask,
  epicSpec,
  FAST_SETTINGS,
  fetchEvents,
  ids,
  startEpic,
  tempWorkspace,
  testClient,
  uniqueName,
  withWorker,
} from '../support/worker-harness';
import { testTemporal } from '../support/temporal-server';

function smallEpic(slug: string, host?: string) {
  return epicSpec({
    slug,
    title: slug,
    workspace: tempWorkspace(`phaseflow-host-${slug}-`),
    ...(host ? { host } : {}),
    settings: FAST_SETTINGS,
    roadmaps: [
      {
        slug: `${slug}-r`,
        title: 'R',
        plans: [
          {
            slug: `${slug}-p`,
            title: 'P',
            phases: [1, 2].map((n) => ({
              slug: `ph${n}`,
              title: `Phase ${n}`,
              tasks: [
                agentTask(`a${n}`, 200),
                { id: `c${n}`, description: 'c', kind: 'command', command: `echo ${n} > c${n}.txt` },
              ],
              gate: { commands: [`test -s c${n}.txt`] },
            })),
          },
        ],
      },
    ],
  });
}

/** Task queue and worker of every activity of the epic's workflows. */
async function activitiesOf(slug: string): Promise<{ type: string; queue: string; identity: string }[]> {
  const wfIds = [
    ids.epic(slug),
    ids.roadmap(slug, `${slug}-r`),
    ids.plan(slug, `${slug}-r`, `${slug}-p`),
    ...[1, 2].map((n) => ids.phase(slug, `${slug}-r`, `${slug}-p`, `ph${n}`)),
  ];
  const out: { type: string; queue: string; identity: string }[] = [];
  for (const id of wfIds) {
    const events = await fetchEvents(id);
    const scheduled = new Map<string, { type: string; queue: string }>();
    for (const e of events) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(e.eventId), { type: s.activityType?.name ?? '?', queue: s.taskQueue?.name ?? '?' });
      const st = e.activityTaskStartedEventAttributes;
      if (st) out.push({ ...scheduled.get(String(st.scheduledEventId))!, identity: st.identity ?? '' });
    }
  }
  return out;
}

describe('epics pinned to worker hosts (real server)', function () {
  it('each epic runs every activity on its own host queue and worker; an unpinned epic keeps the shared queue', async () => {
    const taskQueue = uniqueName('hosts');
    const client = await testClient();
    const hostWorkers: Worker[] = [];
    let connection: NativeConnection | undefined;
    try {
      await withWorker(taskQueue, async () => {
        // Connected only now: withWorker installed the tests' quiet runtime first.
        connection = await NativeConnection.connect({ address: testTemporal().address });
        for (const host of ['a', 'b'])
          hostWorkers.push(
            await createHostWorker({
              connection,
              namespace: testTemporal().namespace,
              sharedQueue: taskQueue,
              host,
              identity: hostWorkerIdentity(host, process.pid, os.hostname()),
              heartbeatThrottle: HEARTBEAT_THROTTLE,
            }),
          );
        const running = hostWorkers.map((w) => w.run());
        try {
          const epics = [smallEpic('pin-a', 'a'), smallEpic('pin-b', 'b'), smallEpic('pin-none')];
          const handles = await Promise.all(epics.map((e) => startEpic(taskQueue, e)));
          for (const h of handles) assert.equal(((await h.result()) as { status: string }).status, 'completed');
          const d = await client.workflow.getHandle(ids.epic('pin-a')).describe();
          assert.equal(d.searchAttributes.PhaseflowHost?.[0], 'a');
        } finally {
          hostWorkers.forEach((w) => w.shutdown());
          await Promise.all(running);
        }
      });
    } finally {
      await connection?.close();
    }
    for (const host of ['a', 'b']) {
      const acts = await activitiesOf(`pin-${host}`);
      const types = new Set(acts.map((a) => a.type));
      for (const t of ['prepareWorkspace', 'writeMirror', 'runAgentTask', 'runCommandTask', 'runGate'])
        assert.ok(types.has(t), `${host}: ${t} ran`);
      assert.deepEqual(
        acts.filter((a) => a.queue !== hostTaskQueue(taskQueue, host) || hostOfIdentity(a.identity) !== host),
        [],
        `every activity of pin-${host} on host ${host}'s queue and worker`,
      );
    }
    const shared = await activitiesOf('pin-none');
    assert.ok(shared.length > 10);
    assert.deepEqual(
      shared.filter((a) => a.queue !== taskQueue || hostOfIdentity(a.identity) !== undefined),
      [],
      'the unpinned epic stays on the shared queue and worker',
    );
  });

  it('a host with a workspace root refuses workspaces outside it', () => {
    const env = { PHASEFLOW_WORKSPACE_ROOT: '/srv/h1' };
    assert.equal(outsideWorkspaceRoot('e', '/srv/h1/repo', env), undefined);
    assert.equal(outsideWorkspaceRoot('e', '/srv/h1', env), undefined);
    assert.match(
      outsideWorkspaceRoot('e', '/srv/h10/repo', env)!,
      /epic e: workspace \/srv\/h10\/repo is outside this host's workspace root \/srv\/h1/,
    );
    assert.match(outsideWorkspaceRoot('e', '/srv/h1/../h2', env)!, /outside/);
    assert.equal(outsideWorkspaceRoot('e', '/anywhere', {}), undefined);
  });
});
