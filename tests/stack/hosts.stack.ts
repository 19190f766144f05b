/**
 * Epics spread over worker hosts on the production-shaped stack. Three hosts (h1 with two
 * worker processes, h2 with one, h3 with two), each with its own workspace root and host task
 * queue, run six epics at once: every activity of an epic runs on its own host (the identities in
 * the histories say so). One epic is started without --host and goes to the least loaded host.
 * Then every worker of h3 is killed (kill -9) mid-run: h1's and h2's epics finish undisturbed,
 * h3's wait (nothing of theirs runs, `phaseflow status` says the host is down) and finish after h3
 * comes back, with no completed task run again.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import { hostOfIdentity } from '../../src/domain/hosts';
import { phaseflow, shown } from '../cli/run-cli';
import { eventTimeMs, ids, tempWorkspace, testClient, uniqueName, waitFor } from '../support/worker-harness';
import { temporal } from '@temporalio/proto';
import { HostWorkers } from './support/host-workers';

const EventType = temporal.api.enums.v1.EventType;
const HOSTS = ['h1', 'h2', 'h3'] as const;

/**
 * A small epic of command tasks; every run of a task leaves `start`/`end` lines in runs/<task>.txt.
 * Its first task waits for a `go` file, so that all six epics run at once however slowly they start.
 */
function hostEpic(slug: string, workspace: string) {
  const cmd = (id: string, seconds: number) => ({
    id,
    description: `command ${id}`,
    kind: 'command',
    command: `${id === 't1a' ? 'while [ ! -e go ]; do sleep 0.2; done; ' : ''}echo "start $(date +%s%N)" >> runs/${id}.txt; sleep ${seconds}; echo "end $(date +%s%N)" >> runs/${id}.txt`,
  });
  fs.mkdirSync(path.join(workspace, 'runs'), { recursive: true });
  return {
    slug,
    title: `Host epic ${slug}`,
    workspace,
    agentMode: 'dry-run',
    settings: {
      attempts: 20,
      timeoutBaseSeconds: 120,
      timeoutFactor: 1,
      retryBackoffSeconds: 0.2,
      heartbeatSeconds: 3,
    },
    roadmaps: [
      {
        slug: `${slug}-r`,
        title: 'Roadmap',
        plans: [
          {
            slug: `${slug}-p`,
            title: 'Plan',
            phases: [1, 2, 3, 4].map((n) => ({
              slug: `phase-${n}`,
              title: `Phase ${n}`,
              tasks: [cmd(`t${n}a`, 1.5), cmd(`t${n}b`, 1)],
              gate: { commands: [`test -s runs/t${n}a.txt`] },
            })),
          },
        ],
      },
    ],
  };
}

function workflowIdsOf(slug: string): string[] {
  const r = `${slug}-r`;
  const p = `${slug}-p`;
  return [
    ids.epic(slug),
    ids.roadmap(slug, r),
    ids.plan(slug, r, p),
    ...[1, 2, 3, 4].map((n) => ids.phase(slug, r, p, `phase-${n}`)),
  ];
}

/** Where each activity of the epic started: the hosts named by the workers' identities, with times. */
async function activityStarts(
  client: Client,
  slug: string,
): Promise<{ host?: string; identity: string; at: number }[]> {
  const out: { host?: string; identity: string; at: number }[] = [];
  for (const id of workflowIdsOf(slug)) {
    for (const e of (await client.workflow.getHandle(id).fetchHistory()).events ?? []) {
      if (e.eventType !== EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) continue;
      const identity = e.activityTaskStartedEventAttributes?.identity ?? '';
      out.push({ host: hostOfIdentity(identity), identity, at: eventTimeMs(e) });
    }
  }
  return out;
}

function runsOf(workspace: string): Record<string, string[]> {
  const dir = path.join(workspace, 'runs');
  return Object.fromEntries(
    fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean)]),
  );
}

const completedTasks = (workspace: string, plan: string): number => {
  try {
    const p = JSON.parse(fs.readFileSync(path.join(workspace, `.claude/phase-plans/${plan}/PROGRESS.json`), 'utf8'));
    return p.phases.flatMap((ph: any) => ph.tasks).filter((t: any) => t.status === 'completed').length;
  } catch {
    return 0;
  }
};

