/**
 * One streamed Messages API call. Streaming lets us tell a slow answer from a dead one and lifts
 * the SDK's 10-minute guard on large max_tokens. The SDK's own retries are off: Temporal owns
 * retries (see errors.ts).
 *
 * Two kinds of silence are told apart here, because they mean different things:
 *  - no bytes at all (`onData` stops): the connection is dead. The stall timer catches it and
 *    the call fails as a transient error (try again).
 *  - bytes but no content (`onContent` stops): the API keeps the connection alive with SSE
 *    `ping` events, but the model produces no token. That is for the stuck detector (stuck.ts).
 * The SDK drops `ping` events before any listener sees them, so the bytes are counted at the
 * fetch level: a ping resets the stall timer but is never progress.
 */
import Anthropic from '@anthropic-ai/sdk';

export const DEFAULT_BASE_URL = 'https://api.anthropic.com';
/** Per-request time limit (to response headers, and then between stream events). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10 * 60_000;

export function createClient(apiKey: string, baseURL: string, timeoutMs: number): Anthropic {
  return new Anthropic({ apiKey, baseURL, maxRetries: 0, timeout: timeoutMs });
}

export interface CallOptions {
  /** Aborts the request (cancellation, deadline, stuck detector); the caller knows why. */
  signal: AbortSignal;
  timeoutMs: number;
  /** Called when no byte arrived for timeoutMs after the response started. */
  onStall: () => void;
  /** Any bytes of the response arrived (headers, events, keep-alive pings): the connection lives. */
  onData?: () => void;
  /** A content token arrived: text, tool input or thinking. */
  onContent?: () => void;
  /** The call failed after the response started: what the message had reached (its usage is billed). */
  onPartial?: (message: Anthropic.Message) => void;
}

export interface CallResult {
  message: Anthropic.Message;
  requestId?: string;
}

const CONTENT_EVENTS = new Set(['content_block_start', 'content_block_delta']);

export async function streamMessage(
  client: Anthropic,
  params: Anthropic.MessageStreamParams,
  opts: CallOptions,
): Promise<CallResult> {
  // The SDK's timeout covers the wait for response headers only; after that a stalled stream
  // is caught by our own timer, reset by every byte that arrives.
  let stallTimer: NodeJS.Timeout | undefined;
  let started = false;
  const armStall = () => {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(opts.onStall, opts.timeoutMs);
  };
  const onData = () => {
    if (started) armStall();
    opts.onData?.();
  };
  const tapped = client.withOptions({ fetch: tappedFetch(onData) });
  const stream = tapped.messages.stream(params, { signal: opts.signal, timeout: opts.timeoutMs, maxRetries: 0 });
  stream.on('connect', () => {
    started = true;
    armStall();
  });
  stream.on('streamEvent', (event) => {
    if (CONTENT_EVENTS.has(event.type)) opts.onContent?.();
  });
  try {
    const message = await stream.finalMessage();
    return { message, requestId: stream.request_id ?? undefined };
  } catch (err) {
    const partial = stream.currentMessage;
    if (partial) opts.onPartial?.(partial);
    throw err;
  } finally {
    clearTimeout(stallTimer);
  }
}

/** fetch that reports every chunk of the response body (and the headers) as it arrives. */
function tappedFetch(onData: () => void): typeof fetch {
  return async (url, init) => {
    const res = await fetch(url, init);
    onData();
    if (!res.body) return res;
    const tap = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        onData();
        controller.enqueue(chunk);
      },
    });
    return new Response(res.body.pipeThrough(tap), {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
  };
}
