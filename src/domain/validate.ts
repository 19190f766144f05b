/**
 * Validating epic data against the spec, with a field path on every problem. Pure (no I/O) so the
 * epic workflow runs the same checks on input that did not come through the CLI.
 */
import { z } from 'zod';
import { redactSecrets, scanForSecrets, walkStrings } from './secret-scan';
import { checkStructure, EpicSpec } from './spec';

export interface SpecProblem {
  path: string;
  message: string;
  /** The line in the spec file where the field (or the nearest object holding it) is. */
  line?: number;
}

export class SpecError extends Error {
  constructor(
    readonly file: string,
    readonly problems: SpecProblem[],
  ) {
    super(
      `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n` +
        problems.map((p) => `  ${p.path || '(root)'}${p.line ? ` (line ${p.line})` : ''}: ${p.message}`).join('\n'),
    );
    this.name = 'SpecError';
  }
}

/** `roadmaps[0].plans[1].id` from zod's path array. */
export function formatPath(p: readonly PropertyKey[]): string {
  let out = '';
  // A key can be a secret too (a misplaced token as a YAML key): never print one.
  for (const k of p)
    out += typeof k === 'number' ? `[${k}]` : out ? `.${redactSecrets(String(k))}` : redactSecrets(String(k));
  return out;
}

/**
 * Characters no spec string needs: C0 controls other than tab, newline and carriage return
 * (a NUL cannot even be passed to a command; ESC sequences rewrite a terminal showing a title),
 * DEL, C1 controls, and the bidirectional overrides and isolates that make a command read
 * differently from what runs ("Trojan Source").
 */
const UNSAFE_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const UNSAFE_WHY = 'control and bidirectional-override characters are not allowed in a spec';

/** The epic workflow's input is the whole spec: one payload, under Temporal's default 2 MiB blob limit. */
export const MAX_SPEC_JSON_BYTES = 2_000_000;

/** UTF-8 size without Buffer or TextEncoder (this module also runs inside the workflow sandbox). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function describeChar(c: string): string {
  return `the character U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

type JsonSchemaNode = { properties?: Record<string, JsonSchemaNode>; items?: JsonSchemaNode; anyOf?: JsonSchemaNode[] };
let specSchema: JsonSchemaNode | undefined;

/**
 * The field names allowed in the object at `at` (a zod path), read from the spec's JSON Schema so
 * they cannot drift from it; several alternatives (a gate command's string or object) are merged.
 */
