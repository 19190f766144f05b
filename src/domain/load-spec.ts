/**
 * Reading an epic file (YAML or JSON) into a validated EpicSpec, with every problem reported as
 * `<file>: <field path>: <message>`. Nothing is started and nothing is written on error.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { EpicSpec } from './spec';
import { SpecError, validateEpic } from './validate';

export { SpecError, validateEpic } from './validate';

export const MAX_SPEC_BYTES = 5 * 1024 * 1024;

/** Parses YAML or JSON text (by extension, else sniffed) without validating. */
export function parseSpecText(text: string, file: string): unknown {
  const ext = path.extname(file).toLowerCase();
  const looksJson = ext === '.json' || (ext !== '.yaml' && ext !== '.yml' && /^\s*[{[]/.test(text));
  if (looksJson) {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new SpecError(file, [{ path: '', message: `not valid JSON: ${(e as Error).message}` }]);
    }
  }
  const doc = YAML.parseDocument(text, { uniqueKeys: true, prettyErrors: true, strict: true });
  const errors = doc.errors.map((e) => ({ path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '', message: e.message.split('\n')[0] }));
  if (errors.length) throw new SpecError(file, errors);
  try {
    // A small alias budget defeats "billion laughs" documents.
    return doc.toJS({ maxAliasCount: 50 });
  } catch (e) {
    throw new SpecError(file, [{ path: '', message: `YAML could not be expanded: ${(e as Error).message}` }]);
  }
}

/** Loads and validates an epic file; the workspace is resolved against the file's directory. */
export function loadEpicFile(file: string): EpicSpec {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (e) {
    throw new SpecError(file, [{ path: '', message: `cannot read file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  }
  if (size > MAX_SPEC_BYTES) throw new SpecError(file, [{ path: '', message: `file is ${size} bytes; an epic spec may be at most ${MAX_SPEC_BYTES} bytes` }]);
  const bytes = readFileSync(file);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    throw new SpecError(file, [{ path: '', message: `not valid UTF-8 (first bad byte at offset ${at})` }]);
  }
  if (text.trim() === '') throw new SpecError(file, [{ path: '', message: 'file is empty; expected an epic (see `phaseflow schema`)' }]);
  const spec = validateEpic(parseSpecText(text, file), file);
  return { ...spec, workspace: path.resolve(path.dirname(path.resolve(file)), spec.workspace) };
}

/** Byte offset of the first invalid UTF-8 sequence (a single scan; only called on failure). */
function firstInvalidUtf8(bytes: Buffer): number {
  const dec = new TextDecoder('utf-8', { fatal: true });
  for (let i = 0; i < bytes.length; ) {
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
