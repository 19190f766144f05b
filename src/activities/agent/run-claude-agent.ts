/**
 * The real agent activity: one Temporal activity per task attempt, running a Claude tool-use
 * loop in the task's workspace. Only the Agent Output Protocol result (capped summary, details
 * file path, usage) is returned into workflow history; the conversation stays in the
 * transcript file and everything else in the details file.
 */
import type { TaskResult, TaskRunInput } from '../../domain/types';
import { AgentRun, type RunClaudeAgentOptions } from './agent-run';

export type { RunClaudeAgentOptions } from './agent-run';
export { DEFAULT_MAX_TURNS } from './agent-run';

export async function runClaudeAgent(input: TaskRunInput, opts: RunClaudeAgentOptions = {}): Promise<TaskResult> {
  return new AgentRun(input, opts).execute();
}