describe('stack: epics pinned to worker hosts', function () {
  let client: Client;
  let workers: HostWorkers;
  const taskQueue = uniqueName('hosts');
  const base = tempWorkspace('phaseflow-hosts-');
  const roots = Object.fromEntries(HOSTS.map((h) => [h, path.join(base, h)])) as Record<(typeof HOSTS)[number], string>;
  // On the stack idle workers poll every 10 s: a host unseen for 25 s is down.
  const env = { PHASEFLOW_TASK_QUEUE: taskQueue, PHASEFLOW_HOST_LIVE_SECONDS: '25' };
  process.env.PHASEFLOW_HOST_LIVE_SECONDS = '25';

  before(async () => {
    client = await testClient();
    for (const r of Object.values(roots)) fs.mkdirSync(r, { recursive: true });
    fs.mkdirSync(path.join(base, 'logs'));
    workers = new HostWorkers(client, taskQueue, path.join(base, 'logs'));
    await workers.start('h1', roots.h1);
    await workers.start('h1', roots.h1);
    await workers.start('h2', roots.h2);
    await workers.start('h3', roots.h3);
    await workers.start('h3', roots.h3);
  });

  after(async () => {
    await workers?.stopAll();
  });

  it('phaseflow hosts lists the three hosts with their workers', async () => {
    const r = await phaseflow(['hosts', '--json'], env);
    assert.equal(r.code, 0, shown(r));
    const hosts = JSON.parse(r.stdout) as { host: string; liveWorkers: number }[];
    assert.deepEqual(
      hosts.map((h) => [h.host, h.liveWorkers]),
      [
        ['h1', 2],
        ['h2', 1],
        ['h3', 2],
      ],
    );
  });

  it('an epic pinned to a host whose workspace root does not hold its workspace is refused, writing nothing', async () => {
    const ws = path.join(roots.h2, 'misplaced');
    fs.mkdirSync(ws);
    const spec = path.join(base, 'misplaced.json');
    fs.writeFileSync(spec, JSON.stringify(hostEpic('misplaced', ws)));
    const r = await phaseflow(['start', spec, '--host', 'h1', '--watch'], env, 120_000);
    assert.equal(r.code, 1, shown(r));
    assert.match(r.stdout + r.stderr, /outside this host's workspace root .*\/h1/, shown(r));
    assert.ok(!fs.existsSync(path.join(ws, '.claude')), 'nothing written in the workspace');
  });

  it("six epics at once, each one's activities all on its host; h3 killed mid-run: its epics wait, visibly, and finish after it returns; the others are unaffected", async () => {
    const plan: { slug: string; host?: (typeof HOSTS)[number]; expect: (typeof HOSTS)[number] }[] = [
      { slug: 'e1', host: 'h1', expect: 'h1' },
      { slug: 'e2', host: 'h1', expect: 'h1' },
      { slug: 'e3', host: 'h2', expect: 'h2' },
      { slug: 'e4', host: 'h2', expect: 'h2' },
      { slug: 'e5', host: 'h3', expect: 'h3' },
      // No --host: the least loaded host (h1 and h2 run two epics each, h3 one).
      { slug: 'e6', expect: 'h3' },
    ];
    const ws = (p: (typeof plan)[number]) => path.join(roots[p.expect], p.slug);
    for (const p of plan) {
      fs.mkdirSync(ws(p), { recursive: true });
      const file = path.join(base, `${p.slug}.json`);
      fs.writeFileSync(file, JSON.stringify(hostEpic(p.slug, ws(p))));
      const r = await phaseflow(['start', file, ...(p.host ? ['--host', p.host] : [])], env);
      assert.equal(r.code, 0, shown(r));
      assert.match(r.stdout, new RegExp(`Pinned to host ${p.expect}\\b`), shown(r));
      if (!p.host) assert.match(r.stdout, /the least loaded \(running epics: h1 2, h2 2, h3 1\)/, shown(r));
    }
    const h3Epics = plan.filter((p) => p.expect === 'h3');
    const others = plan.filter((p) => p.expect !== 'h3');
    for (const p of plan) fs.writeFileSync(path.join(ws(p), 'go'), '');

    // Kill h3 once each of its epics has completed a task, and none has finished.
    await waitFor(
      'h3 epics under way',
      () => h3Epics.every((p) => completedTasks(ws(p), `${p.slug}-p`) >= 1),
      120_000,
      50,
    );
    const killedAt = Date.now();
    assert.equal(await workers.kill9('h3'), 2);
    const doneAtKill = Object.fromEntries(h3Epics.map((p) => [p.slug, completedTasks(ws(p), `${p.slug}-p`)]));
    assert.ok(
      h3Epics.every((p) => doneAtKill[p.slug] < 8),
      `h3 epics were mid-run when killed: ${JSON.stringify(doneAtKill)}`,
    );

    // h1 and h2 finish while h3 is down.
    for (const p of others) {
      const result = (await client.workflow.getHandle(ids.epic(p.slug)).result()) as { status: string };
      assert.equal(result.status, 'completed', `${p.slug}: ${JSON.stringify(result)}`);
    }
    const othersDoneAt = Date.now();

    // h3's epics wait: still running, and `status` says why.
    await waitFor(
      'status to call h3 down',
      async () => /host h3 is DOWN/.test((await phaseflow(['status', 'e5'], env)).stdout),
      60_000,
      1000,
    );
    for (const p of h3Epics) {
      const d = await client.workflow.getHandle(ids.epic(p.slug)).describe();
      assert.equal(d.status.name, 'RUNNING', `${p.slug} waits for its host`);
      // Retried: on a machine this busy, the CLI's own reachability check can time out.
      let s = await phaseflow(['status', p.slug], env);
      const says =
        /host h3 is DOWN: no worker has polled hosts-.*-host-h3 since .*resume when a worker of host h3 starts/;
      for (let i = 0; i < 5 && !says.test(s.stdout); i++) s = await phaseflow(['status', p.slug], env);
      assert.match(s.stdout, says, shown(s));
    }
    console.log(
      `      h3 killed ${((othersDoneAt - killedAt) / 1000).toFixed(1)} s before h1/h2 finished; status said DOWN ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`,
    );

    const restartAt = Date.now();
    // Nothing of h3's epics ran while it was down (after its in-flight activities were killed).
    for (const p of h3Epics) {
      const starts = Object.values(runsOf(ws(p)))
        .flat()
        .filter((l) => l.startsWith('start '))
        .map((l) => Number(BigInt(l.split(' ')[1]) / 1_000_000n));
      assert.deepEqual(
        starts.filter((t) => t > killedAt && t < restartAt),
        [],
        `${p.slug}: no task started while h3 was down`,
      );
      assert.equal(
        completedTasks(ws(p), `${p.slug}-p`),
        doneAtKill[p.slug],
        `${p.slug}: its mirror did not move while h3 was down`,
      );
    }

    await workers.start('h3', roots.h3);
    for (const p of h3Epics) {
      const result = (await client.workflow.getHandle(ids.epic(p.slug)).result()) as { status: string };
      assert.equal(result.status, 'completed', `${p.slug}: ${JSON.stringify(result)}`);
    }
    console.log(`      h3's epics finished ${((Date.now() - restartAt) / 1000).toFixed(1)} s after h3 came back`);

    // Every activity of every epic ran on its own host; no completed task ran again.
    for (const p of plan) {
      const starts = await activityStarts(client, p.slug);
      assert.ok(starts.length >= 1 + 8 + 4, `${p.slug}: ${starts.length} activities`);
      const elsewhere = starts.filter((s) => s.host !== p.expect);
      assert.deepEqual(elsewhere, [], `${p.slug}: every activity on host ${p.expect}`);
      for (const [file, lines] of Object.entries(runsOf(ws(p)))) {
        const firstEnd = lines.findIndex((l) => l.startsWith('end '));
        assert.ok(firstEnd >= 0, `${p.slug} ${file} completed`);
        assert.deepEqual(lines.slice(firstEnd + 1), [], `${p.slug} ${file}: not run again after it completed`);
      }
      const epicMirror = JSON.parse(fs.readFileSync(path.join(ws(p), `.claude/epics/${p.slug}/EPIC.json`), 'utf8'));
      assert.equal(epicMirror.status, 'completed');
    }
    assert.deepEqual(workers.unexpectedExits(), []);
  });
});
