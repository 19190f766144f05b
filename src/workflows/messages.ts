/**
 * Signals and queries between phaseflow's workflows, and from people. Names are what
 * `temporal workflow signal|query --name …` takes.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ControlMessage, DecisionAnswer, DecisionRecord, Limit, PendingDecision } from '../domain/decisions';
import type { GateResult, Usage } from '../domain/types';
import type { TaskUpdate } from './plan-state';

export type LevelStatus = 'pending' | 'active' | 'completed' | 'failed' | 'cancelled';

/** Progress of a child (plan or roadmap) as its parent mirrors it. */
export interface ChildProgress {
  slug: string;
  status: LevelStatus;
  tasksTotal: number;
  tasksCompleted: number;
  phasesTotal: number;
  phasesCompleted: number;
  usage: Usage;
  current?: string;
  failureReason?: string;
  /** Questions waiting on a person below this child. */
  pending?: PendingDecision[];
  paused?: boolean;
  /** Budget limits raised below (by a `raise` answer), for the levels above to adopt. */
  raisedLimits?: { epic?: Limit; roadmap?: Limit };
}

/** phase -> plan: a question asked or settled, a detector firing, a budget raised. */
export interface PhaseDecisionEvent {
  phaseIndex: number;
  pending: PendingDecision | null;
  records: DecisionRecord[];
  raisedLimits?: { epic?: Limit; roadmap?: Limit; plan?: Limit };
  /** The phase's last gate result, so PROGRESS.json shows it while the phase waits (e.g. for approval). */
  gate?: GateResult | null;
}

/** phase -> plan: task state changes, batched. */
export const taskUpdatesSignal = defineSignal<[TaskUpdate[]]>('taskUpdates');
/** plan -> roadmap and roadmap -> epic. */
export const childProgressSignal = defineSignal<[ChildProgress]>('childProgress');
/** phase -> plan. */
export const phaseDecisionSignal = defineSignal<[PhaseDecisionEvent]>('phaseDecision');

/**
 * From people (any level; passed down to the running child):
 *   temporal workflow signal --workflow-id epic/<slug> --name control --input '{"paused":true}'
 *   temporal workflow signal --workflow-id epic/<slug> --name control --input '{"budget":{"level":"epic","tokens":2000000}}'
 */
export const controlSignal = defineSignal<[ControlMessage]>('control');

/**
 * From people, to the workflow that waits (a phase; `pending` names it):
 *   temporal workflow update execute --workflow-id epic/<slug>/<roadmap>/<plan>/<phase> --name decide \
 *     --input '{"action":"retry","by":"alice","note":"fixed the fixture"}'
 * Rejected (nothing changes) when no decision is pending or the action does not answer it.
 */
export const decideUpdate = defineUpdate<DecisionRecord, [DecisionAnswer]>('decide');

/** Every question waiting on a person at or below this workflow. */
export const pendingQuery = defineQuery<PendingDecision[]>('pending');

export interface StatusNode {
  level: 'epic' | 'roadmap' | 'plan' | 'phase';
  slug: string;
  title: string;
  status: string;
  tasksTotal: number;
  tasksCompleted: number;
  usage: Usage;
  failureReason?: string;
  paused?: boolean;
  /** Questions waiting on a person at or below this node. */
  pending?: PendingDecision[];
  /** Decisions taken so far (plan and phase nodes). */
  decisions?: DecisionRecord[];
  budget?: { limit: Limit; usedTokens: number; usedUsd: number };
  workflowId?: string;
  children?: StatusNode[];
}

/** The live status of a workflow and what it knows below it. */
export const statusQuery = defineQuery<StatusNode>('status');
