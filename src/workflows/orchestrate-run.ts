/**
 * The state of an orchestrate run, beside its workflow function: the survey, what each stage
 * handed on (paths and short summaries only) and how many bytes it produced and passed, the
 * approval desk, the run's record in the workspace and its Web UI details.
 */
import {
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type * as activities from '../activities';
import type { DraftCheck, Survey } from '../activities/orchestrate';
import { workflowIds } from '../domain/ids';
import {
  jsonBytes,
  type OrchestrateInput,
  type OrchestrateOutcome,
  orchestrateRecordPath,
  pruneWords,
  reduction,
  type StageName,
  type StageRecord,
} from '../domain/orchestrate';
import { mergeSettings } from '../domain/settings';
import type { EpicSpecInput, TaskSpec } from '../domain/spec';
import { addUsage, type Usage, ZERO_USAGE } from '../domain/types';
import { DecisionDesk } from './decision-desk';
import { epicWorkflow } from './epic';
import { usageLine } from './details';
import { pendingQuery } from './messages';
import type { ResearchNote } from './orchestrate-roles';
import { planReshapeWorkflow } from './plan-reshape';
import { runTaskAttempts, type TaskOutcome } from './task-attempts';

export const orchestrateActivities = proxyActivities<typeof activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 3, backoffCoefficient: 1.5 },
});
const act = orchestrateActivities;

export type Ok<T> = { ok: true; value: T } | { ok: false; reason: string };

export class OrchestrateRun {
  readonly desk: DecisionDesk;
  readonly stages: StageRecord[] = [];
  survey!: Survey;
  notes: ResearchNote[] = [];
  plan: Extract<DraftCheck, { ok: true }> | undefined;
  specPath = '';
  epicId: string | undefined;
  usage: Usage = ZERO_USAGE;
  private status = 'starting';
  private failureReason: string | undefined;

  constructor(readonly input: OrchestrateInput) {
    this.desk = new DecisionDesk(
      {
        workflowId: workflowInfo().workflowId,
        epicSlug: input.slug ?? '',
        roadmapSlug: 'orchestrate',
        planSlug: input.slug ?? 'orchestrate',
        phaseSlug: 'approval',
        phaseTitle: `orchestrate: ${pruneWords(input.goal, 12)}`,
      },
      { timeoutMs: input.decisionTimeoutSeconds * 1000, reminderBeforeMs: input.reminderBeforeSeconds * 1000 },
      () => this.render(),
    );
    setHandler(pendingQuery, () => (this.desk.pending ? [this.desk.pending] : []));
    this.render();
  }

  get slug(): string {
    return this.survey?.slug ?? this.input.slug ?? 'orchestrate';
  }

  /** Research: one agent per topic, at most `researchParallel` at once; each hands on its report's path and ≤ 50 words. */
  async research(tasks: TaskSpec[]): Promise<void> {
    this.set('research', `${tasks.length} research agent(s), ${this.input.researchParallel} at once`);
    const queue = [...tasks];
    const results = new Map<string, TaskOutcome>();
    const lane = async () => {
      for (let t = queue.shift(); t; t = queue.shift()) results.set(t.id, await this.runAgent('research', t));
    };
    await Promise.all(Array.from({ length: Math.min(this.input.researchParallel, tasks.length) }, lane));
    const topics = this.survey.topics;
    const sizes = await act.orchestrateMeasureFiles({
      workspace: this.survey.workspace,
      paths: topics.map((t) => t.reportPath),
    });
    this.notes = topics.flatMap((t, i) => {
      const r = results.get(`research-${t.n}`);
      if (r?.status !== 'completed' || sizes[i] < 0) {
        log.warn(`phaseflow: orchestrate ${this.slug}: research ${t.n} (${t.title}) wrote no report`, {
          task: `research-${t.n}`,
        });
        return [];
      }
      return [{ topic: t.title, path: t.reportPath, summary: pruneWords(r.result?.summary ?? '') }];
    });
    const produced = sizes.filter((s) => s > 0).reduce((a, b) => a + b, 0);
    this.stage(
      'research',
      this.notes.length ? 'completed' : 'failed',
      produced,
      this.notes,
      this.notes.map((n) => ({ path: n.path, summary: n.summary })),
    );
  }

