/**
 * Anthropic's prompt-caching rules, applied to Messages API requests, for the bench's fake API
 * (docs.anthropic.com, "Prompt caching"):
 * - the prompt is tools → system → messages, in that order, as a sequence of blocks;
 * - a block with `cache_control` is a breakpoint; at most 4 per request (more is a 400);
 * - a request reads the longest prefix, written earlier and still within its TTL (5 minutes,
 *   refreshed by every read), that ends at a block boundary at or up to 20 blocks before one of its
 *   breakpoints;
 * - it writes the prefix ending at each of its breakpoints that is at least the model's minimum
 *   cacheable length; what it writes beyond what it read is `cache_creation_input_tokens`;
 * - `input_tokens` is the rest (the part after the last breakpoint, and prefixes too short to cache).
 * Tokens are estimated as characters / 4 of each block's text (JSON for tools, tool calls and
 * their results): the bench compares shares of one conversation, not absolute counts.
 */
import { createHash } from 'node:crypto';

export const CACHE_TTL_MS = 5 * 60_000;
export const MAX_BREAKPOINTS = 4;
/** How far before a breakpoint the API looks for an earlier-written prefix. */
export const LOOKBACK_BLOCKS = 20;

/** Minimum cacheable prompt length by model (the docs' table); other models: DEFAULT_MIN_CACHEABLE. */
const MIN_CACHEABLE: [RegExp, number][] = [
  [/haiku-4-5|opus-4-5|opus-4-6/, 4096],
  [/sonnet-4-6|haiku-3/, 2048],
];
export const DEFAULT_MIN_CACHEABLE = 1024;

export function minCacheableTokens(model: string): number {
  return MIN_CACHEABLE.find(([re]) => re.test(model))?.[1] ?? DEFAULT_MIN_CACHEABLE;
}

export interface CacheUsage {
  input_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export class PromptCacheError extends Error {}

interface Block {
  tokens: number;
  breakpoint: boolean;
  /** Hash of the prompt up to and including this block. */
  prefix: string;
}

export const estimateTokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

/** The request's prompt as blocks, each with the hash of the prefix ending with it. */
export function promptBlocks(body: any): Block[] {
  const raw: { text: string; breakpoint: boolean }[] = [];
  const add = (block: any) => {
    const { cache_control, ...rest } = block ?? {};
    raw.push({
      text: typeof rest.text === 'string' && rest.type === 'text' ? rest.text : JSON.stringify(rest),
      breakpoint: !!cache_control,
    });
  };
  for (const tool of body?.tools ?? []) add(tool);
  const system = body?.system;
  if (typeof system === 'string') add({ type: 'text', text: system });
  else for (const b of system ?? []) add(b);
  for (const m of body?.messages ?? []) {
    // The role is part of the prompt: the same text from the user or the assistant is another prefix.
    raw.push({ text: `\u0000${m.role}`, breakpoint: false });
    if (typeof m.content === 'string') add({ type: 'text', text: m.content });
    else for (const b of m.content ?? []) add(b);
  }
  const hash = createHash('sha256');
  hash.update(String(body?.model ?? ''));
  return raw.map((b) => {
    hash.update(b.text);
    hash.update('\u0001');
    return {
      tokens: b.text.startsWith('\u0000') ? 0 : estimateTokens(b.text),
      breakpoint: b.breakpoint,
      prefix: hash.copy().digest('hex'),
    };
  });
}

/** One organisation's cache (the API's is per organisation; the bench has one). */
export class PromptCache {
  /** Prefix hash → when it expires. */
  private readonly entries = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly minTokens: (model: string) => number = minCacheableTokens,
  ) {}

  /** Applies the rules to one request: what it reads, writes and pays in full; the cache learns its writes. */
  apply(body: any): CacheUsage {
    const blocks = promptBlocks(body);
    const total = blocks.reduce((n, b) => n + b.tokens, 0);
    const breakpoints = blocks.flatMap((b, i) => (b.breakpoint ? [i] : []));
    if (breakpoints.length > MAX_BREAKPOINTS)
      throw new PromptCacheError(
        `A maximum of ${MAX_BREAKPOINTS} blocks with cache_control may be provided. Found ${breakpoints.length}.`,
      );
    const now = this.now();
    // Tokens up to and including block i.
    const upTo: number[] = [];
    blocks.reduce((n, b, i) => (upTo[i] = n + b.tokens), 0);

    // Read: the longest live earlier prefix at a boundary within the lookback of a breakpoint.
    let readEnd = -1;
    for (const bp of breakpoints) {
      for (let i = bp; i >= Math.max(0, bp - LOOKBACK_BLOCKS) && i > readEnd; i--) {
        const expires = this.entries.get(blocks[i].prefix);
        if (expires !== undefined && expires > now) {
          readEnd = i;
          break;
        }
      }
    }
    const read = readEnd >= 0 ? upTo[readEnd] : 0;
    if (readEnd >= 0) this.entries.set(blocks[readEnd].prefix, now + CACHE_TTL_MS);

    // Write: every breakpoint prefix long enough; billed for what lies beyond the read.
    const min = this.minTokens(String(body?.model ?? ''));
    let writeEnd = readEnd;
    for (const bp of breakpoints) {
      if (upTo[bp] < min) continue;
      this.entries.set(blocks[bp].prefix, now + CACHE_TTL_MS);
      if (bp > writeEnd) writeEnd = bp;
    }
    const written = writeEnd > readEnd ? upTo[writeEnd] - read : 0;
    return {
      input_tokens: total - read - written,
      cache_creation_input_tokens: written,
      cache_read_input_tokens: read,
    };
  }
}
