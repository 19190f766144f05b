/**
 * An epic spec written as CCASP files: `.claude/epics/<epic>/EPIC.json`,
 * `.claude/roadmaps/<roadmap>/ROADMAP.json` and `.claude/phase-plans/<plan>/PROGRESS.json`, the
 * same documents (and renderers) as the run's mirrors, so they validate against CCASP's schemas.
 * What CCASP has no field for rides in `phaseflow_epic` / `phaseflow_roadmap` / `phaseflow_plan` /
 * `phaseflow_phase` / `phaseflow_task`, so `import(export(x))` is `x`. Pure: returns the files.
 */
import { mirrorPaths } from '../domain/paths';
import type { EpicSpec, TaskSpec } from '../domain/spec';
import { workflowIds } from '../domain/ids';
import { epicDoc, initialLevelState, roadmapDoc } from '../workflows/level-state';
import { initialPlanState, progressDoc } from '../workflows/plan-state';
import type { FileSet } from './markdown-export';

const TASK_DEFAULTS: Record<string, unknown> = {
  kind: 'agent',
  domain: 'general',
  outputType: 'code',
  complexity: 'default',
};

function omit(o: object, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => !keys.includes(k) && v !== undefined));
}

function taskExtra(t: TaskSpec): Record<string, unknown> {
  const extra = omit(t, ['id', 'status', 'source', 'dependsOn', 'files', 'agent']);
  for (const [k, v] of Object.entries(TASK_DEFAULTS)) if (extra[k] === v) delete extra[k];
  return extra;
}

const json = (doc: unknown) => `${JSON.stringify(doc, null, 2)}\n`;

export function exportCcasp(spec: EpicSpec, now: string): FileSet {
  const files: FileSet = new Map();
  const epicId = workflowIds.epic(spec.slug);
  const roadmapLevels = spec.roadmaps.map((roadmap, ri) => {
    const roadmapId = workflowIds.child(epicId, roadmap.slug);
    const planStates = roadmap.plans.map((plan) => {
      const state = initialPlanState({
        epicSlug: spec.slug,
        roadmapSlug: roadmap.slug,
        plan,
        workflowId: workflowIds.child(roadmapId, plan.slug),
        now,
      });
      const done = state.phases.every((p) => p.status === 'completed' || p.status === 'skipped');
      if (done) state.status = 'completed';
      const doc: any = progressDoc(state, 0);
      doc.phaseflow_plan = omit(plan, ['slug', 'phases']);
      doc.phases.forEach((p: any, i: number) => {
        const ps = plan.phases[i];
        p.phaseflow_phase = omit(ps, ['tasks', 'status', 'source']);
        p.tasks.forEach((t: any, j: number) => {
          const extra = taskExtra(ps.tasks[j]);
          if (Object.keys(extra).length) t.phaseflow_task = extra;
        });
      });
      files.set(mirrorPaths.progress(plan.slug), json(doc));
      return { plan, state, done };
    });
    const level = initialLevelState({
      slug: roadmap.slug,
      title: roadmap.title,
      workflowId: roadmapId,
      now,
      limit: roadmap.budget,
      children: roadmap.plans.map((p) => ({
        slug: p.slug,
        title: p.title,
        description: p.description,
        tasks: p.phases.reduce((n, ph) => n + ph.tasks.length, 0),
        phases: p.phases.length,
      })),
    });
    planStates.forEach(({ state, done }, i) => {
      const c = level.children[i];
      c.tasksCompleted = state.phases.flatMap((p) => p.tasks).filter((t) => t.status === 'completed').length;
      c.phasesCompleted = state.phases.filter((p) => p.status === 'completed' || p.status === 'skipped').length;
      if (done) c.status = 'completed';
    });
    if (level.children.every((c) => c.status === 'completed')) level.status = 'completed';
    const doc: any = roadmapDoc(level, { epicSlug: spec.slug, description: roadmap.description, order: ri + 1 }, 0);
    doc.phaseflow_roadmap = omit(roadmap, ['slug', 'title', 'plans']);
    files.set(mirrorPaths.roadmap(roadmap.slug), json(doc));
    return level;
  });
  const epic = initialLevelState({
    slug: spec.slug,
    title: spec.title,
    workflowId: epicId,
    now,
    limit: spec.budget,
    children: spec.roadmaps.map((r) => ({
      slug: r.slug,
      title: r.title,
      description: r.description,
      tasks: r.plans.reduce((n, p) => n + p.phases.reduce((m, ph) => m + ph.tasks.length, 0), 0),
      phases: r.plans.reduce((n, p) => n + p.phases.length, 0),
    })),
  });
  roadmapLevels.forEach((level, i) => {
    const c = epic.children[i];
    c.tasksCompleted = level.children.reduce((n, x) => n + x.tasksCompleted, 0);
    c.phasesCompleted = level.children.reduce((n, x) => n + x.phasesCompleted, 0);
    if (level.status === 'completed') c.status = 'completed';
  });
  if (epic.children.every((c) => c.status === 'completed')) epic.status = 'completed';
  const doc: any = epicDoc(epic, { description: spec.description, tags: spec.tags }, 0);
  doc.phaseflow_epic = omit(spec, ['roadmaps']);
  files.set(mirrorPaths.epic(spec.slug), json(doc));
  return files;
}
