/**
 * Turns what went wrong in a model call into what Temporal should do about it:
 * transient trouble (rate limits, overload, 5xx, dropped connections, timeouts) becomes a
 * retryable ApplicationFailure (honouring retry-after); a request the API will never accept
 * (bad request, auth, not found, spend limits) becomes non-retryable with a clear reason.
 */
import { redactSecrets } from '../../domain/secret-scan';
import { secretValues } from '../secrets';
import {
  AnthropicError,
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from '@anthropic-ai/sdk';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { FailureTypes, type TaskRunInput } from '../../domain/types';

/** Why our own controller aborted a request, when it did ('stuck' becomes a Stuck failure, see stuck.ts). */
export type AbortCause = 'cancelled' | 'deadline' | 'stall' | 'stuck';

const TRANSIENT_STATUS = new Set([408, 409, 429]);
const TRANSIENT_STREAM_TYPES = new Set(['overloaded_error', 'api_error', 'rate_limit_error', 'timeout_error']);
/** Running out of money is not cured by waiting a few seconds. */
const SPEND_LIMIT = /spend|billing|credit (limit|balance)|credit_limit|insufficient credit|quota/i;

/** The API key an agent attempt runs with: without one it cannot run at all (not retried). */
export function requireApiKey(who: string, apiKey: string | undefined): string {
  if (apiKey) return apiKey;
  throw ApplicationFailure.create({
    type: FailureTypes.Permanent,
    nonRetryable: true,
    message: `${who}: no Anthropic API key (set ANTHROPIC_API_KEY for the worker, or run the plan in dry-run mode)`,
  });
}

/**
 * How a failed attempt's conversation ends: only one that failed on its own terms (Permanent) is
 * closed for good; anything that interrupted a sound one leaves it resumable. The reason is redacted.
 */
export function failureEnd(failure: unknown, apiKey: string): { outcome: 'failed' | 'interrupted'; reason: string } {
  const outcome =
    failure instanceof ApplicationFailure && failure.type === FailureTypes.Permanent ? 'failed' : 'interrupted';
  const reason = redact(
    `${failure instanceof ApplicationFailure ? `${failure.type}: ` : ''}${(failure as Error).message}`,
    apiKey,
  ).slice(0, 500);
  return { outcome, reason };
}

/** "task 1.1 attempt 2 (epic e / plan p / phase p1), model m" */
export function describeAttempt(input: TaskRunInput): string {
  const c = input.ctx;
  return `task ${input.task.id} attempt ${input.attempt} (epic ${c.epicSlug} / plan ${c.planSlug} / phase ${c.phaseSlug}), model ${input.model}`;
}

/** Removes the API key (and anything shaped like one) from text that leaves the activity. */
export function redact(text: string, apiKey?: string): string {
  let out = apiKey && apiKey.length >= 4 ? text.split(apiKey).join('[redacted]') : text;
  for (const value of secretValues()) out = out.split(value).join('[redacted]');
  out = redactSecrets(out.replace(/sk-ant-[A-Za-z0-9_-]+/g, 'sk-ant-[redacted]'));
  return out;
}

export function retryAfterMs(headers: Headers | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = Number.parseFloat(headers.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms > 0) return Math.ceil(ms);
  const raw = headers.get('retry-after');
  if (!raw) return undefined;
  const s = Number.parseFloat(raw);
  if (Number.isFinite(s) && s > 0) return Math.ceil(s * 1000);
  const date = Date.parse(raw);
  return Number.isFinite(date) && date > Date.now() ? date - Date.now() : undefined;
}

export interface ClassifyOptions {
  apiKey?: string;
  abortCause?: AbortCause;
  requestTimeoutMs?: number;
  /** Merged into the failure's details (usage so far, the details file …). */
  details?: Record<string, unknown>;
  /** The API's base URL the client used, and where it came from (e.g. ANTHROPIC_BASE_URL), for connection failures. */
  endpoint?: { url: string; from?: string };
}

/** Maps an error thrown by a model call to the failure the activity should throw. */
export function classifyModelError(err: unknown, input: TaskRunInput, opts: ClassifyOptions = {}): Error {
  const who = describeAttempt(input);
  // Everything transient here is API weather (the agent waits it out, see api-weather.ts) except
  // the attempt's own time limit, which is the agent's failure.
  const transient = (what: string, extra: Record<string, unknown> = {}, nextRetryDelay?: number) =>
    ApplicationFailure.create({
      type: FailureTypes.Transient,
      message: redact(`${who}: ${what}`, opts.apiKey),
      details: [{ weather: opts.abortCause !== 'deadline', ...extra, ...opts.details }],
      ...(nextRetryDelay !== undefined ? { nextRetryDelay } : {}),
    });
  const permanent = (what: string, extra: Record<string, unknown> = {}) =>
    ApplicationFailure.create({
      type: FailureTypes.Permanent,
      nonRetryable: true,
      message: redact(`${who}: ${what}`, opts.apiKey),
      details: [{ ...extra, ...opts.details }],
    });

  // Our own aborts come first: they surface as APIUserAbortError (or a plain AbortError).
  if (opts.abortCause === 'cancelled') return new CancelledFailure(`${who}: cancelled`);
  if (opts.abortCause === 'deadline')
    return transient(`attempt time limit (${input.timeoutMs} ms) reached during a model call`, { timeout: true });
  if (opts.abortCause === 'stall')
    return transient(`model stream stalled (no data for ${opts.requestTimeoutMs} ms)`, { timeout: true });

  if (err instanceof APIConnectionTimeoutError) {
    return transient(
      `Anthropic API request timed out${opts.requestTimeoutMs ? ` after ${opts.requestTimeoutMs} ms` : ''}`,
      { timeout: true },
    );
  }
  if (err instanceof APIUserAbortError) return transient('Anthropic API request aborted');
  if (err instanceof APIConnectionError) return transient(connectionFailure(err, opts.endpoint));
  if (err instanceof APIError) {
    const status = err.status as number | undefined;
    const apiMessage = err.apiMessage ?? err.message;
    const facts = { status, errorType: err.type, errorCode: err.errorCode, requestId: err.requestID ?? undefined };
    const said = `Anthropic API ${status ?? 'stream'} ${err.type ?? 'error'}: ${apiMessage}${err.requestID ? ` (request ${err.requestID})` : ''}`;
    if (status === undefined) {
      // An `event: error` in the middle of a stream.
      return err.type && TRANSIENT_STREAM_TYPES.has(err.type) ? transient(said, facts) : permanent(said, facts);
    }
    const spendLimit = err.type === 'billing_error' || SPEND_LIMIT.test(`${err.errorCode ?? ''} ${apiMessage}`);
    if (status === 402 || ((status === 429 || status === 400 || status === 403) && spendLimit)) {
      return permanent(`${said} — spend/billing limit; raise the limit or add credit, then retry the task`, {
        ...facts,
        spendLimit: true,
      });
    }
    const shouldRetry = err.headers?.get('x-should-retry');
    if (shouldRetry === 'false') return permanent(said, facts);
    if (TRANSIENT_STATUS.has(status) || status >= 500 || shouldRetry === 'true') {
      const delay = retryAfterMs(err.headers);
      return transient(said, { ...facts, retryAfterMs: delay }, delay);
    }
    return permanent(said, facts);
  }
  if (err instanceof AnthropicError) {
    if (/streaming is required/i.test(err.message)) return permanent(`SDK refused the request: ${err.message}`);
    // "stream ended without producing a Message", "request ended without sending any chunks":
    // the connection dropped mid-response.
    return transient(`Anthropic API response broken off: ${err.message}`);
  }
  if (isNetworkError(err)) return transient(connectionFailure(err as Error, opts.endpoint));
  return err instanceof Error ? err : new Error(String(err));
}

function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code ?? (err as { cause?: NodeJS.ErrnoException }).cause?.code;
  return (
    (err instanceof TypeError && /terminated|fetch failed|other side closed/i.test(err.message)) ||
    (typeof code === 'string' && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|UND_ERR_)/.test(code))
  );
}

