/**
 * How activities fail. The workflow runs the retry ladder itself (each attempt has its own
 * timeout), so the retry-after delay travels in the failure's details: the TS SDK does not decode
 * `nextRetryDelay` on the workflow side. `nextRetryDelay` is still set for anything else that reads it.
 */
import { ApplicationFailure } from '@temporalio/common';
import { FailureTypes } from '../domain/types';

export interface FailureDetails {
  retryAfterMs?: number;
}

export function transientFailure(message: string, retryAfterMs?: number, cause?: Error): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureTypes.Transient,
    message,
    nonRetryable: false,
    nextRetryDelay: retryAfterMs,
    details: [{ retryAfterMs } satisfies FailureDetails],
    cause,
  });
}

export function permanentFailure(
  message: string,
  type: string = FailureTypes.Permanent,
  cause?: Error,
): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, cause });
}
