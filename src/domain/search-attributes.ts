/**
 * phaseflow's search attributes: `temporal workflow list --query 'PhaseflowStatus="waiting"'`
 * and the Web UI's filters use them. Registered by `phaseflow server` (start-dev flags) and by
 * the worker on other servers (operator API).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA = {
  epic: defineSearchAttributeKey('PhaseflowEpic', SearchAttributeType.KEYWORD),
  roadmap: defineSearchAttributeKey('PhaseflowRoadmap', SearchAttributeType.KEYWORD),
  plan: defineSearchAttributeKey('PhaseflowPlan', SearchAttributeType.KEYWORD),
  phase: defineSearchAttributeKey('PhaseflowPhase', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('PhaseflowStatus', SearchAttributeType.KEYWORD),
  level: defineSearchAttributeKey('PhaseflowLevel', SearchAttributeType.KEYWORD),
  /** The worker host an epic is pinned to (src/domain/hosts.ts); set on epics only. */
  host: defineSearchAttributeKey('PhaseflowHost', SearchAttributeType.KEYWORD),
} as const;

export const ALL_SEARCH_ATTRIBUTES = Object.values(SA);
