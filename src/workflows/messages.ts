/**
 * Signals and queries between phaseflow's workflows, and from people. Names are what
 * `temporal workflow signal|query --name …` takes.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Usage } from '../domain/types';
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
}

/** phase -> plan: task state changes, batched. */
export const taskUpdatesSignal = defineSignal<[TaskUpdate[]]>('taskUpdates');
/** plan -> roadmap and roadmap -> epic. */
export const childProgressSignal = defineSignal<[ChildProgress]>('childProgress');

export interface StatusNode {
  level: 'epic' | 'roadmap' | 'plan' | 'phase';
  slug: string;
  title: string;
  status: string;
  tasksTotal: number;
  tasksCompleted: number;
  usage: Usage;
  failureReason?: string;
  children?: StatusNode[];
}

/** The live status of a workflow and what it knows below it. */
export const statusQuery = defineQuery<StatusNode>('status');
