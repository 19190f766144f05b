/**
 * The one place that names Claude models: aliases, context windows and prices.
 * Prices are USD per million tokens; cache writes bill at 1.25x input, cache reads at 0.1x
 * (Anthropic's published prompt-caching multipliers for 5-minute entries).
 */
import { microUsd, type Usage } from './types';

export interface ModelInfo {
  id: string;
  contextWindow: number;
  maxOutputTokens: number;
  inputPerMTok: number;
  outputPerMTok: number;
}

export const MODELS: Record<string, ModelInfo> = {
  'claude-haiku-5-5': {
    id: 'claude-haiku-5-5',
    contextWindow: 1_000_000,
    maxOutputTokens: 128_000,
    inputPerMTok: 0.1,
    outputPerMTok: 0.5,
  },
  'claude-sonnet-5-5': {
    id: 'claude-sonnet-5-5',
    contextWindow: 1_000_000,
    maxOutputTokens: 128_000,
    inputPerMTok: 2,
    outputPerMTok: 10,
  },
  'claude-opus-5-5': {
    id: 'claude-opus-5-5',
    contextWindow: 1_000_000,
    maxOutputTokens: 128_000,
    inputPerMTok: 4,
    outputPerMTok: 20,
  },
  'claude-sonnet-4-6': {
    id: 'claude-sonnet-4-6',
    contextWindow: 1_000_000,
    maxOutputTokens: 128_000,
    inputPerMTok: 3,
    outputPerMTok: 15,
  },
  'claude-haiku-4-5': {
    id: 'claude-haiku-4-5',
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    inputPerMTok: 1,
    outputPerMTok: 5,
  },
};

export const MODEL_ALIASES: Record<string, string> = {
  haiku: 'claude-haiku-5-5',
  sonnet: 'claude-sonnet-5-5',
  opus: 'claude-opus-5-5',
};

export const MODEL_BY_COMPLEXITY = { simple: 'haiku', default: 'sonnet', complex: 'opus' } as const;

/** Unknown ids are allowed (new models appear often); they get the default window and no price. */
export const UNKNOWN_MODEL_DEFAULTS = {
  contextWindow: 200_000,
  maxOutputTokens: 32_000,
  inputPerMTok: 0,
  outputPerMTok: 0,
};

export function resolveModelId(model: string | undefined, complexity: keyof typeof MODEL_BY_COMPLEXITY): string {
  const name = model ?? MODEL_BY_COMPLEXITY[complexity];
  return MODEL_ALIASES[name] ?? name;
}

export function modelInfo(id: string): ModelInfo {
  return MODELS[id] ?? { id, ...UNKNOWN_MODEL_DEFAULTS };
}

/** Cost of one call's usage, in USD, rounded to micro-dollars. */
export function costOf(modelId: string, u: Omit<Usage, 'costUsd'>): number {
  const m = modelInfo(modelId);
  const usd =
    (u.inputTokens * m.inputPerMTok +
      u.cacheWriteTokens * m.inputPerMTok * 1.25 +
      u.cacheReadTokens * m.inputPerMTok * 0.1 +
      u.outputTokens * m.outputPerMTok) /
    1e6;
  return microUsd(usd);
}
