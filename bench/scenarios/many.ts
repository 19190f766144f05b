/**
 * Many epics at once: 20 epics of 500 zero-work tasks each (1 roadmap × 5 plans × 10 phases ×
 * 10 tasks), started together on the one bench worker. Figures: aggregate tasks per second
 * (10,000 / first epic started → last epic closed) and the latency of a phase (its workflow's
 * start → close) at the median and the 99th percentile over all 1,000 phases. With `--address`
 * the same runs against any Temporal (the PostgreSQL stack, say).
 */
import { figure } from '../report';
import { fetchHistories, listEpicRuns, workflowTaskTimeouts } from '../history';
import { benchEpic, phaseId, type Shape, taskCount, workflowCount } from '../specs';
import { percentile } from '../agent-runs';
import type { Scenario } from './scenario';

const EPICS = 20;
const SHAPE: Shape = { roadmaps: 1, plans: 5, phases: 10, tasks: 10 };

export const many: Scenario = {
  name: 'many',
  uses: [],
  async run({ env, runId, log }) {
    const slugs = Array.from({ length: EPICS }, (_, i) => `bench-many-${runId}-${String(i + 1).padStart(2, '0')}`);
    const specs = slugs.map((slug) =>
      benchEpic({
        slug,
        workspace: env.workspace(slug),
        shape: SHAPE,
        durationMs: 0,
        settings: { maxParallel: SHAPE.tasks },
      }),
    );
    const tasks = EPICS * taskCount(SHAPE);
    log(
      `  ${EPICS} epics of ${taskCount(SHAPE)} tasks (${SHAPE.roadmaps}×${SHAPE.plans}×${SHAPE.phases}×${SHAPE.tasks}) at once`,
    );
    const cpuBefore = env.cpuSeconds();
    env.worker.resetPeak();
    const started = performance.now();
    await Promise.all(specs.map((spec) => env.runEpic(spec)));
    const clientMs = performance.now() - started;
    const cpuAfter = env.cpuSeconds();
    const mem = env.worker.memory();

    // Server times: each epic's start and close; each phase's start → close.
    const describe = (id: string) => env.client.workflow.getHandle(id).describe();
    const epics = await Promise.all(slugs.map((s) => describe(`epic/${s}`)));
    const firstStart = Math.min(...epics.map((e) => e.startTime.getTime()));
    const lastClose = Math.max(...epics.map((e) => e.closeTime!.getTime()));
    const phaseIds = slugs.flatMap((s) =>
      Array.from({ length: SHAPE.plans * SHAPE.phases }, (_, i) =>
        phaseId(s, 1, Math.floor(i / SHAPE.phases) + 1, (i % SHAPE.phases) + 1),
      ),
    );
    const latencies: number[] = [];
    for (let i = 0; i < phaseIds.length; i += 16) {
      const batch = await Promise.all(phaseIds.slice(i, i + 16).map(describe));
      for (const d of batch) {
        if (d.status.name !== 'COMPLETED') throw new Error(`many: ${d.workflowId} ended ${d.status.name}`);
        latencies.push(d.closeTime!.getTime() - d.startTime.getTime());
      }
    }
    // Workflow tasks that timed out: sticky-queue fallbacks (full replays) and slow tasks.
    const runs = (await Promise.all(slugs.map((s) => listEpicRuns(env.client, s, workflowCount(SHAPE))))).flat();
    const timeouts = workflowTaskTimeouts(await fetchHistories(env.client, runs));
    const wallMs = lastClose - firstStart;
    const perSecond = tasks / (wallMs / 1000);
    log(
      `  ${tasks} tasks in ${(wallMs / 1000).toFixed(1)} s → ${perSecond.toFixed(0)} tasks/s; phase p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms; ` +
        `CPU server ${(cpuAfter.server - cpuBefore.server).toFixed(1)} s, worker ${(cpuAfter.worker - cpuBefore.worker).toFixed(1)} s; ` +
        `workflow task timeouts: ${timeouts.scheduleToStart} schedule-to-start, ${timeouts.startToClose} start-to-close`,
    );
    return {
      figures: [
        figure({
          key: 'many.tasksPerSecond',
          label: `${EPICS} epics × ${taskCount(SHAPE)} tasks at once: tasks per second`,
          value: perSecond,
          unit: '/s',
          target: { op: '>=', value: 300 },
          basis: `${tasks} tasks / first epic started → last epic closed (${(wallMs / 1000).toFixed(1)} s, server time), one worker, ${env.ownServer ? 'the dev server' : env.address}`,
        }),
        figure({
          key: 'many.phaseP50Ms',
          label: `  phase latency p50`,
          value: percentile(latencies, 50),
          unit: 'ms',
          basis: `phase workflow start → close over all ${latencies.length} phases`,
        }),
        figure({
          key: 'many.phaseP99Ms',
          label: `  phase latency p99`,
          value: percentile(latencies, 99),
          unit: 'ms',
          basis: `as above, 99th percentile`,
        }),
      ],
      details: {
        epics: EPICS,
        shape: SHAPE,
        tasks,
        server: env.ownServer ? 'dev server (SQLite)' : env.address,
        wallMs,
        clientMs: Math.round(clientMs),
        cpuSeconds: { server: cpuAfter.server - cpuBefore.server, worker: cpuAfter.worker - cpuBefore.worker },
        workerPeakRssBytes: mem.peakRssBytes,
        workflowTaskTimeouts: timeouts,
        phaseLatencyMs: {
          p50: percentile(latencies, 50),
          p90: percentile(latencies, 90),
          p99: percentile(latencies, 99),
          max: Math.max(...latencies),
        },
      },
    };
  },
};
