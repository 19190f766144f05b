/**
 * A plan (CCASP's phase-dev-plan): phases strictly one at a time, each a child workflow. Phase N+1
 * starts only after phase N completed (or a person skipped it); a failed or aborted phase stops
 * the plan. The plan owns PROGRESS.json and the orchestrator state (PlanRun keeps them current)
 * and passes pause and budget changes down to the running phase. Between phases it continues as
 * new when its history grows large.
 */
import { continueAsNew, startChild, workflowInfo } from '@temporalio/workflow';
import { workflowIds } from '../domain/ids';
import { SA } from '../domain/search-attributes';
import { onCancel, shouldContinueAsNew } from './lifecycle';
import { controlSignal } from './messages';
import { phaseWorkflow } from './phase';
import type { PhaseOutcome } from './phase-run';
import { type PlanInput, type PlanOutcome, PlanRun } from './plan-run';
import { pinToHost } from './workspace-host';

export async function planWorkflow(input: PlanInput): Promise<PlanOutcome> {
  const { epic, plan } = input;
  pinToHost(epic.host);
  const run = new PlanRun(input);

  await onCancel(
    async () => {
      run.begin();
      for (const phase of run.state.phases) {
        if (run.isDone(phase)) continue;
        if (shouldContinueAsNew(run.settings.historyEventsLimit))
          await continueAsNew<typeof planWorkflow>({ ...input, carry: await run.carry() });
        const spec = plan.phases[phase.index - 1];
        run.phaseStarts(phase);
        let outcome: PhaseOutcome;
        try {
          const handle = run.phaseRunning(
            await startChild(phaseWorkflow, {
              workflowId: workflowIds.child(workflowInfo().workflowId, spec.slug),
              args: [run.phaseInput(phase)],
              staticSummary: `Phase ${phase.index}/${plan.phases.length} of plan ${plan.slug}: ${spec.title} (${spec.tasks.length} tasks)`,
              staticDetails: spec.description || undefined,
              typedSearchAttributes: [
                { key: SA.epic, value: epic.slug },
                { key: SA.roadmap, value: input.roadmapSlug },
                { key: SA.plan, value: plan.slug },
                { key: SA.phase, value: spec.slug },
                { key: SA.level, value: 'phase' },
                { key: SA.status, value: 'active' },
              ],
            }),
          );
          // A pause that arrived while the phase was starting.
          if (run.state.paused) await handle.signal(controlSignal, { paused: true });
          outcome = await handle.result();
        } catch (err) {
          outcome = run.phaseWorkflowFailed(phase, err);
        }
        run.phaseEnded(phase, outcome);
        if (outcome.status === 'failed') break;
      }
      run.complete();
    },
    () => run.cancelled(),
  );
  return run.finish();
}
