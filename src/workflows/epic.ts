/**
 * An epic: the whole job. Validates its spec (so a plain `temporal workflow start --input-file
 * epic.json` is checked too), prepares the workspace, then runs its roadmaps strictly one at a
 * time as child workflows; a failed roadmap stops the epic. Owns EPIC.json. Continues as new
 * between roadmaps when its history grows large (the second argument is what it carries).
 */
import {
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  proxyActivities,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../activities';
import { workflowIds } from '../domain/ids';
import { mirrorPaths } from '../domain/paths';
import { SA } from '../domain/search-attributes';
import { mergeSettings } from '../domain/settings';
import type { EpicSpec, EpicSpecInput } from '../domain/spec';
import { FailureTypes } from '../domain/types';
import type { EpicContext } from './epic-context';
import { type LevelCarry, LevelRun } from './level-run';
import { epicDoc, initialLevelState, roadmapSizes } from './level-state';
import { continueAsNewIfDue, onCancel } from './lifecycle';
import type { ChildProgress } from './messages';
import { roadmapWorkflow } from './roadmap';
import { onWorkspaceHost, pinToHost } from './workspace-host';

/** Default time limit of a gate command. */
const GATE_TIMEOUT_MS = 10 * 60_000;

export async function epicWorkflow(
  input: EpicSpecInput,
  carry?: LevelCarry & { workspace: string },
): Promise<ChildProgress> {
  // Loaded here, not at the top: zod is a megabyte of the bundle, and every workflow run
  // evaluates the modules it imports. Only the epic needs the validator.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseEpic } = require('../domain/validate') as typeof import('../domain/validate');
  const parsed = parseEpic(input, 'workflow input');
  if (!parsed.ok) throw ApplicationFailure.nonRetryable(parsed.error, FailureTypes.InvalidSpec);
  const spec = parsed.spec;
  pinToHost(spec.host);
  const workspace = carry?.workspace ?? (await prepare(spec));
  const epic: EpicContext = {
    slug: spec.slug,
    title: spec.title,
    workspace,
    ...(spec.host ? { host: spec.host } : {}),
    agentMode: spec.agentMode,
    settings: spec.settings,
    budget: spec.budget,
    gateTimeoutMs: GATE_TIMEOUT_MS,
    requirePhaseApproval: spec.gating.require_phase_approval,
    ...(spec.git ? { git: spec.git } : {}),
    ...(spec.github ? { github: spec.github } : {}),
  };
  if (!carry) {
    upsertSearchAttributes([
      { key: SA.epic, value: spec.slug },
      { key: SA.level, value: 'epic' },
      { key: SA.status, value: 'active' },
      ...(spec.host ? [{ key: SA.host, value: spec.host }] : []),
    ]);
  }

  const state =
    carry?.state ??
    initialLevelState({
      slug: spec.slug,
      title: spec.title,
      workflowId: workflowInfo().workflowId,
      now: new Date().toISOString(),
      limit: spec.budget,
      children: roadmapSizes(spec),
    });
  const level = new LevelRun(state, {
    kind: 'epic',
    childKind: 'roadmap',
    mirror: {
      kind: 'epic',
      workspace,
      file: mirrorPaths.epic(spec.slug),
      build: (rev) => epicDoc(state, { description: spec.description, tags: spec.tags }, rev),
    },
    budgetsAbove: [],
    carry,
  });
  const { historyEventsLimit } = mergeSettings(spec.settings);

  await onCancel(
    async () => {
      level.begin();
      for (const [i, roadmap] of spec.roadmaps.entries()) {
        if (level.isDone(roadmap.slug)) continue;
        await continueAsNewIfDue(historyEventsLimit, async () =>
          continueAsNew<typeof epicWorkflow>(input, { ...(await level.carry()), workspace }),
        );
        const { budgets, paused } = level.childStarts(roadmap.slug);
        try {
          const handle = level.childRunning(
            await startChild(roadmapWorkflow, {
              workflowId: workflowIds.child(workflowInfo().workflowId, roadmap.slug),
              args: [{ epic, roadmap, order: i + 1, budgets, paused }],
              staticSummary: `Roadmap ${i + 1}/${spec.roadmaps.length} of epic ${spec.slug}: ${roadmap.title} (${roadmap.plans.length} plans)`,
              staticDetails: roadmap.description || undefined,
              typedSearchAttributes: [
                { key: SA.epic, value: spec.slug },
                { key: SA.roadmap, value: roadmap.slug },
                { key: SA.level, value: 'roadmap' },
                { key: SA.status, value: 'active' },
              ],
            }),
          );
          level.childCompleted(roadmap.slug, await handle.result());
        } catch (err) {
          level.childFailed(roadmap.slug, err);
          break;
        }
      }
      level.complete();
    },
    () => level.cancelled(),
  );
  return level.finish();
}

/**
 * Checks the workspace and claims the epic's slugs there (prepareWorkspace). A refusal fails the
 * epic with the activity's own message (a missing workspace, a slug another epic owns), not
 * with "Activity task failed".
 */
async function prepare(spec: EpicSpec): Promise<string> {
  const { prepareWorkspace, gitPrepareWorkspace } = proxyActivities<typeof activities>(
    onWorkspaceHost({
      startToCloseTimeout: '1 minute',
      retry: { maximumAttempts: 5, backoffCoefficient: 1.5 },
    }),
  );
  try {
    // The repository first: a refused dirty tree leaves no claim or archive behind.
    if (spec.git?.commitPerPhase)
      await gitPrepareWorkspace({ epicSlug: spec.slug, workspace: spec.workspace, git: spec.git });
    const prepared = await prepareWorkspace({
      epicSlug: spec.slug,
      workspace: spec.workspace,
      owner: `${workflowInfo().workflowId}#${workflowInfo().firstExecutionRunId}`,
      roadmaps: spec.roadmaps.map((r) => r.slug),
      plans: spec.roadmaps.flatMap((r) => r.plans.map((p) => p.slug)),
    });
    return prepared.workspace;
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure)
      throw ApplicationFailure.nonRetryable(err.cause.message, FailureTypes.WorkspaceRefused);
    throw err;
  }
}