  /** Plan: the planner drafts until its spec validates (zod, field paths back to it), at most `plannerDrafts` times. */
  async planStage(task: (draft: number, problems: { path: string; message: string }[]) => TaskSpec): Promise<Ok<void>> {
    let problems: { path: string; message: string }[] = [];
    const drafts: string[] = [];
    for (let draft = 1; draft <= this.input.plannerDrafts; draft++) {
      this.set('plan', `planner draft ${draft}/${this.input.plannerDrafts}`);
      const outcome = await this.runAgent('plan', task(draft, problems), draft - 1);
      const check = await act.orchestrateCheckDraft({
        workspace: this.survey.workspace,
        specPath: this.specPath,
        slug: this.slug,
        agentMode: this.input.agentMode,
        gateDebugAttempts: this.input.gateDebugAttempts,
        planNumber: this.survey.planNumber,
        ...(this.input.settings ? { settings: this.input.settings } : {}),
      });
      if (check.ok) {
        this.plan = check;
        const handed = { planPaths: check.planPaths, specPath: this.specPath, summary: check.summary };
        this.stage('plan', 'completed', check.bytes, handed, [
          ...check.planPaths.map((p) => ({ path: p, summary: check.summary })),
          ...drafts.map((d) => ({ summary: d })),
        ]);
        return { ok: true, value: undefined };
      }
      problems = check.problems;
      drafts.push(
        `draft ${draft} refused (${outcome.status}): ${problems.map((p) => `${p.path || '(root)'}: ${p.message}`).join('; ')}`,
      );
    }
    const reason = `the planner wrote no valid spec in ${this.input.plannerDrafts} draft(s): ${drafts.join(' | ')}`;
    this.stage(
      'plan',
      'failed',
      0,
      {},
      drafts.map((d) => ({ summary: d })),
    );
    return { ok: false, reason };
  }

