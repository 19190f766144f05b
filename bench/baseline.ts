/**
 * The in-process baseline of the overhead figures: the very activity calls Temporal ran (their
 * inputs read back from history), run again in this process with Promise.all and no Temporal in
 * between. The activity needs an activity Context (it heartbeats and sleeps through it);
 * @temporalio/testing's MockActivityEnvironment is the SDK's way to give it one outside a worker.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { runAgentTask } from '../src/activities';
import { CLAUDE_DIR } from '../src/domain/paths';
import type { TaskRunInput } from '../src/domain/types';

/** Runs every input at once into `workspace` (instead of the one Temporal used); returns wall ms. */
export async function promiseAllBaseline(inputs: TaskRunInput[], workspace: string): Promise<number> {
  for (const sub of ['cache/agent-outputs', 'cache/logs'])
    fs.mkdirSync(path.join(workspace, CLAUDE_DIR, sub), { recursive: true });
  const calls = inputs.map((input) => ({
    env: new MockActivityEnvironment({
      activityType: 'runAgentTask',
      startToCloseTimeoutMs: input.timeoutMs,
      heartbeatTimeoutMs: 30_000,
    }),
    input: { ...input, ctx: { ...input.ctx, workspace } },
  }));
  const started = performance.now();
  await Promise.all(calls.map(({ env, input }) => env.run(runAgentTask, input)));
  return performance.now() - started;
}
