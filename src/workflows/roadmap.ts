/** A roadmap: its plans strictly one at a time, each a child workflow. Owns ROADMAP.json. */
import { executeChild, workflowInfo } from '@temporalio/workflow';
import { workflowIds } from '../domain/ids';
import { mirrorPaths } from '../domain/paths';
import { SA } from '../domain/search-attributes';
import type { RoadmapSpec } from '../domain/spec';
import type { EpicContext } from './epic-context';
import type { ChildProgress } from './messages';
import { LevelRunner } from './level-runner';
import { planWorkflow } from './plan';
import { initialLevelState, planSizes, roadmapDoc } from './rollup';

export interface RoadmapInput {
  epic: EpicContext;
  roadmap: RoadmapSpec;
  order: number;
}

export async function roadmapWorkflow(input: RoadmapInput): Promise<ChildProgress> {
  const { epic, roadmap } = input;
  const state = initialLevelState({ slug: roadmap.slug, title: roadmap.title, workflowId: workflowInfo().workflowId, now: new Date().toISOString(), children: planSizes(roadmap) });
  const level = new LevelRunner(state, {
    kind: 'roadmap',
    childKind: 'plan',
    mirror: {
      kind: 'roadmap',
      workspace: epic.workspace,
      file: mirrorPaths.roadmap(roadmap.slug),
      build: (rev) => roadmapDoc(state, { epicSlug: epic.slug, description: roadmap.description, order: input.order }, rev),
    },
  });
  await level.runChildren(
    roadmap.plans.map((plan, i) => ({
      slug: plan.slug,
      run: () =>
        executeChild(planWorkflow, {
          workflowId: workflowIds.child(workflowInfo().workflowId, plan.slug),
          args: [{ epic, roadmapSlug: roadmap.slug, roadmapSettings: roadmap.settings, plan }],
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
    })),
  );
  return level.finish();
}
