/** Token usage of one model call, in phaseflow's terms, priced with the model's rates. */
import type Anthropic from '@anthropic-ai/sdk';
import { costOf } from '../../domain/models';
import type { Usage } from '../../domain/types';

export function usageOf(model: string, u: Anthropic.Usage | undefined): Usage {
  const tokens = {
    inputTokens: u?.input_tokens ?? 0,
    outputTokens: u?.output_tokens ?? 0,
    cacheWriteTokens: u?.cache_creation_input_tokens ?? 0,
    cacheReadTokens: u?.cache_read_input_tokens ?? 0,
  };
  return { ...tokens, costUsd: costOf(model, tokens) };
}

/** Size of the prompt a call sent: the API's total input is input + cache write + cache read. */
export function contextTokensOf(u: Usage): number {
  return u.inputTokens + u.cacheWriteTokens + u.cacheReadTokens;
}
