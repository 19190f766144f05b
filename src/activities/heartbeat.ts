/**
 * How often a long activity heartbeats: every second, more often under a heartbeat timeout
 * shorter than 3 s (a third of it, at least 200 ms), so a working activity is never timed out.
 * A heartbeat is also how a cancellation reaches the activity, and the worker throttles what it
 * sends to the server (src/worker.ts), so calling often is cheap and keeps a cancel's delay at
 * the throttle's.
 */
import { Context } from '@temporalio/activity';

export function heartbeatEveryMs(activity: Context = Context.current()): number {
  return Math.max(200, Math.min(1_000, Math.floor((activity.info.heartbeatTimeoutMs ?? 30_000) / 3)));
}
