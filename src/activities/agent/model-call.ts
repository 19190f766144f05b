/**
 * One streamed Messages API call. Streaming lets us tell a slow answer from a dead one (every
 * event resets a stall timer) and lifts the SDK's 10-minute guard on large
 * max_tokens. The SDK's own retries are off: Temporal owns retries (see errors.ts).
 */
import Anthropic from '@anthropic-ai/sdk';

export const DEFAULT_BASE_URL = 'https://api.anthropic.com';
/** Per-request time limit (to response headers, and then between stream events). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10 * 60_000;

export function createClient(apiKey: string, baseURL: string, timeoutMs: number): Anthropic {
  return new Anthropic({ apiKey, baseURL, maxRetries: 0, timeout: timeoutMs });
}

export interface CallOptions {
  /** Aborts the request (cancellation, deadline); the caller knows why. */
  signal: AbortSignal;
  timeoutMs: number;
  /** Called when no event arrived for timeoutMs after the response started. */
  onStall: () => void;
}

export interface CallResult {
  message: Anthropic.Message;
  requestId?: string;
}

export async function streamMessage(client: Anthropic, params: Anthropic.MessageStreamParams, opts: CallOptions): Promise<CallResult> {
  // The SDK's timeout covers the wait for response headers only; after that a stalled stream
  // is caught by our own timer, reset on every event.
  let stallTimer: NodeJS.Timeout | undefined;
  const armStall = () => {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(opts.onStall, opts.timeoutMs);
  };
  const stream = client.messages.stream(params, { signal: opts.signal, timeout: opts.timeoutMs, maxRetries: 0 });
  stream.on('connect', armStall);
  stream.on('streamEvent', armStall);
  try {
    const message = await stream.finalMessage();
    return { message, requestId: stream.request_id ?? undefined };
  } finally {
    clearTimeout(stallTimer);
  }
}
