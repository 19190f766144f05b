/**
 * Which runtime runs each agent task, and the spec rule that goes with Claude Code: a task's
 * `agent` names a Claude Code agent file, `.claude/agents/<name>.md`, in the workspace. Pure
 * (the caller says which files exist), so the CLI and the epic's prepare activity share it.
 */
import { mergeSettings } from './settings';
import type { EpicSpec } from './spec';
import type { SpecProblem } from './validate';

/** Where Claude Code looks for a project's agents (relative to the workspace). */
export const CLAUDE_AGENTS_DIR = '.claude/agents';

/** An agent name is a file name: no path, no dot at the start. */
const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function claudeAgentFile(name: string): string {
  return `${CLAUDE_AGENTS_DIR}/${name}.md`;
}

/**
 * Problems of the agent tasks that run in Claude Code: an `agent` that is not a plain name, or
 * whose file is missing from the workspace (`exists` gets the workspace-relative path).
 */
export function claudeCodeAgentProblems(spec: EpicSpec, exists: (relPath: string) => boolean): SpecProblem[] {
  const problems: SpecProblem[] = [];
  spec.roadmaps.forEach((roadmap, ri) =>
    roadmap.plans.forEach((plan, pi) =>
      plan.phases.forEach((phase, phi) =>
        phase.tasks.forEach((task, ti) => {
          if (task.kind !== 'agent' || task.agent === undefined) return;
          const runtime = mergeSettings(
            spec.settings,
            roadmap.settings,
            plan.settings,
            phase.settings,
            task.settings,
          ).agentRuntime;
          if (runtime !== 'claude-code') return;
          const path = `roadmaps[${ri}].plans[${pi}].phases[${phi}].tasks[${ti}].agent`;
          if (!AGENT_NAME.test(task.agent)) {
            problems.push({
              path,
              message: `expected the name of a Claude Code agent (a file ${CLAUDE_AGENTS_DIR}/<name>.md), got ${JSON.stringify(task.agent)}`,
            });
          } else if (!exists(claudeAgentFile(task.agent))) {
            problems.push({
              path,
              message: `no Claude Code agent "${task.agent}": ${claudeAgentFile(task.agent)} does not exist in the workspace ${spec.workspace}`,
            });
          }
        }),
      ),
    ),
  );
  return problems;
}
