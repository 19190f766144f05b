/**
 * A phase: its tasks run as parallel activities, at most `maxParallel` at once, each starting as
 * soon as the tasks it depends on have completed; then the validation gate. A task that fails
 * after its last attempt stops new tasks from starting; the phase fails with the reason.
 */
import { proxyActivities, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type * as activities from '../activities';
import { SA } from '../domain/search-attributes';
import { mergeSettings } from '../domain/settings';
import type { ExecutionSettings, PhaseSpec, TaskSpec } from '../domain/spec';
import { addUsage, type GateResult, type TaskContext, type TaskRunInput, type Usage, ZERO_USAGE } from '../domain/types';
import { bar, STATUS_ICON, usageLine } from './details';
import { type StatusNode, statusQuery, taskUpdatesSignal } from './messages';
import { Outbox } from './outbox';
import type { TaskStatus, TaskUpdate } from './plan-state';
import { runTaskAttempts } from './task-attempts';

export interface PhaseInput {
  ctx: TaskContext;
  phase: PhaseSpec;
  /** Settings of the levels above (epic, roadmap, plan); the phase's and each task's apply on top. */
  inherited: (ExecutionSettings | undefined)[];
  agentMode: TaskRunInput['agentMode'];
  /** Time limit of each gate command without its own. */
  gateTimeoutMs: number;
}

export interface PhaseOutcome {
  status: 'completed' | 'failed';
  failureReason?: string;
  gate: GateResult | null;
  tasks: { id: string; status: TaskStatus; attempts: number }[];
  usage: Usage;
}

export async function phaseWorkflow(input: PhaseInput): Promise<PhaseOutcome> {
  const { ctx, phase } = input;
  const phaseSettings = mergeSettings(...input.inherited, phase.settings);
  const outbox = new Outbox<TaskUpdate>(taskUpdatesSignal);
  const outboxDone = outbox.run();

  const state = new Map(phase.tasks.map((t) => [t.id, { status: 'pending' as TaskStatus, attempts: 0, usage: ZERO_USAGE, error: undefined as string | undefined }]));
  let gate: GateResult | null = null;
  let failureReason: string | undefined;
  let phaseStatus: 'active' | 'completed' | 'failed' = 'active';

  const render = () => {
    const done = [...state.values()].filter((s) => s.status === 'completed').length;
    const lines = [
      `### Phase ${ctx.phaseIndex}: ${phase.title}`,
      `**${phaseStatus}** · ${bar(done, phase.tasks.length)} · up to ${phaseSettings.maxParallel} at once · ${usageLine(totalUsage())}`,
      '',
      '| | task | kind | attempts | |',
      '|---|---|---|---|---|',
      ...phase.tasks.map((t) => {
        const s = state.get(t.id)!;
        return `| ${STATUS_ICON[s.status] ?? ''} | ${t.id} | ${t.kind} | ${s.attempts} | ${escapeCell(s.error ?? t.description)} |`;
      }),
    ];
    if (gate) lines.push('', `Gate: ${gate.passed ? 'passed' : `**failed**: ${gate.reason}`}`);
    if (failureReason) lines.push('', `**Failed:** ${failureReason}`);
    setCurrentDetails(lines.join('\n'));
  };
  const totalUsage = () => [...state.values()].reduce((u, s) => addUsage(u, s.usage), ZERO_USAGE);

  setHandler(statusQuery, (): StatusNode => ({
    level: 'phase',
    slug: phase.slug,
    title: phase.title,
    status: phaseStatus,
    tasksTotal: phase.tasks.length,
    tasksCompleted: [...state.values()].filter((s) => s.status === 'completed').length,
    usage: totalUsage(),
    failureReason,
  }));
  render();

  const runOne = async (task: TaskSpec) => {
    const s = state.get(task.id)!;
    const outcome = await runTaskAttempts({
      ctx,
      task,
      settings: mergeSettings(...input.inherited, phase.settings, task.settings),
      agentMode: input.agentMode,
      report: (r) => {
        s.status = r.status;
        s.attempts = r.attempt;
        if (r.result) s.usage = addUsage(s.usage, r.result.usage);
        if (r.usage) s.usage = addUsage(s.usage, r.usage);
        if (r.error) s.error = r.error;
        if (r.status === 'completed') s.error = undefined;
        outbox.push({
          phaseIndex: ctx.phaseIndex,
          at: new Date().toISOString(),
          id: task.id,
          status: r.status,
          attempts: r.attempt,
          usage: s.usage,
          ...(r.result ? { summary: r.result.summary, detailsFile: r.result.detailsFile, durationMs: r.result.durationMs } : {}),
          ...(r.error ? { error: r.error } : {}),
        });
        render();
      },
    });
    if (outcome.status === 'failed' && !failureReason) failureReason = `task ${task.id} failed after ${outcome.attempts} attempt(s): ${outcome.error}`;
  };

  // Dependency-aware scheduling under the cap.
  const running = new Map<string, Promise<void>>();
  for (;;) {
    if (!failureReason) {
      for (const task of phase.tasks) {
        if (running.size >= phaseSettings.maxParallel) break;
        const s = state.get(task.id)!;
        if (s.status !== 'pending' || running.has(task.id)) continue;
        if (!task.dependsOn.every((d) => state.get(d)?.status === 'completed')) continue;
        running.set(task.id, runOne(task).finally(() => running.delete(task.id)));
      }
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }

  const notStarted = phase.tasks.filter((t) => state.get(t.id)!.status === 'pending');
  for (const t of notStarted) {
    state.get(t.id)!.status = 'not_started';
    outbox.push({ phaseIndex: ctx.phaseIndex, at: new Date().toISOString(), id: t.id, status: 'not_started', attempts: 0 });
  }

  if (!failureReason && phase.gate.commands.length > 0) {
    const { runGate } = proxyActivities<typeof activities>({
      startToCloseTimeout: input.gateTimeoutMs * phase.gate.commands.length + 30_000,
      heartbeatTimeout: '30 seconds',
      retry: { maximumAttempts: 3, backoffCoefficient: 1.5 },
      summary: `validation gate of phase ${phase.slug} (${phase.gate.commands.length} command(s))`,
    });
    gate = await runGate({ ctx, commands: phase.gate.commands, successCriteria: phase.gate.successCriteria, timeoutMs: input.gateTimeoutMs, run: workflowInfo().attempt });
    if (!gate.passed) failureReason = `validation gate failed: ${gate.reason}`;
  }

  phaseStatus = failureReason ? 'failed' : 'completed';
  upsertSearchAttributes([{ key: SA.status, value: phaseStatus }]);
  render();
  await outbox.close();
  await outboxDone;
  return {
    status: phaseStatus,
    ...(failureReason ? { failureReason } : {}),
    gate,
    tasks: phase.tasks.map((t) => ({ id: t.id, status: state.get(t.id)!.status, attempts: state.get(t.id)!.attempts })),
    usage: totalUsage(),
  };
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 120);
}
