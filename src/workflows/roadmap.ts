/**
 * A roadmap: its plans strictly one at a time, each a child workflow; a failed plan stops the
 * roadmap. Owns ROADMAP.json. Continues as new between plans when its history grows large.
 */
import { continueAsNew, startChild, workflowInfo } from '@temporalio/workflow';
import type { BudgetLine } from '../domain/budget';
import { workflowIds } from '../domain/ids';
import { mirrorPaths } from '../domain/paths';
import { SA } from '../domain/search-attributes';
import { mergeSettings } from '../domain/settings';
import type { RoadmapSpec } from '../domain/spec';
import type { EpicContext } from './epic-context';
import { type LevelCarry, LevelRun } from './level-run';
import { initialLevelState, planSizes, roadmapDoc } from './level-state';
import { continueAsNewIfDue, onCancel } from './lifecycle';
import type { ChildProgress } from './messages';
import { planWorkflow } from './plan';
import { pinToHost } from './workspace-host';

export interface RoadmapInput {
  epic: EpicContext;
  roadmap: RoadmapSpec;
  order: number;
  /** The epic's budget line, with what it had spent before this roadmap. */
  budgets?: BudgetLine[];
  paused?: boolean;
  carry?: LevelCarry;
}

export async function roadmapWorkflow(input: RoadmapInput): Promise<ChildProgress> {
  const { epic, roadmap } = input;
  pinToHost(epic.host);
  const state =
    input.carry?.state ??
    initialLevelState({
      slug: roadmap.slug,
      title: roadmap.title,
      workflowId: workflowInfo().workflowId,
      now: new Date().toISOString(),
      limit: roadmap.budget,
      children: planSizes(roadmap),
    });
  if (!input.carry) state.paused = input.paused ?? false;
  const level = new LevelRun(state, {
    kind: 'roadmap',
    childKind: 'plan',
    mirror: {
      kind: 'roadmap',
      workspace: epic.workspace,
      file: mirrorPaths.roadmap(roadmap.slug),
      build: (rev) =>
        roadmapDoc(state, { epicSlug: epic.slug, description: roadmap.description, order: input.order }, rev),
    },
    budgetsAbove: input.budgets ?? [],
    carry: input.carry,
  });
  const { historyEventsLimit } = mergeSettings(epic.settings, roadmap.settings);

  await onCancel(
    async () => {
      level.begin();
      for (const [i, plan] of roadmap.plans.entries()) {
        if (level.isDone(plan.slug)) continue;
        await continueAsNewIfDue(historyEventsLimit, async () =>
          continueAsNew<typeof roadmapWorkflow>({ ...input, carry: await level.carry() }),
        );
        const { budgets, paused } = level.childStarts(plan.slug);
        try {
          const handle = level.childRunning(
            await startChild(planWorkflow, {
              workflowId: workflowIds.child(workflowInfo().workflowId, plan.slug),
              args: [
                {
                  epic,
                  roadmapSlug: roadmap.slug,
                  roadmapSettings: roadmap.settings,
                  plan,
                  budgets,
                  paused,
                  ...(roadmap.github ? { roadmapGithub: roadmap.github } : {}),
                },
              ],
              staticSummary: `Plan ${i + 1}/${roadmap.plans.length} of roadmap ${roadmap.slug}: ${plan.title} (${plan.phases.length} phases)`,
              staticDetails: plan.description || undefined,
              typedSearchAttributes: [
                { key: SA.epic, value: epic.slug },
                { key: SA.roadmap, value: roadmap.slug },
                { key: SA.plan, value: plan.slug },
                { key: SA.level, value: 'plan' },
                { key: SA.status, value: 'active' },
              ],
            }),
          );
          level.childCompleted(plan.slug, await handle.result());
        } catch (err) {
          level.childFailed(plan.slug, err);
          break;
        }
      }
      level.complete();
    },
    () => level.cancelled(),
  );
  return level.finish();
}
