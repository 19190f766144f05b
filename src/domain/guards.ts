/** Type guards for values that arrive from outside (JSON sent by hand, files read back). */

/** A plain object (not null, not an array): what a JSON payload sent by hand must be. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
