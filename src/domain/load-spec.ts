/**
 * Reading an epic file (YAML or JSON) into a validated EpicSpec, with every problem reported as
 * `<file>: <field path>: <message>`. Nothing is started and nothing is written on error.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import YAML, { LineCounter } from 'yaml';
import { z } from 'zod';
import { redactSecrets } from './secret-scan';
import { EpicSpec } from './spec';
import { formatPath, SpecError, validateEpic } from './validate';

export { SpecError, validateEpic } from './validate';

export const MAX_SPEC_BYTES = 5 * 1024 * 1024;

/**
 * The yaml library's message without its code frame (prettyErrors appends " at line L, column C:"
 * and the source lines): the position is already the problem's path, and a frame would echo the
 * file's text (a secret in it) unredacted.
 */
function yamlMessage(message: string): string {
  return message
    .split('\n')[0]
    .replace(/ at line \d+, column \d+:?$/, '')
    .replace(/:$/, '');
}

/** Deeper than any real spec (an epic's task settings sit about 10 levels down). */
export const MAX_SPEC_NESTING = 100;

/** The deepest `[`/`{` nesting in JSON text, strings skipped; one pass, no recursion. */
export function jsonNestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** Parses YAML or JSON text (by extension, else sniffed) without validating. */
export function parseSpecText(text: string, file: string): unknown {
  const ext = path.extname(file).toLowerCase();
  const looksJson = ext === '.json' || (ext !== '.yaml' && ext !== '.yml' && /^\s*[{[]/.test(text));
  if (looksJson) {
    // Refused before anything recurses into it: deep nesting exhausts the stack of the parsers and
    // the validator, and V8 can then die outright instead of throwing.
    const depth = jsonNestingDepth(text);
    if (depth > MAX_SPEC_NESTING)
      throw new SpecError(file, [
        { path: '', message: `nested too deeply to parse (${depth} levels; a spec needs at most ${MAX_SPEC_NESTING})` },
      ]);
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new SpecError(file, [{ path: '', message: `not valid JSON: ${(e as Error).message}` }]);
    }
    // JSON.parse keeps the last of two equal keys without a word: a reviewer would read the first.
    const duplicates = duplicateJsonKeys(text);
    if (duplicates.length) throw new SpecError(file, duplicates);
    return data;
  }
  const doc = YAML.parseDocument(text, { uniqueKeys: true, prettyErrors: true, strict: true });
  // Warnings count too: an unresolved tag (`!include x`) would otherwise quietly become a string.
  const errors = [...doc.errors, ...doc.warnings].map((e) => ({
    path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '',
    message: e.message.includes('call stack') ? 'nested too deeply to parse' : yamlMessage(e.message),
  }));
  if (errors.length) throw new SpecError(file, errors);
  try {
    // A small alias budget defeats "billion laughs" documents.
    return doc.toJS({ maxAliasCount: 50 });
  } catch (e) {
    throw new SpecError(file, [{ path: '', message: `YAML could not be expanded: ${(e as Error).message}` }]);
  }
}

/**
 * A spec file that cannot be read at all (missing, a directory, no permission): a usage error
 * (exit 1), not a bad spec (exit 2), since there is no spec to judge.
 */
export class SpecFileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'SpecFileError';
  }
}

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'no such file (a part of the path is not a directory)',
  EISDIR: 'is a directory, expected a YAML or JSON spec file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
};

function unreadable(file: string, e: unknown): SpecFileError {
  const code = (e as NodeJS.ErrnoException).code;
  return new SpecFileError(file, (code && READ_ERRORS[code]) ?? `cannot read it: ${(e as Error).message}`);
}

