/** How often a long activity heartbeats: well inside its heartbeat timeout, whatever that is. */
import { Context } from '@temporalio/activity';

export function heartbeatEveryMs(ctx: Context = Context.current()): number {
  const timeout = ctx.info.heartbeatTimeoutMs;
  return timeout ? Math.max(200, Math.min(2000, Math.floor(timeout / 3))) : 2000;
}
