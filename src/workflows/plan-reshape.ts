/**
 * `phaseflow expand|collapse`: checkpoint the plan's files, run the specialists in parallel
 * (capped), each writing its own file; on a partial failure ask whether to retry the failed ones,
 * keep the successful ones, or restore; show the result as a plan diff and wait for approval
 * (time limit, reminder, default reject); apply it, or restore the checkpoint byte for byte.
 * After applying, a second analysis names the next candidates.
 */
import { workflowInfo } from '@temporalio/workflow';
import { type ReshapeInput, type ReshapeOutcome, ReshapeRun, reshapeActivities as act } from './reshape-run';

export async function planReshapeWorkflow(input: ReshapeInput): Promise<ReshapeOutcome> {
  const run = new ReshapeRun(input);
  const analysis = await act.reshapeAnalyze({ planPath: input.planPath, thresholds: run.thresholds });
  run.ref = analysis.ref;
  if (run.chooseTargets(analysis.phases).length === 0) return run.outcome('nothing-to-do');
  run.checkpoint = await act.reshapeCheckpoint({ ref: run.ref, op: input.op, id: workflowInfo().runId.slice(0, 8) });
  const restore = async (status: 'rejected' | 'restored') => {
    await act.reshapeRestore({ checkpoint: run.checkpoint!, ref: run.ref! });
    return run.outcome(status);
  };

  await run.runSpecialists(run.targets);
  while (run.failed.length > 0) {
    const { record } = await run.desk.ask({
      kind: 'escalation',
      cause: 'task-failed',
      question: `${run.failed.length} of ${run.targets.length} ${input.op} operations failed (phases ${run.failed.map((f) => f.phase).join(', ')}): retry them, skip them and keep the ${run.done.length} that succeeded, or abort and restore the checkpoint`,
      detail: run.failed.map((f) => `phase ${f.phase}: ${f.error}`).join('\n'),
      defaultAction: 'abort',
      failedTasks: run.failed.map((f) => f.phase),
    });
    if (record.action === 'retry' || record.action === 'retry-phase')
      await run.runSpecialists(run.failed.map((f) => f.phase));
    else if (record.action === 'skip' && run.done.length > 0) break;
    else return restore('restored');
  }

  const staged = await act.reshapeStage({ checkpoint: run.checkpoint, ref: run.ref, op: input.op, results: run.done });
  // orchestrate's `expand: auto` applies without asking; everyone else approves the diff.
  const { record } =
    input.approve === 'auto'
      ? { record: { action: 'approve' } }
      : await run.desk.ask({
          kind: 'approval',
          cause: 'approval',
          question: `apply the ${input.op} of phases ${run.done.map((d) => d.phase).join(', ')}? ${staged.summary}`,
          detail: `plan diff: ${staged.diffFile}`,
          defaultAction: 'reject',
        });
  if (record.action !== 'approve') return restore('rejected');
  await act.reshapeApply({ checkpoint: run.checkpoint, ref: run.ref });

  const after = await act.reshapeAnalyze({ planPath: input.planPath, thresholds: run.thresholds });
  return run.outcome('applied', {
    diffFile: staged.diffFile,
    summary: staged.summary,
    nextCandidates: run.candidates(after.phases),
  });
}
