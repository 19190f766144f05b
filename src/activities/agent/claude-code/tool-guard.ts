/**
 * What Claude Code's tools may do in a phaseflow task, decided in a PreToolUse hook (it runs
 * before every tool call, whatever permission rules the project's settings carry, subagents'
 * calls included):
 * - the file tools (Read, Write, Edit, MultiEdit, NotebookEdit, Glob, Grep) get paths inside the
 *   workspace only, symlinks resolved (the tool loop's check, workspace.ts), and Write/Edit refuse
 *   phaseflow's own records and .git (protected-paths.ts);
 * - Bash runs in the tool loop's sandbox (sandbox.ts, profile `workspace`) with the tool loop's
 *   shell environment (bash-env.ts): the command is rewritten to run inside it;
 * - tools outside the attempt's set are refused (a retry's reduced set is Read and Write).
 * A refusal goes back to the model as the tool's error, as in the tool loop.
 */
import { sandboxed } from '../../sandbox';
import { agentShellEnv } from '../tools/bash-env';
import { refuseProtected } from '../tools/protected-paths';
import { ToolError } from '../tools/tool-error';
import { resolveInWorkspace, toRelative } from '../workspace';

/** What a Claude Code task may use: the tool loop's tools plus Claude Code's planning and subagent tools. */
export const CLAUDE_CODE_TOOLS = [
  'Read',
  'Write',
  'Edit',
  'MultiEdit',
  'Glob',
  'Grep',
  'Bash',
  'TodoWrite',
  'Task',
  'Agent',
];
/** A retried attempt's reduced set, as in the tool loop. */
export const REDUCED_TOOLS = ['Read', 'Write'];

const PATH_FIELDS: Record<string, { field: string; writes: boolean; optional?: boolean }> = {
  Read: { field: 'file_path', writes: false },
  Write: { field: 'file_path', writes: true },
  Edit: { field: 'file_path', writes: true },
  MultiEdit: { field: 'file_path', writes: true },
  NotebookEdit: { field: 'notebook_path', writes: true },
  Glob: { field: 'path', writes: false, optional: true },
  Grep: { field: 'path', writes: false, optional: true },
};

export type GuardDecision =
  { allow: true; updatedInput?: Record<string, unknown>; path?: string } | { allow: false; reason: string };

export interface GuardContext {
  /** Canonical workspace path. */
  workspace: string;
  /** The tools this attempt may use. */
  tools: readonly string[];
  /** The worker's environment (the shell gets the tool loop's allowlist of it). */
  env: NodeJS.ProcessEnv;
}

export async function guardToolCall(ctx: GuardContext, name: string, input: unknown): Promise<GuardDecision> {
  const args = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  // MCP servers are the project's own (.mcp.json); their tools are theirs to confine.
  if (!name.startsWith('mcp__') && !ctx.tools.includes(name))
    return {
      allow: false,
      reason: `the tool ${name} is not available in this attempt (tools: ${ctx.tools.join(', ')})`,
    };
  const spec = PATH_FIELDS[name];
  if (spec) {
    const p = args[spec.field];
    if (p === undefined && spec.optional) return { allow: true };
    try {
      const abs = await resolveInWorkspace(ctx.workspace, p);
      const rel = toRelative(ctx.workspace, abs);
      if (spec.writes) refuseProtected(rel);
      return { allow: true, path: rel };
    } catch (err) {
      if (err instanceof ToolError) return { allow: false, reason: `${spec.field}: ${err.message}` };
      throw err;
    }
  }
  if (name === 'Bash') {
    if (typeof args.command !== 'string' || args.command.trim() === '')
      return { allow: false, reason: 'command must be a non-empty string' };
    return { allow: true, updatedInput: { ...args, command: sandboxedCommand(ctx, args.command) } };
  }
  return { allow: true };
}

/**
 * `command` as a shell line that runs it in the workspace sandbox with the agent shell's
 * environment (nothing of Claude Code's own environment, its key included, gets through `env -i`).
 */
export function sandboxedCommand(ctx: GuardContext, command: string): string {
  const run = sandboxed('/bin/bash', ['-c', command], 'workspace', ctx.workspace, ctx.env);
  const env = {
    ...agentShellEnv(ctx.env, ctx.workspace),
    ...(run.sandbox === 'workspace' ? { TMPDIR: '/tmp' } : {}),
  };
  const assignments = Object.entries(env)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => shellQuote(`${k}=${v}`));
  return [
    'cd',
    shellQuote(ctx.workspace),
    '&&',
    'env',
    '-i',
    ...assignments,
    shellQuote(run.file),
    ...run.args.map(shellQuote),
  ].join(' ');
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./=:@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
