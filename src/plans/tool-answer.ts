/**
 * One Claude call that must answer through a single tool whose input is checked by a zod schema:
 * how the planning agents (analyze, the expand/collapse specialists) give structured answers.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { z } from 'zod';
import { createClient } from '../activities/agent/model-call';

export interface ToolAnswerRequest<T extends z.ZodType> {
  /** Where the answer is for, in errors ("plan build", "phase 2"). */
  who: string;
  model: string;
  maxTokens: number;
  system: string;
  tool: { name: string; description: string; answer: T };
  content: string;
}

/** A client for ANTHROPIC_BASE_URL (or the API) with the key from `env`; `missing` says who needed it. */
export function planningClient(env: NodeJS.ProcessEnv, missing: string): Anthropic {
  const apiKey = env.ANTHROPIC_API_KEY;
  if (!apiKey) throw new Error(`${missing} needs ANTHROPIC_API_KEY in the environment`);
  return createClient(apiKey, env.ANTHROPIC_BASE_URL || 'https://api.anthropic.com', 120_000);
}

export async function askForToolAnswer<T extends z.ZodType>(
  client: Anthropic,
  r: ToolAnswerRequest<T>,
): Promise<z.infer<T>> {
  const { $schema: _, ...schema } = z.toJSONSchema(r.tool.answer) as Record<string, unknown>;
  const message = await client.messages.create({
    model: r.model,
    max_tokens: r.maxTokens,
    system: r.system,
    tools: [{ name: r.tool.name, description: r.tool.description, input_schema: schema as Anthropic.Tool.InputSchema }],
    tool_choice: { type: 'tool', name: r.tool.name },
    messages: [{ role: 'user', content: r.content }],
  });
  const call = message.content.find((b) => b.type === 'tool_use' && b.name === r.tool.name);
  if (!call || call.type !== 'tool_use') throw new Error(`${r.who}: the agent did not call ${r.tool.name}`);
  const parsed = r.tool.answer.safeParse(call.input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `${r.who}: the agent's answer is malformed at ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
  }
  return parsed.data;
}
