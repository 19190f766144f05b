/**
 * Scale: one epic of roadmaps × plans × phases × zero-work tasks (10 × 10 × 10 × 10 = 10,000
 * tasks by default; `--scale small` is 2 × 2 × 2 × 10). A phase runs all its tasks at once
 * (maxParallel = tasks per phase). Figures: tasks per second over the epic workflow's
 * start → close, the largest history of any of its workflows (all found through visibility),
 * and the worker process's peak RSS during the run.
 */
import { tsToMs } from '@temporalio/common/lib/time';
import {
  activities,
  type FetchedHistory,
  fetchHistories,
  listEpicRuns,
  phaseBreakdown,
  workflowSpanMs,
  workflowTaskTimeouts,
} from '../history';
import { figure } from '../report';
import { benchEpic, phaseSlug, taskCount, workflowCount } from '../specs';
import type { Scenario } from './scenario';

const MB = 1024 * 1024;

export const scale: Scenario = {
  name: 'scale',
  uses: ['scale'],
  async run({ env, runId, scale: shape, log }) {
    const slug = `bench-scale-${runId}`;
    const tasks = taskCount(shape);
    const spec = benchEpic({
      slug,
      workspace: env.workspace(slug),
      shape,
      durationMs: 0,
      settings: { maxParallel: Math.min(64, shape.tasks) },
    });
    const label = `${shape.roadmaps}×${shape.plans}×${shape.phases}×${shape.tasks}`;
    log(`  epic ${label} = ${tasks} tasks, spec ${JSON.stringify(spec).length} bytes as workflow input`);

    const cpuBefore = env.cpuSeconds();
    const peakReset = env.worker.resetPeak();
    let sampledMax = 0;
    const sampler = setInterval(() => {
      sampledMax = Math.max(sampledMax, env.worker.memory().rssBytes);
    }, 250);
    let clientMs: number;
    try {
      ({ clientMs } = await env.runEpic(spec));
    } finally {
      clearInterval(sampler);
    }
    const mem = env.worker.memory();
    const cpuAfter = env.cpuSeconds();
    const peakRss = peakReset ? mem.peakRssBytes : Math.max(sampledMax, mem.rssBytes);

    log(
      `  done in ${(clientMs / 1000).toFixed(1)} s (client); CPU: server ${(cpuAfter.server - cpuBefore.server).toFixed(1)} s, ` +
        `worker ${(cpuAfter.worker - cpuBefore.worker).toFixed(1)} s; reading the histories of ${workflowCount(shape)} workflows`,
    );
    // Every run: a workflow that continued as new has several, each with its own history.
    const histories = await fetchHistories(env.client, await listEpicRuns(env.client, slug, workflowCount(shape)));
    const runsOf = new Map<string, FetchedHistory[]>();
    for (const h of histories) runsOf.set(h.workflowId, [...(runsOf.get(h.workflowId) ?? []), h]);
    const epicMs = workflowSpanMs(runsOf.get(`epic/${slug}`) ?? []);
    // A workflow's runs as one event list in time order (for the phase breakdown).
    const whole = (id: string): FetchedHistory => {
      const runs = [...(runsOf.get(id) ?? [])].sort(
        (a, b) => tsToMs(a.events[0].eventTime) - tsToMs(b.events[0].eventTime),
      );
      return { workflowId: id, events: runs.flatMap((r) => r.events), bytes: runs.reduce((n, r) => n + r.bytes, 0) };
    };
    const byEvents = histories.reduce((a, b) => (b.events.length > a.events.length ? b : a));
    const byBytes = histories.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    const ran = histories.reduce(
      (n, h) => n + activities(h).filter((a) => a.type === 'runAgentTask' && a.completedAt !== undefined).length,
      0,
    );
    if (ran !== tasks) throw new Error(`scale: ${ran} task activities completed in the histories, expected ${tasks}`);
    const levelOf = (id: string) => ['epic', 'roadmap', 'plan', 'phase'][id.split('/').length - 2];
    const breakdown = phaseBreakdown(
      [...runsOf.keys()]
        .filter((id) => levelOf(id) === 'plan')
        .map((id) => ({
          plan: whole(id),
          phases: Array.from({ length: shape.phases }, (_, i) => whole(`${id}/${phaseSlug(i + 1)}`)),
        })),
    );
    log(
      `  median phase: child start ${breakdown.childStartMs}, first workflow task ${breakdown.firstWorkflowTaskMs}, tasks ${breakdown.tasksMs}, close ${breakdown.closeMs}, plan's turn ${breakdown.planTurnMs} ms`,
    );
    const perLevel: Record<string, { runs: number; maxEvents: number; maxBytes: number; totalBytes: number }> = {};
    for (const h of histories) {
      const l = (perLevel[levelOf(h.workflowId)] ??= { runs: 0, maxEvents: 0, maxBytes: 0, totalBytes: 0 });
      l.runs++;
      l.maxEvents = Math.max(l.maxEvents, h.events.length);
      l.maxBytes = Math.max(l.maxBytes, h.bytes);
      l.totalBytes += h.bytes;
    }

    return {
      figures: [
        figure({
          key: 'scale.tasksPerSecond',
          label: `scale ${label}: tasks per second`,
          value: tasks / (epicMs / 1000),
          unit: '/s',
          target: { op: '>=', value: 100 },
          basis: `${tasks} tasks / epic workflow start → close (${(epicMs / 1000).toFixed(1)} s)`,
        }),
        figure({
          key: 'scale.maxHistoryEvents',
          label: `scale: largest history (events)`,
          value: byEvents.events.length,
          unit: 'events',
          target: { op: '<=', value: 10_000 },
          basis: `${byEvents.workflowId}, of ${histories.length} runs of ${runsOf.size} workflows listed by PhaseflowEpic="${slug}"`,
        }),
        figure({
          key: 'scale.maxHistoryMB',
          label: `scale: largest history (size)`,
          value: byBytes.bytes / MB,
          unit: 'MB',
          target: { op: '<=', value: 10 },
          basis: `${byBytes.workflowId} (${byBytes.bytes} bytes, protobuf-encoded)`,
        }),
        figure({
          key: 'scale.workerPeakRssMB',
          label: `scale: worker peak RSS`,
          value: peakRss / MB,
          unit: 'MB',
          target: { op: '<', value: 400 },
          basis: peakReset
            ? 'VmHWM of the worker process, reset (clear_refs) just before the epic started'
            : 'max VmRSS of the worker process sampled every 250 ms',
        }),
      ],
      details: {
        shape,
        tasks,
        workflows: runsOf.size,
        runs: histories.length,
        epicWorkflowMs: epicMs,
        epicClientMs: Math.round(clientMs),
        msPerPhase: epicMs / (shape.roadmaps * shape.plans * shape.phases),
        /** Medians over all phases: where one phase's time goes. */
        phaseBreakdown: breakdown,
        specBytes: JSON.stringify(spec).length,
        largestByEvents: {
          workflowId: byEvents.workflowId,
          runId: byEvents.runId,
          events: byEvents.events.length,
          bytes: byEvents.bytes,
        },
        largestByBytes: {
          workflowId: byBytes.workflowId,
          runId: byBytes.runId,
          events: byBytes.events.length,
          bytes: byBytes.bytes,
        },
        perLevel,
        totalHistoryBytes: histories.reduce((n, h) => n + h.bytes, 0),
        workflowTaskTimeouts: workflowTaskTimeouts(histories),
        /** Where the machine's time went during the epic (2 cores = 2 CPU seconds per second). */
        cpuSeconds: {
          server: cpuAfter.server - cpuBefore.server,
          worker: cpuAfter.worker - cpuBefore.worker,
          wallSeconds: epicMs / 1000,
        },
        workerPeakRssBytes: peakRss,
        workerRssAfterBytes: mem.rssBytes,
        workerSampledMaxRssBytes: sampledMax,
      },
    };
  },
};
