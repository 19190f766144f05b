/** runAgentTask: an `agent` task attempt, simulated (dry-run) or a real Claude tool-use loop. */
import type { TaskResult, TaskRunInput } from '../domain/types';
import { runDryRunAgent } from './dry-run-agent';
import { permanentFailure } from './failures';

export async function runAgentTask(input: TaskRunInput): Promise<TaskResult> {
  if (input.agentMode === 'dry-run') return runDryRunAgent(input);
  throw permanentFailure(`task ${input.task.id} (${input.ctx.planSlug}): real Claude agents are not available in this build`);
}
