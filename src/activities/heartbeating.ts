/**
 * Runs an activity's work while heartbeating on a timer, for work made of calls that may each take
 * a while (git with its hooks, a slow GitHub request): a worker that dies is noticed by the
 * heartbeat timeout, not by the start-to-close limit. Outside an activity (unit tests) it just runs.
 */
import { Context } from '@temporalio/activity';
import { heartbeatEveryMs } from './heartbeat';

export async function whileHeartbeating<T>(fn: () => Promise<T>): Promise<T> {
  let activity: Context | undefined;
  try {
    activity = Context.current();
  } catch {
    activity = undefined;
  }
  const timer = activity ? setInterval(() => activity!.heartbeat(), heartbeatEveryMs(activity)) : undefined;
  try {
    return await fn();
  } finally {
    if (timer) clearInterval(timer);
  }
}
