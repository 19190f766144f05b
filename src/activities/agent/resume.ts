/**
 * Resume or start fresh? An attempt that was interrupted (worker crash, cancellation, time
 * limit, transient API trouble, budget) left a sound conversation behind: the next attempt
 * continues it instead of paying for the same turns again, even when the workflow marks it as
 * a retry (previousFailure + reduced tools), because the failure was not the conversation's.
 * A conversation that *ended* (the agent finished, or failed on its own terms: turn limit,
 * refusal, a request the API rejects) is not replayed: the retry starts fresh with the
 * failure reason in its first message, so it does not walk the same path again.
 */
import type { Usage } from '../../domain/types';
import type { TranscriptState } from './transcript';

export interface StartPlan {
  mode: 'fresh' | 'resumed';
  reason: string;
  /** Usage of a crashed attempt that never reported it; added to this attempt's result. */
  carriedUsage?: Usage;
}

export function planStart(state: TranscriptState | undefined): StartPlan {
  if (!state || state.lastAttempt === undefined || state.messages.length === 0) {
    return { mode: 'fresh', reason: 'no earlier conversation for this task' };
  }
  const n = state.lastAttempt;
  switch (state.lastOutcome) {
    case 'completed':
      return { mode: 'fresh', reason: `attempt ${n} finished its conversation; a new attempt starts over` };
    case 'failed':
      return {
        mode: 'fresh',
        reason: `attempt ${n} failed (${state.lastEndReason ?? 'unknown reason'}); starting a fresh conversation rather than replaying the approach that failed`,
      };
    case 'interrupted':
      return {
        mode: 'resumed',
        reason: `attempt ${n} was interrupted (${state.lastEndReason ?? 'unknown reason'}); resuming its conversation after turn ${state.turn}`,
      };
    default:
      return {
        mode: 'resumed',
        reason: `attempt ${n} stopped without finishing (the worker likely died); resuming its conversation after turn ${state.turn}`,
        carriedUsage: state.lastAttemptUsage,
      };
  }
}
