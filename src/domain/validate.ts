/**
 * Validating epic data against the spec, with a field path on every problem. Pure (no I/O) so the
 * epic workflow runs the same checks on input that did not come through the CLI.
 */
import type { z } from 'zod';
import { checkStructure, EpicSpec } from './spec';

export interface SpecProblem {
  path: string;
  message: string;
}

export class SpecError extends Error {
  constructor(
    readonly file: string,
    readonly problems: SpecProblem[],
  ) {
    super(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n` + problems.map((p) => `  ${p.path || '(root)'}: ${p.message}`).join('\n'));
    this.name = 'SpecError';
  }
}

/** `roadmaps[0].plans[1].id` from zod's path array. */
export function formatPath(p: readonly PropertyKey[]): string {
  let out = '';
  for (const k of p) out += typeof k === 'number' ? `[${k}]` : out ? `.${String(k)}` : String(k);
  return out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_type') {
    const input = (issue as { input?: unknown }).input;
    const received = input === undefined ? 'nothing (missing)' : input === null ? 'null' : Array.isArray(input) ? 'array' : `${typeof input} ${JSON.stringify(input).slice(0, 40)}`;
    return `expected ${issue.expected}, got ${received}`;
  }
  return issue.message;
}

/** Validates already-parsed data. `source` names it in errors (a file path or "workflow input"). */
export function validateEpic(data: unknown, source = 'epic'): EpicSpec {
  const result = EpicSpec.safeParse(data, { reportInput: true });
  if (result.success) return result.data;
  const problems: SpecProblem[] = result.error.issues.map((issue) => ({
    // Unknown keys are reported on their parent; name them fully so the user can find them.
    path: formatPath(issue.code === 'unrecognized_keys' && issue.keys.length === 1 ? [...issue.path, issue.keys[0]] : issue.path),
    message: describeIssue(issue),
  }));
  // zod skips refinements when the shape is wrong; run them anyway so every problem shows at once.
  if (!result.error.issues.some((i) => i.code === 'custom')) {
    checkStructure(data, (p, message) => problems.push({ path: formatPath(p), message }));
  }
  throw new SpecError(source, problems);
}

/** Like validateEpic, without throwing: the workflow turns the message into a failure. */
export function parseEpic(data: unknown, source: string): { ok: true; spec: EpicSpec } | { ok: false; error: string } {
  try {
    return { ok: true, spec: validateEpic(data, source) };
  } catch (e) {
    if (e instanceof SpecError) return { ok: false, error: e.message };
    throw e;
  }
}
