/** runAgentTask: an `agent` task attempt, simulated (dry-run) or a real Claude tool-use loop. */
import type { TaskResult, TaskRunInput } from '../domain/types';
import { runClaudeAgent } from './agent/agent-run';
import { runDryRunAgent } from './dry-run-agent';

export async function runAgentTask(input: TaskRunInput): Promise<TaskResult> {
  return input.agentMode === 'dry-run' ? runDryRunAgent(input) : runClaudeAgent(input);
}
