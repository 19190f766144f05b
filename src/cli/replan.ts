/**
 * `phaseflow replan ID SPEC|PLAN.md [--check] [--note T]`: changes the phases of a running epic
 * that have not started. The new plan comes from an epic spec (YAML/JSON) or a Markdown plan
 * (a file or a Structure-Level directory, read by `import`), so editing the Markdown plan and
 * replanning from it is the same path. For each plan that differs, the CLI shows the diff
 * against the plan's live spec and the verdict, then sends the `replan` update to that plan's
 * workflow, which checks it again against its live state (and refuses it with the reason when a
 * started phase would change) and applies it between phases.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { createTwoFilesPatch } from 'diff';
import YAML from 'yaml';
import { parseSpecText, SpecError } from '../domain/load-spec';
import { describeChange, judgeReplan, planDifference } from '../domain/replan';
import { EpicSpec, type PlanSpec } from '../domain/spec';
import { validateEpic } from '../domain/validate';
import { formatWarning, ImportError, importPlans } from '../plans/import';
import { planViewQuery, replanUpdate } from '../workflows/messages';
import { CliError } from './errors';
import { operator, queryWorkflow, requireWorker, resolveTarget, withClient } from './target';

export interface ReplanOptions {
  check?: boolean;
  note?: string;
}

export async function replanCommand(id: string, file: string, opts: ReplanOptions): Promise<void> {
  const next = loadNewSpec(file);
  await withClient(async (client) => {
    const target = await resolveTarget(client, id);
    const original = await startedSpec(client, target.epicId);
    let applied = 0;
    for (const roadmap of next.roadmaps) {
      for (const plan of roadmap.plans) {
        const planId = `${target.epicId}/${roadmap.slug}/${plan.slug}`;
        const before = original.roadmaps.find((r) => r.slug === roadmap.slug)?.plans.find((p) => p.slug === plan.slug);
        const status = await workflowStatus(client, planId);
        if (status !== 'RUNNING') {
          // Not running: unchanged is fine (a spec with several plans); a change cannot apply.
          if (before && !planDifference(before, plan)) continue;
          throw new CliError(
            !before
              ? `${planId}: the epic has no plan "${plan.slug}" in roadmap "${roadmap.slug}"; a replan changes phases of a running plan (adding plans is not supported yet)`
              : status === undefined
                ? `${planId}: the plan has not started yet; a replan changes phases of a running plan (replanning a plan that has not started is not supported yet)`
                : `${planId}: replan refused: the plan has ended (${status.toLowerCase()}); completed plans never change`,
          );
        }
        await requireWorker(client, planId, `replan of ${planId}: `);
        const view = await queryWorkflow(client, planId, planViewQuery);
        if (!planDifference(view.plan, plan)) continue;
        console.log(diffText(planId, file, view.plan, plan));
        const verdict = judgeReplan(view.status, view.plan, view.phases, plan);
        if (!verdict.ok) throw new CliError(`${planId}: replan refused: ${verdict.problem}; nothing changed`);
        if (opts.check) {
          console.log(
            `${planId}: the replan would be accepted: ${describeChange(verdict.change)} (--check: nothing sent)`,
          );
          continue;
        }
        try {
          const result = await client.workflow.getHandle(planId).executeUpdate(replanUpdate, {
            args: [{ plan, by: operator(), source: file, ...(opts.note ? { note: opts.note } : {}) }],
          });
          applied++;
          console.log(
            `${planId}: replan applied between phases: ${describeChange(result.change)}; kept ${result.change.kept.length} started phase(s); decision ${result.decision.id}`,
          );
        } catch (err) {
          if (err instanceof WorkflowUpdateFailedError)
            throw new CliError(`${(err.cause as Error | undefined)?.message ?? err.message}; nothing changed`);
          throw err;
        }
      }
    }
    if (!applied && !opts.check) console.log(`${target.epicId}: ${file} changes nothing that has not started`);
  });
}

/** The new spec: an epic spec file, or a Markdown plan read by `import`. Invalid: exit 2. */
function loadNewSpec(file: string): EpicSpec {
  let st;
  try {
    st = statSync(file);
  } catch {
    throw new CliError(`${file}: no such file or directory`);
  }
  try {
    if (st.isDirectory() || path.extname(file).toLowerCase() === '.md') {
      const imported = importPlans([file], { agentMode: 'dry-run' });
      for (const w of imported.warnings) console.error(`warning: ${formatWarning(w)}`);
      return validateEpic(imported.spec, file);
    }
    return validateEpic(parseSpecText(readFileSync(file, 'utf8'), file), file);
  } catch (err) {
    if (err instanceof SpecError || err instanceof ImportError) throw new CliError(err.message, 2);
    throw err;
  }
}

/** The spec the epic started with (its first event). */
async function startedSpec(client: Client, epicId: string): Promise<EpicSpec> {
  const history = await client.workflow.getHandle(epicId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return EpicSpec.parse(defaultPayloadConverter.fromPayload(payload as any));
}

async function workflowStatus(client: Client, id: string): Promise<string | undefined> {
  try {
    return (await client.workflow.getHandle(id).describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

function diffText(planId: string, file: string, live: PlanSpec, next: PlanSpec): string {
  const yaml = (p: PlanSpec) => YAML.stringify({ phases: p.phases }, { lineWidth: 0 });
  return createTwoFilesPatch(`${planId} (running)`, file, yaml(live), yaml(next), undefined, undefined, {
    context: 3,
  });
}
