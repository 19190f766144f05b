/**
 * The GitHub client of the worker: @octokit/rest with the token from the worker's own environment
 * (GITHUB_TOKEN; never an activity input, so never in history), GITHUB_API_URL for GitHub
 * Enterprise and tests. How its failures are handled: a rate limit (403 or 429 with retry-after,
 * or x-ratelimit-remaining 0 with x-ratelimit-reset) is a retryable failure whose delay is the
 * server's, so Temporal waits it out; 401, 403 and 404 stop the sync with a message saying what to
 * fix (returned, never thrown: the epic goes on); anything else is retried.
 */
import { Octokit } from '@octokit/rest';
import { transientFailure } from '../failures';

export interface GithubTarget {
  owner: string;
  repo: string;
}

/** The client, or the reason there is none (the sync stops with it). */
export function githubClient(): { octokit: Octokit } | { stopped: string } {
  const token = process.env.GITHUB_TOKEN;
  if (!token)
    return {
      stopped:
        "GITHUB_TOKEN is not set in the worker's environment: set it (a token with the repository's Issues and Pull requests read/write, Contents write for pushes) and restart the worker",
    };
  return {
    octokit: new Octokit({
      auth: token,
      baseUrl: (process.env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, ''),
      userAgent: 'phaseflow',
      // Octokit's own log would print request URLs at warn level; the activity reports failures itself.
      log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    }),
  };
}

interface HttpError {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined> };
}

/**
 * A failed request: throws a retryable failure for rate limits and transient trouble; returns the
 * message that stops the sync for 401/403/404 (what to fix, and where).
 */
export function githubStop(err: unknown, what: string, target: GithubTarget): string {
  const e = err as HttpError;
  const headers = e.response?.headers ?? {};
  const where = `${target.owner}/${target.repo}`;
  const retryAfter = Number(headers['retry-after']);
  const remaining = headers['x-ratelimit-remaining'];
  const reset = Number(headers['x-ratelimit-reset']);
  if (e.status === 429 || (e.status === 403 && (retryAfter > 0 || String(remaining) === '0'))) {
    const waitMs =
      retryAfter > 0 ? retryAfter * 1000 : reset > 0 ? Math.max(1000, reset * 1000 - Date.now() + 1000) : 60_000;
    throw transientFailure(
      `GitHub rate limit on ${where} while trying to ${what} (${e.status}); next try in ${Math.ceil(waitMs / 1000)} s`,
      waitMs,
    );
  }
  if (e.status === 401)
    return `GitHub refused the token (401 Bad credentials) while trying to ${what} on ${where}: set a valid GITHUB_TOKEN in the worker's environment and restart it; the sync stopped (the epic goes on)`;
  if (e.status === 403)
    return `GitHub denied access (403: ${e.message ?? ''}) while trying to ${what} on ${where}: the token needs Issues and Pull requests read/write on it; the sync stopped (the epic goes on)`;
  if (e.status === 404)
    return `GitHub says ${where} or the issue does not exist, or the token cannot see it (404) while trying to ${what}: check github.owner/repo/issue in the spec and the token's repository access; the sync stopped (the epic goes on)`;
  if (e.status === 422) return `GitHub refused to ${what} on ${where} (422: ${e.message ?? ''}); the sync stopped`;
  throw transientFailure(
    `GitHub request failed while trying to ${what} on ${where}: ${e.status ?? ''} ${e.message ?? String(err)}`.trim(),
  );
}

/** A hidden marker's key at the start of a comment or issue body. */
export function markerKey(body: string | null | undefined): string | undefined {
  return body?.match(/^<!-- phaseflow:(.+?) -->/)?.[1];
}
