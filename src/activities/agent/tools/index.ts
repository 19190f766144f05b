/** The agent's toolset: definitions sent to the model and the dispatcher that runs a tool_use. */
import type Anthropic from '@anthropic-ai/sdk';
import { secretValues } from '../../secrets';
import { bashTool } from './bash';
import { editTool } from './edit';
import { globTool } from './glob';
import { grepTool } from './grep';
import { readTool } from './read';
import { capText, formatZodError, type AgentTool, type ToolContext } from './tool';
import { ToolError } from './tool-error';
import { writeTool } from './write';

export type { ToolContext } from './tool';
export { ToolError } from './tool-error';

export const ALL_TOOLS: readonly AgentTool[] = [readTool, writeTool, editTool, globTool, grepTool, bashTool];

/** A retried attempt gets only these (DESIGN §2): less room for whatever went wrong before. */
export const REDUCED_TOOLS: readonly AgentTool[] = [readTool, writeTool];

export function toolsFor(reduced: boolean): readonly AgentTool[] {
  return reduced ? REDUCED_TOOLS : ALL_TOOLS;
}

/**
 * Tool definitions for the request. The last one carries a cache breakpoint, so the tool list
 * (the start of the prompt prefix) is cached across the turns of a task.
 */
export function toolDefinitions(tools: readonly AgentTool[]): Anthropic.Tool[] {
  return tools.map((t, i) => ({
    name: t.name,
    description: t.description,
    input_schema: t.inputSchema,
    ...(i === tools.length - 1 ? { cache_control: { type: 'ephemeral' as const } } : {}),
  }));
}

export interface ToolOutcome {
  content: string;
  isError: boolean;
}

/** Runs one tool call. Never throws: every problem becomes an `is_error` result the model sees. */
export async function executeTool(
  tools: readonly AgentTool[],
  name: string,
  input: unknown,
  ctx: ToolContext,
): Promise<ToolOutcome> {
  const tool = tools.find((t) => t.name === name);
  if (!tool) {
    return {
      isError: true,
      content: `Error: unknown tool ${JSON.stringify(name)}; available tools: ${tools.map((t) => t.name).join(', ')}`,
    };
  }
  try {
    const parsed = tool.parse.safeParse(input);
    if (!parsed.success) throw formatZodError(name, parsed.error);
    // The API rejects an empty tool_result text.
    return {
      isError: false,
      content: capText(withoutWorkerSecrets((await tool.run(parsed.data, ctx)) || '(no output)', ctx.env)),
    };
  } catch (err) {
    const message =
      err instanceof ToolError
        ? err.message
        : `${(err as Error)?.name ?? 'Error'}: ${(err as Error)?.message ?? String(err)}`;
    return { isError: true, content: capText(withoutWorkerSecrets(`Error: ${message}`, ctx.env)) };
  }
}

/**
 * Defence in depth: whatever a tool came across (a .env file in the workspace holding the same
 * key, a path the sandbox could not hide), the model never sees the worker's own credentials.
 */
function withoutWorkerSecrets(text: string, env: NodeJS.ProcessEnv): string {
  let out = text;
  for (const v of secretValues(env))
    if (out.includes(v)) out = out.split(v).join('[redacted: a credential of the worker]');
  return out;
}
