/**
 * Re-planning a running plan (`phaseflow replan`, the `replan` update). The update goes to the
 * plan workflow itself, which knows each phase's live status: its validator checks the new plan
 * with the epic's zod schema and the replan rule (domain/replan.ts), so a refused replan leaves
 * no trace in history. An accepted one changes only phases that have not started; the plan's loop
 * picks them up when the running phase ends, so the change applies between phases. It is
 * recorded as a decision (PROGRESS.json `decisions`, kind `replan`).
 */
import { setHandler, workflowInfo } from '@temporalio/workflow';
import type { DecisionRecord } from '../domain/decisions';
import { describeChange, judgeReplan, type LivePhase, type ReplanChange } from '../domain/replan';
import type { PlanSpec } from '../domain/spec';
import type { EpicContext } from './epic-context';
import { planViewQuery, replanUpdate } from './messages';
import type { PlanState } from './plan-state';

export interface ReplanRequest {
  /** The whole plan as it should be (PlanSpec input; validated here). */
  plan: unknown;
  by?: string;
  note?: string;
  /** Where the new plan came from (a spec or Markdown file), for the record. */
  source?: string;
}

export interface ReplanResult {
  change: ReplanChange;
  decision: DecisionRecord;
}

export interface PlanView {
  status: string;
  plan: PlanSpec;
  phases: LivePhase[];
}

/** Installs the `replan` update and `planView` query; `apply` makes an accepted change. */
export function acceptReplans(args: {
  epic: EpicContext;
  roadmapSlug: string;
  plan: () => PlanSpec;
  state: PlanState;
  apply: (next: PlanSpec, change: ReplanChange, record: DecisionRecord) => void;
}): void {
  const live = (): LivePhase[] => args.state.phases.map((p) => ({ slug: p.slug, status: p.status }));
  const judge = (req: ReplanRequest) => {
    const next = parsePlan(args.epic, args.roadmapSlug, req);
    if (!next.ok) return next;
    const verdict = judgeReplan(args.state.status, args.plan(), live(), next.plan);
    return verdict.ok ? { ok: true as const, change: verdict.change, plan: next.plan } : verdict;
  };
  setHandler(planViewQuery, () => ({ status: args.state.status, plan: args.plan(), phases: live() }));
  setHandler(
    replanUpdate,
    (req) => {
      const v = judge(req);
      if (!v.ok) throw new Error(v.problem); // the validator refused it already; kept for type narrowing
      const at = new Date().toISOString();
      const decision: DecisionRecord = {
        id: `${args.roadmapSlug}/${args.state.planSlug}/replan#${args.state.decisions.filter((d) => d.kind === 'replan').length + 1}`,
        kind: 'replan',
        cause: 'replan',
        phaseSlug: v.change.added[0] ?? v.change.replaced[0] ?? v.change.removed[0] ?? '',
        question: `replan${req.source ? ` from ${req.source}` : ''}: ${describeChange(v.change)}`,
        action: 'replan',
        source: 'person',
        ...(req.by ? { by: req.by } : {}),
        ...(req.note ? { note: req.note } : {}),
        askedAt: at,
        decidedAt: at,
      };
      args.apply(v.plan, v.change, decision);
      return { change: v.change, decision };
    },
    {
      validator: (req) => {
        const v = judge(req);
        if (!v.ok) throw new Error(`${workflowInfo().workflowId}: replan refused: ${v.problem}`);
      },
    },
  );
}

/** The new plan through the epic's own schema (field paths as `plan.phases[2].tasks[0].id`). */
function parsePlan(
  epic: EpicContext,
  roadmapSlug: string,
  req: ReplanRequest,
): { ok: true; plan: PlanSpec } | { ok: false; problem: string } {
  if (typeof req !== 'object' || req === null || typeof req.plan !== 'object' || req.plan === null)
    return { ok: false, problem: 'the update needs {"plan": {…the whole plan…}}' };
  // Loaded only when a replan arrives: zod stays out of every plan's evaluation (as in epic.ts).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseEpic } = require('../domain/validate') as typeof import('../domain/validate');
  const parsed = parseEpic(
    {
      slug: epic.slug,
      title: epic.title,
      workspace: epic.workspace,
      agentMode: epic.agentMode,
      roadmaps: [{ slug: roadmapSlug, title: roadmapSlug, plans: [req.plan] }],
    },
    'replan',
  );
  if (!parsed.ok) return { ok: false, problem: parsed.error.replace(/roadmaps\[0\]\.plans\[0\]/g, 'plan') };
  return { ok: true, plan: parsed.spec.roadmaps[0].plans[0] };
}
