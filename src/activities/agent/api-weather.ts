/**
 * API weather: trouble on the Anthropic API's side (429, 529, 5xx, 408, 409, dropped or refused
 * connections, a stream cut mid-response) that says nothing about the agent. An agent waits it out
 * and goes on with the same conversation, toolset and attempt number; only a ceiling
 * (apiOutageSeconds) ends the wait. This file holds how long to wait, and the one limiter per
 * worker process that all its agents share, so that a 429 told to one holds them all.
 */
import { APIError } from '@anthropic-ai/sdk';
import { retryAfterMs } from './errors';

/** Exponential backoff when the API gave no time: 1 s, 2 s, 4 s … capped, with jitter. */
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_CAP_MS = 60_000;

/**
 * How long to wait before the next request after weather: the server's `retry-after`, else the
 * reset time of an exhausted rate limit (`anthropic-ratelimit-*-reset`), else backoff with jitter.
 */
export function weatherWaitMs(
  err: unknown,
  retry: number,
  now = Date.now(),
  random = Math.random,
  baseMs = BACKOFF_BASE_MS,
): { ms: number; from: 'retry-after' | 'ratelimit-reset' | 'backoff' } {
  const headers = err instanceof APIError ? err.headers : undefined;
  const after = retryAfterMs(headers);
  if (after !== undefined) return { ms: after, from: 'retry-after' };
  const reset = rateLimitResetMs(headers, now);
  if (reset !== undefined) return { ms: reset, from: 'ratelimit-reset' };
  const exp = Math.min(BACKOFF_CAP_MS, baseMs * 2 ** Math.max(0, retry - 1));
  // Half fixed, half random: agents told the same thing at once do not come back at once.
  return { ms: Math.round(exp / 2 + (random() * exp) / 2), from: 'backoff' };
}

const RATE_LIMITS = ['requests', 'tokens', 'input-tokens', 'output-tokens'];

/** The latest reset among the limits that are used up (remaining 0); else the earliest reset given. */
export function rateLimitResetMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const exhausted: number[] = [];
  const all: number[] = [];
  for (const limit of RATE_LIMITS) {
    const at = Date.parse(headers.get(`anthropic-ratelimit-${limit}-reset`) ?? '');
    if (!Number.isFinite(at) || at <= now) continue;
    all.push(at - now);
    if (headers.get(`anthropic-ratelimit-${limit}-remaining`) === '0') exhausted.push(at - now);
  }
  if (exhausted.length) return Math.min(BACKOFF_CAP_MS, Math.max(...exhausted));
  return all.length ? Math.min(BACKOFF_CAP_MS, Math.min(...all)) : undefined;
}

/** "429 rate_limit_error", "529 overloaded_error", "connection refused" … for people. */
export function weatherLabel(err: unknown, message: string): string {
  if (err instanceof APIError) return `${err.status ?? 'stream'} ${err.type ?? 'error'}`;
  const code = /\b(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EPIPE|UND_ERR_[A-Z_]+)\b/.exec(message);
  if (code) return code[1];
  if (/stalled/.test(message)) return 'stream stalled';
  if (/broken off/.test(message)) return 'stream cut';
  if (/timed out/.test(message)) return 'request timed out';
  return 'connection failed';
}

/**
 * One per worker process. `hold(until)` keeps every agent's next request back until then (a 429's
 * retry-after applies to the organisation's key, not to one conversation); `acquire` caps the
 * requests in flight at once. Several workers do not share this: each learns of a rate limit from
 * its own 429 (see the README).
 */
export class ApiLimiter {
  private holdUntil = 0;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  hold(untilMs: number): void {
    this.holdUntil = Math.max(this.holdUntil, untilMs);
  }

  /** When the held window ends (0 or the past when none). */
  heldUntil(): number {
    return this.holdUntil;
  }

  /**
   * Waits until no hold is in force and a slot is free, then takes the slot. `onHeld` hears of
   * each wait on a hold (so the caller can say it waits and count the time). Returns the release.
   */
  async acquire(max: number, signal: AbortSignal, onHeld?: (untilMs: number) => void): Promise<() => void> {
    for (;;) {
      if (signal.aborted) throw signal.reason ?? new Error('aborted');
      const until = this.holdUntil;
      if (until > Date.now()) {
        onHeld?.(until);
        await abortableSleep(until - Date.now(), signal);
        continue;
      }
      if (this.inFlight < max) break;
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          this.waiting.splice(this.waiting.indexOf(done), 1);
          reject(signal.reason ?? new Error('aborted'));
        };
        this.waiting.push(done);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
    this.inFlight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
      this.waiting.shift()?.();
    };
  }
}

/** The worker's limiter: module state, shared by every agent activity the process runs. */
export const workerApiLimiter = new ApiLimiter();

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason ?? new Error('aborted'));
    const timer = setTimeout(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason ?? new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
