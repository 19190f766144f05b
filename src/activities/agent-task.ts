/** runAgentTask: an `agent` task attempt, simulated (dry-run), a real Claude tool-use loop, or Claude Code (runtime claude-code). */
import type { TaskResult, TaskRunInput } from '../domain/types';
import { runClaudeAgent } from './agent/agent-run';
import { runClaudeCodeAgent } from './agent/claude-code/claude-code-run';
import { runDryRunAgent } from './dry-run-agent';

export async function runAgentTask(input: TaskRunInput): Promise<TaskResult> {
  if (input.agentMode === 'dry-run') return runDryRunAgent(input);
  return input.runtime === 'claude-code' ? runClaudeCodeAgent(input) : runClaudeAgent(input);
}
