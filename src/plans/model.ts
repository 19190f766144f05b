/**
 * What every plan reader and writer shares: warnings and import errors (with file and line or
 * field), the one status vocabulary that other tools' words map onto, and slugs.
 */

/** Something that could not map, or a contradiction settled by a rule; `--strict` makes these errors. */
export interface ImportWarning {
  file: string;
  /** `line 12` or a field path such as `phases[2].status`. */
  at?: string;
  message: string;
}

/** Bad input: one clear error naming the file and field or line; nothing is written. */
export class ImportError extends Error {
  constructor(
    readonly file: string,
    readonly at: string | undefined,
    readonly detail: string,
  ) {
    super(`${file}${at ? `: ${at}` : ''}: ${detail}`);
  }
}

export function formatWarning(w: ImportWarning): string {
  return `${w.file}${w.at ? `: ${w.at}` : ''}: ${w.message}`;
}

/** How an imported phase or task stands. */
export type ImportedStatus = 'pending' | 'in_progress' | 'completed' | 'skipped' | 'blocked';

/**
 * Status words from CCASP and Markdown plans (schema words and the rest of the corpus: COMPLETE,
 * DONE, ✓, SUPERSEDED, not_started, PARTIAL …) onto our vocabulary. `undefined`: not a status word.
 */
export function normaliseStatus(word: string): ImportedStatus | undefined {
  const w = word
    .trim()
    .toLowerCase()
    .replace(/[*`]/g, '')
    .replace(/[_-]/g, ' ')
    .replace(/^[^a-z✓✔✅☑]+/, '');
  if (!w) return undefined;
  if (/^(✓|✔|✅|☑)/.test(w)) return 'completed';
  const head = w.split(/[\s(:,.;]/)[0];
  if (/^(in progress|not started|not done|to do)\b/.test(w))
    return w.startsWith('in progress') ? 'in_progress' : 'pending';
  if (['completed', 'complete', 'done', 'finished', 'passed', 'approved', 'implemented', 'success'].includes(head))
    return 'completed';
  if (['cancelled', 'canceled', 'superseded', 'skipped', 'deferred', 'obsolete', 'abandoned', 'dropped'].includes(head))
    return 'skipped';
  if (['blocked', 'failed'].includes(head)) return 'blocked';
  if (
    ['active', 'implementing', 'partial', 'partially', 'started', 'ongoing', 'reviewing', 'wip', 'running'].includes(
      head,
    )
  )
    return 'in_progress';
  if (['pending', 'planned', 'planning', 'todo', 'ready', 'draft', 'open', 'paused', 'queued'].includes(head))
    return 'pending';
  return undefined;
}

/** A slug from any title: lowercase letters, digits and dashes, at most `max` characters. */
export function slugify(text: string, max = 48): string {
  const s = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/, '');
  return s || 'x';
}

/** Makes `base` unique among `taken` by appending -2, -3 …, and records it. */
export function unique(base: string, taken: Set<string>): string {
  let s = base;
  for (let n = 2; taken.has(s); n++) s = `${base}-${n}`;
  taken.add(s);
  return s;
}

/** A task id the spec accepts (letters, digits, dot, dash, underscore; ≤ 64). */
export function taskId(raw: unknown, fallback: string): string {
  const s = String(raw ?? '')
    .trim()
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64);
  return s || fallback;
}
