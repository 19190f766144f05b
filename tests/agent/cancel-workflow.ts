/**
 * A test workflow for tests/agent/cancel.test.ts: one task attempt as phaseflow schedules it (the
 * default 30 s heartbeat timeout, no retries), waiting for the activity to confirm a cancel so
 * that the workflow ends when the activity has really stopped.
 */
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type * as activities from '../../src/activities';
import type { TaskResult, TaskRunInput } from '../../src/domain/types';

export async function oneTaskAttempt(input: TaskRunInput): Promise<TaskResult> {
  const { runAgentTask, runCommandTask } = proxyActivities<typeof activities>({
    startToCloseTimeout: input.timeoutMs,
    heartbeatTimeout: '30 seconds',
    retry: { maximumAttempts: 1 },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  return input.task.kind === 'command' ? runCommandTask(input) : runAgentTask(input);
}