/** Loads and validates an epic file; the workspace is resolved against the file's directory. */
export function loadEpicFile(file: string): EpicSpec {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(file);
  } catch (e) {
    throw unreadable(file, e);
  }
  if (stat.isDirectory()) throw new SpecFileError(file, READ_ERRORS.EISDIR);
  if (stat.size > MAX_SPEC_BYTES)
    throw new SpecError(file, [
      { path: '', message: `file is ${stat.size} bytes; an epic spec may be at most ${MAX_SPEC_BYTES} bytes` },
    ]);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw unreadable(file, e);
  }
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new SpecError(file, [
      { path: '', message: 'the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8' },
    ]);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    throw new SpecError(file, [{ path: '', message: `not valid UTF-8 (first bad byte at offset ${at})` }]);
  }
  if (text.trim() === '')
    throw new SpecError(file, [{ path: '', message: 'file is empty; expected an epic (see `phaseflow schema`)' }]);
  const data = parseSpecText(text, file);
  let spec: EpicSpec;
  try {
    spec = validateEpic(data, file);
  } catch (err) {
    if (err instanceof SpecError) throw withLines(err, text);
    throw err;
  }
  return { ...spec, workspace: path.resolve(path.dirname(path.resolve(file)), spec.workspace) };
}

/** The field paths of `err` with the line each one is on (JSON is YAML too, so one parser serves both). */
export function withLines(err: SpecError, text: string): SpecError {
  const lines = new LineCounter();
  let doc: YAML.Document;
  try {
    doc = YAML.parseDocument(text, { lineCounter: lines, uniqueKeys: false });
  } catch {
    return err;
  }
  const lineOf = (fieldPath: string): number | undefined => {
    if (!fieldPath || fieldPath.startsWith('line ')) return undefined;
    const keys = [...fieldPath.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) =>
      m[2] !== undefined ? Number(m[2]) : m[1],
    );
    // A missing field has no node: the nearest object that holds it does.
    for (let n = keys.length; n >= 0; n--) {
      const node = (n ? doc.getIn(keys.slice(0, n), true) : doc.contents) as
        { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return lines.linePos(node.range[0]).line;
    }
    return undefined;
  };
  return new SpecError(
    err.file,
    err.problems.map((p) => {
      const line = lineOf(p.path);
      return line ? { ...p, line } : p;
    }),
  );
}

/**
 * Keys that occur twice in one JSON object, with their field paths. JSON.parse has accepted the
 * text already, so a small scanner suffices: strings (keys decoded, so "\u0073lug" is "slug"),
 * brackets, commas and colons. Iterative and linear.
 */
export function duplicateJsonKeys(text: string): { path: string; message: string }[] {
  const MAX_REPORTED = 20;
  interface Frame {
    object: boolean;
    keys: Set<string>;
    /** The key or index this container sits under in its parent. */
    at: string | number | undefined;
    key: string | undefined;
    index: number;
    expectKey: boolean;
  }
  const stack: Frame[] = [];
  const found: { path: string; message: string }[] = [];
  const pathTo = (last: string | number) => formatPath([...stack.slice(1).map((f) => f.at!), last]);
  const slot = (): string | number | undefined => {
    const top = stack[stack.length - 1];
    return top ? (top.object ? top.key : top.index) : undefined;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') {
      stack.push({ object: c === '{', keys: new Set(), at: slot(), key: undefined, index: 0, expectKey: c === '{' });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.object) top.expectKey = true;
      else if (top) top.index++;
    } else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.object && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) {
          const line = text.slice(0, i).split('\n').length;
          found.push({
            path: pathTo(key),
            message: `duplicate key "${redactSecrets(key)}" (line ${line}); JSON would silently keep only the last one`,
          });
          if (found.length >= MAX_REPORTED) return found;
        }
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = j;
    }
  }
  return found;
}

/** Byte offset of the first invalid UTF-8 sequence (a single scan; only called on failure). */
function firstInvalidUtf8(bytes: Buffer): number {
  const dec = new TextDecoder('utf-8', { fatal: true });
  for (let i = 0; i < bytes.length;) {
    const c = bytes[i];
    const n = c < 0x80 ? 1 : (c & 0xe0) === 0xc0 ? 2 : (c & 0xf0) === 0xe0 ? 3 : (c & 0xf8) === 0xf0 ? 4 : 0;
    if (n === 0 || i + n > bytes.length) return i;
    try {
      dec.decode(bytes.subarray(i, i + n));
    } catch {
      return i;
    }
    i += n;
  }
  return bytes.length;
}

/** The JSON Schema of the epic spec, generated from the zod schema (for editors). */
export function epicJsonSchema(): object {
  return z.toJSONSchema(EpicSpec, { io: 'input', unrepresentable: 'any' });
}
