/**
 * What every tool is: a definition the model sees (Claude Code's names and inputs), an input
 * schema we check before running, and a run function confined to the workspace. The JSON Schema
 * the model is offered is derived from the zod schema that checks the input, so the two agree.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { z } from 'zod';
import { ToolError } from './tool-error';
import type { SeenFiles } from './file-state';

export interface ToolContext {
  /** Canonical (realpath'd) workspace root. */
  workspace: string;
  /** Base environment the Bash tool filters (never passed through unfiltered). */
  env: NodeJS.ProcessEnv;
  /** Aborted on activity cancellation or the attempt deadline. */
  signal: AbortSignal;
  /** Milliseconds left before the attempt deadline; long tools stay within it. */
  remainingMs: () => number;
  /** Workspace-relative paths written by Write/Edit during this attempt. */
  changedFiles: Set<string>;
  /** What the conversation last saw of each file (file-state.ts); without it Write and Edit do not check. */
  seenFiles?: SeenFiles;
}

/** A tool as written: its input is a zod object, each field `.describe()`d for the model. */
export interface ToolSpec<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  parse: S;
  run(input: z.infer<S>, ctx: ToolContext): Promise<string>;
}

export interface AgentTool<S extends z.ZodType = z.ZodType> extends ToolSpec<S> {
  /** What the model is offered: `parse` as JSON Schema (offeredSchema). */
  inputSchema: Anthropic.Tool.InputSchema;
}

export function defineTool<S extends z.ZodType>(tool: ToolSpec<S>): AgentTool<S> {
  return { ...tool, inputSchema: offeredSchema(tool.parse) };
}

/**
 * A zod input schema as the JSON Schema the model is offered: the input side (unknown keys are
 * stripped, not refused, so no `additionalProperties: false`), without `$schema` and without the
 * safe-integer bounds zod puts on every `.int()`, which tell the model nothing.
 */
export function offeredSchema(schema: z.ZodType): Anthropic.Tool.InputSchema {
  const { $schema: _, ...json } = z.toJSONSchema(schema, {
    io: 'input',
    override: ({ jsonSchema: s }) => {
      if (s.minimum === Number.MIN_SAFE_INTEGER) delete s.minimum;
      if (s.maximum === Number.MAX_SAFE_INTEGER) delete s.maximum;
    },
  });
  return json as Anthropic.Tool.InputSchema;
}

/** Cap on a tool result sent back to the model; larger results are cut and say so. */
export const TOOL_RESULT_CAP_BYTES = 30_000;

/** Keeps the head and the tail (errors tend to be at the end) and marks what was dropped. */
export function capText(text: string, capBytes = TOOL_RESULT_CAP_BYTES): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= capBytes) return text;
  const headBytes = Math.floor(capBytes / 3);
  const tailBytes = capBytes - headBytes;
  // toString drops partial UTF-8 sequences at the cut as replacement chars; acceptable for display.
  const head = buf.subarray(0, headBytes).toString('utf8');
  const tail = buf.subarray(buf.length - tailBytes).toString('utf8');
  return `${head}\n[... output truncated: ${buf.length - capBytes} of ${buf.length} bytes omitted ...]\n${tail}`;
}

export function formatZodError(toolName: string, err: z.ZodError): ToolError {
  const issues = err.issues.map((i) => `${i.path.length ? i.path.join('.') : 'input'}: ${i.message}`).join('; ');
  return new ToolError(`invalid input for ${toolName}: ${issues}`);
}
