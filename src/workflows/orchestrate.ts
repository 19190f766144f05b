/**
 * `phaseflow orchestrate "GOAL"`: from a sentence to working code as one durable run, read as its
 * process: research (parallel agents, capped) → plan (a validated epic spec and its Markdown plan;
 * an invalid draft goes back to the planner with the field paths) → analysis (heavy phases
 * expanded) → approval (the decision desk) → implement (the epic as a child workflow; its gates
 * get a debug agent before anyone is asked) → document (README / CHANGELOG from the phases'
 * summaries). Each stage hands the next only paths and short summaries; the run's record in the
 * workspace counts the bytes each stage produced and handed on. The state lives in OrchestrateRun.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import type { OrchestrateInputRaw, OrchestrateOutcome } from '../domain/orchestrate';
import { FailureTypes } from '../domain/types';
import { cutAfterPhase } from './orchestrate-cut';
import { documentTask, plannerTask, researchTask } from './orchestrate-roles';
import { orchestrateActivities as act, OrchestrateRun } from './orchestrate-run';

export async function orchestrateWorkflow(raw: OrchestrateInputRaw): Promise<OrchestrateOutcome> {
  // Loaded here, not at the top: zod stays out of the other workflows' evaluation (as in epic.ts).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { OrchestrateInput } = require('../domain/orchestrate-input') as typeof import('../domain/orchestrate-input');
  const parsed = OrchestrateInput.safeParse(raw);
  if (!parsed.success)
    throw ApplicationFailure.nonRetryable(
      `orchestrate input: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      FailureTypes.InvalidSpec,
    );
  const input = parsed.data;
  const run = new OrchestrateRun(input);
  run.survey = await act.orchestrateSurvey({
    goal: input.goal,
    workspace: input.workspace,
    research: input.research,
    slug: input.slug,
  });
  run.specPath = `specs/plans/${run.survey.planNumber}_${run.slug.replace(/-/g, '_')}.epic.json`;

  await run.research(run.survey.topics.map((t) => researchTask(input, run.survey, t)));
  await run.record();
  const planned = await run.planStage((draft, problems) =>
    plannerTask(input, run.survey, run.notes, run.specPath, draft, problems),
  );
  if (!planned.ok) {
    run.fail(planned.reason);
    return run.finish('failed');
  }
  await run.analysis();
  await run.record();
  if (!(await run.approval())) return run.finish('rejected');
  if (input.until === 'plan') return run.finish('planned');

  const spec = cutAfterPhase(run.plan!.spec, input.until);
  const implemented = await run.implement(spec.spec);
  await run.record();
  if (!implemented.ok) {
    run.fail(implemented.reason);
    return run.finish('failed');
  }
  const documented = await run.document(documentTask(input, run.slug, run.phaseSummaries));
  if (!documented.ok) {
    run.fail(documented.reason);
    return run.finish('failed');
  }
  return run.finish(spec.cut ? 'stopped' : 'completed');
}