/** What a few socket error codes mean, for people who do not know them by heart. */
const SOCKET_CODE_MEANING: Record<string, string> = {
  ECONNREFUSED: 'nothing listens there',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'host name lookup failed for now',
  ECONNRESET: 'the other side reset the connection',
  EPIPE: 'the other side closed the connection',
  ETIMEDOUT: 'no answer in time',
  UND_ERR_CONNECT_TIMEOUT: 'no answer to the connect in time',
  UND_ERR_SOCKET: 'the other side closed the connection',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

type NetError = Error & { code?: unknown; address?: unknown; port?: unknown; hostname?: unknown; errors?: unknown };

/**
 * "connection to the Anthropic API at http://127.0.0.1:1234 (ANTHROPIC_BASE_URL) failed:
 * ECONNREFUSED 127.0.0.1:1234 (nothing listens there)". The SDK's own words ("Connection error.",
 * "fetch failed") say nothing; the reason is at the end of the cause chain (APIConnectionError →
 * fetch's TypeError → the socket's error, or an AggregateError of one per address tried).
 */
export function connectionFailure(err: Error, endpoint?: ClassifyOptions['endpoint']): string {
  const at = endpoint ? ` at ${safeUrl(endpoint.url)}${endpoint.from ? ` (${endpoint.from})` : ''}` : '';
  // A cause may quote the URL it refused (fetch does for one with credentials): without its secrets.
  return `connection to the Anthropic API${at} failed: ${socketReason(err).replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"]+/gi, safeUrl)}`;
}

/** The innermost cause, as "CODE address:port (meaning)" when it has a code, else its message. */
export function socketReason(err: Error): string {
  const chain: NetError[] = [];
  for (
    let e: unknown = err;
    e instanceof Error && chain.length < 10 && !chain.includes(e as NetError);
    e = (e as { cause?: unknown }).cause
  )
    chain.push(e as NetError);
  const coded = [...chain].reverse().find((e) => typeof e.code === 'string');
  if (!coded) {
    const inner = chain[chain.length - 1];
    // fetch refuses some ports outright (the Fetch standard's "bad ports": 1, 9, 22, 25, …).
    if (/^bad port$/i.test(inner.message))
      return 'fetch refuses this port ("bad port": the Fetch standard blocks it; use another port)';
    return inner.message;
  }
  // Several addresses tried (IPv6 and IPv4 for "localhost"): the first says where.
  const where = [coded, ...(Array.isArray(coded.errors) ? (coded.errors as NetError[]) : [])].find(
    (e) => typeof e?.address === 'string' || typeof e?.hostname === 'string',
  );
  const place = where
    ? typeof where.address === 'string'
      ? `${where.address}${where.port !== undefined ? `:${where.port}` : ''}`
      : String(where.hostname)
    : '';
  const code = coded.code as string;
  const meaning = SOCKET_CODE_MEANING[code] ?? coded.message;
  return [code, place, meaning ? `(${meaning})` : ''].filter(Boolean).join(' ');
}

/** The URL without user info, query or fragment (a base URL may carry a token). */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}