  /** Analysis: phases of complexity 8 or more; with expand auto (or ask), the Markdown plan is expanded by planReshapeWorkflow. */
  async analysis(): Promise<void> {
    const heavy = this.plan!.analysis.filter((a) => a.complexity >= 8);
    const items = this.plan!.analysis.map((a) => ({
      summary: `${a.plan} phase ${a.phase} ${a.title}: complexity ${a.complexity}/10`,
    }));
    let note = heavy.length
      ? `expand recommended for phases ${heavy.map((h) => h.phase).join(', ')}`
      : 'no phase of complexity 8 or more';
    if (heavy.length && this.input.expand !== 'off') {
      this.set('analysis', note);
      const planPath = this.plan!.planPaths[0];
      const handle: ChildWorkflowHandle<typeof planReshapeWorkflow> = await startChild(planReshapeWorkflow, {
        workflowId: `reshape/${this.slug}-${workflowInfo().runId.slice(0, 8)}`,
        args: [
          {
            planPath: `${this.survey.workspace}/${planPath}`,
            op: 'expand',
            auto: true,
            ...(this.input.expand === 'auto' ? { approve: 'auto' as const } : {}),
            decisionTimeoutSeconds: this.input.decisionTimeoutSeconds,
            reminderBeforeSeconds: this.input.reminderBeforeSeconds,
          },
        ],
        staticSummary: `expand the heavy phases of ${planPath} (orchestrate ${this.slug})`,
      });
      const reshaped = await handle.result();
      note += `; expand ${reshaped.status}`;
      // Expanded, the plan is a Level-1 directory: NNN_name.md → NNN_name/NNN_name.md.
      if (reshaped.status === 'applied') {
        const stem = planPath.replace(/^.*\//, '').replace(/\.md$/, '');
        this.plan!.planPaths[0] = planPath.replace(/[^/]+$/, `${stem}/${stem}.md`);
      }
    }
    this.stage('analysis', 'completed', 0, items, items, note);
  }

  /** Approval: the existing desk (time limit, reminder, default); the question carries the plan's path and summary. */
  async approval(): Promise<boolean> {
    this.set('approval', 'waiting for approval of the plan');
    const { record } = await this.desk.ask({
      kind: 'approval',
      cause: 'approval',
      question: `Approve the plan ${this.plan!.planPaths.join(', ')} for "${pruneWords(this.input.goal, 20)}"? ${this.plan!.summary}`,
      detail: `plan: ${this.plan!.planPaths.join(', ')}; spec: ${this.specPath}; research: ${this.notes.map((n) => n.path).join(', ')}`,
      defaultAction: this.input.approvalDefault,
    });
    const approved = record.action === 'approve';
    this.stage('approval', approved ? 'completed' : 'rejected', 0, {}, [
      {
        summary: `${record.action} by ${record.source === 'default' ? 'default' : (record.by ?? 'a person')}${record.note ? `: ${record.note}` : ''}`,
      },
    ]);
    return approved;
  }

  /** Implement: the approved epic (cut after phase N for `--until phase:N`) as a child workflow. */
  async implement(spec: EpicSpecInput): Promise<Ok<void>> {
    this.epicId = workflowIds.epic(spec.slug);
    this.set('implement', `epic ${this.epicId}`);
    let reason: string | undefined;
    try {
      const handle = await startChild(epicWorkflow, {
        workflowId: this.epicId,
        args: [spec],
        staticSummary: `Epic ${spec.slug} of orchestrate: ${pruneWords(this.input.goal, 12)}`,
      });
      await handle.result();
    } catch (err) {
      reason = `epic ${this.epicId} failed: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`;
    }
    const plans = spec.roadmaps.flatMap((r) => r.plans.map((p) => p.slug));
    const produced = await act.orchestrateEpicBytes({ workspace: this.survey.workspace, plans });
    const handed = await act.orchestratePhaseSummaries({ workspace: this.survey.workspace, plans });
    this.phaseSummaries = handed.phases;
    this.stage(
      'implement',
      reason ? 'failed' : 'completed',
      produced + handed.bytesRead,
      handed.phases,
      handed.phases.map((p) => ({ summary: `${p.title} (${p.status}): ${p.summary}` })),
      reason,
    );
    return reason ? { ok: false, reason } : { ok: true, value: undefined };
  }

  phaseSummaries: Awaited<ReturnType<typeof act.orchestratePhaseSummaries>>['phases'] = [];

  /** Document: an agent updates README / CHANGELOG from the phases' summaries. */
  async document(task: TaskSpec): Promise<Ok<void>> {
    this.set('document', 'README / CHANGELOG');
    const outcome = await this.runAgent('document', task);
    // What the agent wrote (README, CHANGELOG, whatever else it touched), measured on disk.
    const written = outcome.result?.changedPaths ?? [];
    const sizes = await act.orchestrateMeasureFiles({ workspace: this.survey.workspace, paths: written });
    const ok = outcome.status === 'completed';
    this.stage(
      'document',
      ok ? 'completed' : 'failed',
      sizes.reduce((a, b) => a + Math.max(0, b), 0),
      { summary: outcome.result?.summary ?? '' },
      [{ path: written.join(', '), summary: pruneWords(outcome.result?.summary ?? outcome.error ?? '') }],
    );
    return ok
      ? { ok: true, value: undefined }
      : { ok: false, reason: `document agent: ${outcome.error ?? outcome.status}` };
  }

  /** One orchestrate agent through the usual attempt ladder (its own activity, time limit and details file). */
  runAgent(stage: StageName, task: TaskSpec, attemptsBefore = 0): Promise<TaskOutcome> {
    const settings = mergeSettings(this.input.settings);
    return runTaskAttempts({
      ctx: {
        epicSlug: this.slug,
        epicTitle: pruneWords(this.input.goal, 12),
        roadmapSlug: 'orchestrate',
        planSlug: `orchestrate-${this.slug}`,
        planTitle: `orchestrate ${this.slug}`,
        phaseSlug: stage,
        phaseTitle: stage,
        phaseIndex: 1,
        workspace: this.survey.workspace,
      },
      task,
      settings,
      agentMode: this.input.agentMode,
      attemptsBefore: attemptsBefore * settings.attempts,
      report: (r) => {
        if (r.result) this.usage = addUsage(this.usage, r.result.usage);
        if (r.usage) this.usage = addUsage(this.usage, r.usage);
      },
    });
  }

  /** Writes the run's record in the workspace (after every stage). */
  async record(): Promise<void> {
    if (!this.survey) return;
    await act.orchestrateRecord({ workspace: this.survey.workspace, slug: this.slug, record: this.outcome() });
  }

  fail(reason: string): void {
    this.failureReason = reason;
    this.set('failed', reason);
  }

  outcome(status?: OrchestrateOutcome['status']): OrchestrateOutcome {
    const produced = this.stages.reduce((a, s) => a + s.bytesProduced, 0);
    const handed = this.stages.reduce((a, s) => a + s.bytesHandedOn, 0);
    const pruning = { bytesProduced: produced, bytesHandedOn: handed, reductionPercent: reduction(produced, handed) };
    return {
      status: status ?? (this.failureReason ? 'failed' : (this.status as OrchestrateOutcome['status'])),
      slug: this.slug,
      goal: this.input.goal,
      ...(this.plan ? { planPath: this.plan.planPaths[0], specPath: this.specPath } : {}),
      ...(this.epicId ? { epicId: this.epicId } : {}),
      stages: this.stages,
      pruning,
      ...(this.failureReason ? { failureReason: this.failureReason } : {}),
    };
  }

  /** Ends the run as `status`, with its record written. */
  async finish(status: OrchestrateOutcome['status']): Promise<OrchestrateOutcome> {
    this.set(status, this.failureReason ?? status);
    await this.record();
    return this.outcome(status);
  }

  private stage(
    stage: StageName,
    status: StageRecord['status'],
    bytesProduced: number,
    handedOn: unknown,
    items: StageRecord['items'],
    note?: string,
  ): void {
    const bytesHandedOn = jsonBytes(handedOn);
    const r = reduction(bytesProduced, bytesHandedOn);
    this.stages.push({
      stage,
      status,
      bytesProduced,
      bytesHandedOn,
      ...(r !== undefined ? { reductionPercent: r } : {}),
      items,
      ...(note ? { note } : {}),
    });
    this.render();
  }

  private set(status: string, what: string): void {
    this.status = status;
    this.current = what;
    this.render();
  }

  private current = '';

  private render(): void {
    setCurrentDetails(
      [
        `## orchestrate ${this.slug}`,
        `Goal: ${this.input.goal}`,
        `**${this.desk?.pending ? `waiting: ${this.desk.pending.question}` : `${this.status}: ${this.current}`}** · ${usageLine(this.usage)}`,
        ...(this.survey ? [`Record: \`${orchestrateRecordPath(this.slug)}\``] : []),
        '',
        '| stage | status | bytes produced | bytes handed on | reduction |',
        '|---|---|---|---|---|',
        ...this.stages.map(
          (s) =>
            `| ${s.stage} | ${s.status} | ${s.bytesProduced} | ${s.bytesHandedOn} | ${s.reductionPercent === undefined ? '' : `${s.reductionPercent} %`} |`,
        ),
        '',
        ...this.stages.flatMap((s) =>
          s.items.slice(0, 12).map((i) => `- ${s.stage}: ${i.path ? `\`${i.path}\` ` : ''}${i.summary}`),
        ),
      ].join('\n'),
    );
  }
}