function knownFields(at: readonly PropertyKey[]): string[] {
  specSchema ??= z.toJSONSchema(EpicSpec, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;
  let nodes: JsonSchemaNode[] = [specSchema];
  const branches = (n: JsonSchemaNode): JsonSchemaNode[] => [n, ...(n.anyOf ?? []).flatMap(branches)];
  for (const key of at) {
    nodes = nodes
      .flatMap(branches)
      .map((n) => (typeof key === 'number' ? n.items : n.properties?.[String(key)]))
      .filter((n): n is JsonSchemaNode => Boolean(n));
  }
  return [...new Set(nodes.flatMap(branches).flatMap((n) => Object.keys(n.properties ?? {})))];
}

/** Edit distance, for suggestions between short field names. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const keep = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = keep;
    }
  }
  return row[b.length];
}

/** `"dependsOn"` for `dependOn`: the closest field allowed there, if one is close (case-insensitive, ≤ 2 edits). */
function didYouMean(key: string, at: readonly PropertyKey[]): string | undefined {
  if (key.length > 40) return undefined;
  let best: { name: string; d: number } | undefined;
  for (const name of knownFields(at)) {
    if (name === key) continue;
    const d = distance(key.toLowerCase(), name.toLowerCase());
    if (d <= Math.min(2, Math.floor(name.length / 3)) && (!best || d < best.d)) best = { name, d };
  }
  return best && `"${best.name}"`;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  // Input echoed back is redacted first, so a secret in the wrong place is not shown either.
  if (issue.code === 'unrecognized_keys') {
    const hints = issue.keys.map((k) => didYouMean(k, issue.path)).filter(Boolean);
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${redactSecrets(k)}"`).join(', ')}${hints.length ? `; did you mean ${hints.join(', ')}?` : ''}`;
  }
  const input = (issue as { input?: unknown }).input;
  const shown = () =>
    typeof input === 'object'
      ? ''
      : ` ${typeof input === 'string' ? redactSecrets(JSON.stringify(input)).slice(0, 40) : String(input)}`;
  const received = () =>
    input === undefined
      ? 'nothing (missing)'
      : input === null
        ? 'null'
        : Array.isArray(input)
          ? 'array'
          : `${typeof input}${shown()}`;
  if (issue.code === 'invalid_type') return `expected ${issue.expected}, got ${received()}`;
  // A union's own "expected …" (a gate command) says what it got too: YAML reads `true` as a boolean.
  if (issue.code === 'invalid_union' && issue.message.startsWith('expected ') && 'input' in issue)
    return `${issue.message}; got ${received()}${typeof input === 'boolean' || typeof input === 'number' ? ' (quote it to make it a string)' : ''}`;
  return issue.message;
}

/**
 * Validates already-parsed data. `source` names it in errors (a file path or "workflow input").
 * A credential anywhere in it (see secret-scan.ts) is a problem too, reported masked, and so is
 * a control character.
 */
export function validateEpic(data: unknown, source = 'epic'): EpicSpec {
  try {
    return validateOrThrow(data, source);
  } catch (e) {
    // A pathological document (a dependency chain of tens of thousands of tasks) can exhaust the
    // stack in a recursive check: that is a bad spec too, not a crash (nor, in the epic workflow,
    // a workflow task that fails and is retried for ever).
    if (e instanceof RangeError)
      throw new SpecError(source, [{ path: '', message: `too large or too deeply nested to check (${e.message})` }]);
    throw e;
  }
}

function validateOrThrow(data: unknown, source: string): EpicSpec {
  const extra: SpecProblem[] = [];
  scanForSecrets(data, (p, message) => extra.push({ path: formatPath(p), message }));
  walkStrings(data, (text, path, isKey) => {
    const bad = UNSAFE_CHARS.exec(text);
    if (bad)
      extra.push({
        path: formatPath(path()),
        message: `${isKey ? 'the field name contains' : 'contains'} ${describeChar(bad[0])}; ${UNSAFE_WHY}`,
      });
  });
  const result = EpicSpec.safeParse(data, { reportInput: true });
  if (result.success) {
    const bytes = utf8Length(JSON.stringify(result.data));
    if (bytes > MAX_SPEC_JSON_BYTES) {
      extra.push({
        path: '',
        message: `the spec is ${bytes} bytes as JSON; it travels to Temporal as one payload, and Temporal refuses payloads over 2 MiB by default, so at most ${MAX_SPEC_JSON_BYTES} bytes (shorten descriptions, or split the epic)`,
      });
    }
    if (extra.length) throw new SpecError(source, extra);
    return result.data;
  }
  // A misspelt field (`gate.command`) has its problem already; a rule about the field it was
  // meant to be (`gate.commands` is required) would only mislead.
  const meant = new Set(
    result.error.issues.flatMap((i) =>
      i.code === 'unrecognized_keys'
        ? i.keys.map((k) => didYouMean(k, i.path)?.slice(1, -1)).flatMap((m) => (m ? [formatPath([...i.path, m])] : []))
        : [],
    ),
  );
  const issues = result.error.issues.filter((i) => !(i.code === 'custom' && meant.has(formatPath(i.path))));
  const problems: SpecProblem[] = issues.map((issue) => ({
    // Unknown keys are reported on their parent; name them fully so the user can find them.
    path: formatPath(
      issue.code === 'unrecognized_keys' && issue.keys.length === 1 ? [...issue.path, issue.keys[0]] : issue.path,
    ),
    message: describeIssue(issue),
  }));
  // zod skips refinements when the shape is wrong; run them anyway so every problem shows at once.
  if (!result.error.issues.some((i) => i.code === 'custom')) {
    checkStructure(data, (p, message) => problems.push({ path: formatPath(p), message: redactSecrets(message) }));
  }
  throw new SpecError(source, [...problems, ...extra]);
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
