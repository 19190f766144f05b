/**
 * Overhead of Temporal over plain in-process calls, for zero-work tasks (durationMs 0: the
 * activity only writes its details file and returns its AOP result).
 * - per task: 200 tasks in one phase at the spec's largest cap (maxParallel 64);
 *   (phase task span − Promise.all of the same 200 calls) / 200.
 * - per phase: 50 phases of one task in one plan; (plan's first phase started → last phase
 *   completed − Promise.all of the same 50 calls) / 50.
 */
import { promiseAllBaseline } from '../baseline';
import type { BenchEnv } from '../env';
import {
  activities,
  activitySpan,
  childSpan,
  fetchHistories,
  fetchHistory,
  type FetchedHistory,
  fetchWorkflowRuns,
  phaseBreakdown,
  workflowSpanMs,
} from '../history';
import { figure, median } from '../report';
import { benchEpic, phaseId, planId } from '../specs';
import type { TaskRunInput } from '../../src/domain/types';
import type { Scenario } from './scenario';

const TASKS = 200;
/** ExecutionSettings.maxParallel allows at most 64. */
const MAX_CAP = 64;
const PHASES = 50;

const taskInputs = (hs: FetchedHistory[]) =>
  hs.flatMap((h) =>
    activities(h)
      .filter((a) => a.type === 'runAgentTask')
      .map((a) => a.input as TaskRunInput),
  );

async function perTask(env: BenchEnv, slug: string) {
  const spec = benchEpic({
    slug,
    workspace: env.workspace(slug),
    shape: { roadmaps: 1, plans: 1, phases: 1, tasks: TASKS },
    durationMs: 0,
    settings: { maxParallel: MAX_CAP },
  });
  await env.runEpic(spec);
  const h = await fetchHistory(env.client, phaseId(slug, 1, 1, 1));
  const span = activitySpan(h, 'runAgentTask');
  const baselineMs = await promiseAllBaseline(taskInputs([h]), env.workspace(`${slug}-baseline`));
  const phaseMs = workflowSpanMs(h);
  return {
    taskSpanMs: span.ms,
    phaseWorkflowMs: phaseMs,
    baselineMs,
    maxConcurrent: span.maxConcurrent,
    perTaskMs: (span.ms - baselineMs) / TASKS,
    perTaskPhaseWorkflowMs: (phaseMs - baselineMs) / TASKS,
  };
}

async function perPhase(env: BenchEnv, slug: string) {
  const spec = benchEpic({
    slug,
    workspace: env.workspace(slug),
    shape: { roadmaps: 1, plans: 1, phases: PHASES, tasks: 1 },
    durationMs: 0,
  });
  await env.runEpic(spec);
  const plan = await fetchHistory(env.client, planId(slug, 1, 1));
  const epicMs = workflowSpanMs(await fetchWorkflowRuns(env.client, `epic/${slug}`));
  const span = childSpan(plan);
  const phases = await fetchHistories(
    env.client,
    Array.from({ length: PHASES }, (_, i) => phaseId(slug, 1, 1, i + 1)),
  );
  const baselineMs = await promiseAllBaseline(taskInputs(phases), env.workspace(`${slug}-baseline`));
  const phaseWorkflowMs = phases.map(workflowSpanMs);
  return {
    phasesSpanMs: span.ms,
    epicWorkflowMs: epicMs,
    baselineMs,
    perPhaseMs: (span.ms - baselineMs) / PHASES,
    perPhaseEpicMs: (epicMs - baselineMs) / PHASES,
    phaseWorkflowMedianMs: median(phaseWorkflowMs),
    planWorkflowMs: workflowSpanMs(plan),
    planHistoryEvents: plan.events.length,
    /** Medians over the 50 phases: where one phase's time goes. */
    breakdown: phaseBreakdown([{ plan, phases }]),
  };
}

export const overhead: Scenario = {
  name: 'overhead',
  uses: ['repeat'],
  async run({ env, runId, repeat, log }) {
    const taskRuns = [];
    const phaseRuns = [];
    for (let i = 1; i <= repeat; i++) {
      const t = await perTask(env, `bench-ovt-${runId}-${i}`);
      log(
        `  ${TASKS} zero-work tasks run ${i}: task span ${t.taskSpanMs} ms, Promise.all ${t.baselineMs.toFixed(1)} ms → ${t.perTaskMs.toFixed(2)} ms/task`,
      );
      taskRuns.push(t);
      const p = await perPhase(env, `bench-ovp-${runId}-${i}`);
      const b = p.breakdown;
      log(
        `  ${PHASES} one-task phases run ${i}: phases span ${p.phasesSpanMs} ms, Promise.all ${p.baselineMs.toFixed(1)} ms → ${p.perPhaseMs.toFixed(1)} ms/phase`,
      );
      log(
        `    median phase: child start ${b.childStartMs}, first workflow task ${b.firstWorkflowTaskMs} (waiting for a worker ${b.firstTaskPickupMs}, running ${b.firstTaskRunMs}), task ${b.tasksMs}, close ${b.closeMs} (waiting ${b.closePickupMs}), plan's turn ${b.planTurnMs} ms`,
      );
      phaseRuns.push(p);
    }
    return {
      figures: [
        figure({
          key: 'overhead.perTaskMs',
          label: `overhead per task (${TASKS} zero-work, cap ${MAX_CAP})`,
          value: median(taskRuns.map((r) => r.perTaskMs)),
          unit: 'ms',
          target: { op: '<=', value: 10 },
          basis: `(phase task span − in-process Promise.all of the same ${TASKS} runAgentTask calls) / ${TASKS}; cap ${MAX_CAP} is the spec maximum; median of ${repeat}`,
        }),
        figure({
          key: 'overhead.perPhaseMs',
          label: `overhead per phase (${PHASES} one-task phases)`,
          value: median(phaseRuns.map((r) => r.perPhaseMs)),
          unit: 'ms',
          target: { op: '<=', value: 50 },
          basis: `(plan history: first phase child initiated → last completed − Promise.all of the same ${PHASES} calls) / ${PHASES}; median of ${repeat}`,
        }),
        figure({
          key: 'overhead.perPhaseEpicMs',
          label: `  same, epic workflow start → close`,
          value: median(phaseRuns.map((r) => r.perPhaseEpicMs)),
          unit: 'ms',
          basis: `(epic workflow start → close − Promise.all) / ${PHASES}; median of ${repeat}`,
        }),
      ],
      details: { tasks: TASKS, cap: MAX_CAP, phases: PHASES, perTask: taskRuns, perPhase: phaseRuns },
    };
  },
};
