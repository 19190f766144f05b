/**
 * One Markdown plan file read into phases, with markdown-it's token stream (so `#` lines inside
 * code fences are code, not headings) and the line of everything found.
 *
 * Tasks are `- [ ]` / `- [x]` items inside a phase, except under Success Criteria, Testing or
 * Validation headings (those become the gate's success criteria); `Testing` code blocks become
 * gate commands. Without checkboxes, `Task N.M` headings are the tasks.
 */
import MarkdownIt from 'markdown-it';
import type { PhaseDraft, TaskDraft } from './draft';
import { type ImportedStatus, type ImportWarning, normaliseStatus, taskId } from './model';

export type Block =
  | { kind: 'heading'; depth: number; text: string; line: number }
  | { kind: 'item'; text: string; checked?: boolean; line: number; nest: number }
  | { kind: 'fence'; lang: string; text: string; line: number }
  | { kind: 'para'; text: string; line: number }
  | { kind: 'html'; text: string; line: number };

const md = new MarkdownIt({ html: true });

/** The file's blocks in order; lines are 1-based. */
export function blocks(src: string): Block[] {
  const tokens = md.parse(src, {});
  const out: Block[] = [];
  let nest = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const line = (t.map?.[0] ?? 0) + 1;
    if (t.type === 'heading_open') {
      out.push({ kind: 'heading', depth: Number(t.tag.slice(1)), text: tokens[i + 1].content.trim(), line });
      i += 2;
    } else if (t.type === 'bullet_list_open' || t.type === 'ordered_list_open') nest++;
    else if (t.type === 'bullet_list_close' || t.type === 'ordered_list_close') nest--;
    else if (t.type === 'list_item_open') {
      if (tokens[i + 1]?.type === 'paragraph_open' && tokens[i + 2]?.type === 'inline') {
        const raw = tokens[i + 2].content;
        const box = /^\[([ xX])\]\s+/.exec(raw);
        out.push({
          kind: 'item',
          text: box ? raw.slice(box[0].length) : raw,
          ...(box ? { checked: box[1] !== ' ' } : {}),
          line,
          nest,
        });
        i += 3;
      }
    } else if (t.type === 'fence' || t.type === 'code_block') {
      out.push({ kind: 'fence', lang: t.info.trim().split(/\s+/)[0] ?? '', text: t.content, line });
    } else if (t.type === 'paragraph_open' && tokens[i + 1]?.type === 'inline') {
      out.push({ kind: 'para', text: tokens[i + 1].content, line });
      i += 2;
    } else if (t.type === 'html_block') out.push({ kind: 'html', text: t.content, line });
  }
  return out;
}

const PHASE_HEADING = /^phase\s+(\d+(?:\.\d+)?)(?:\s+expansion)?(?![\w.])\s*(?:[:.\u2013\u2014-]\s*)?(.*)$/i;
const STAGE_HEADING = /^stage\s+(\d+(?:\.\d+)?)(?![\w.])\s*(?:[:.\u2013\u2014-]\s*)?(.*)$/i;
const TASK_HEADING = /^task\s+(\d+(?:\.\d+)*)\s*(?:[:.\u2013\u2014-]\s*)?(.*)$/i;
const CRITERIA = /success criteria|completion criteria|acceptance criteria|definition of done|exit criteria/i;
const TESTING = /\btest(s|ing)?\b|validation|verification/i;
const SHELL_LANGS = new Set(['', 'bash', 'sh', 'shell', 'zsh', 'console']);
const EXPORT_COMMENT = /<!--\s*phaseflow\s+(\{[\s\S]*?\})\s*-->/;

export interface HeadingInfo {
  number: string;
  title: string;
  status?: ImportedStatus;
}

/** `Phase 3: Title [COMPLETED] (2 days)` → number 3, title, status; markers and durations removed. */
export function readHeading(text: string, re = PHASE_HEADING): HeadingInfo | undefined {
  const m = re.exec(text.trim());
  if (!m) return undefined;
  let status: ImportedStatus | undefined;
  let title = m[2];
  title = title.replace(/\[([^\]]*)\]/g, (_, word: string) => {
    status = mergeMarker(status, normaliseStatus(word));
    return ' ';
  });
  if (/[✓✔✅☑]/.test(title)) status = mergeMarker(status, 'completed');
  title = title
    .replace(/[✓✔✅☑🔄⏳❌]/gu, ' ')
    .replace(/\s[-\u2013\u2014]\s*(EXPANDED|COMPLETED?|DONE)\s*$/i, ' ')
    .replace(/\((expanded|[^)]*\b(hours?|days?|weeks?|mins?|minutes?|risk|priority|high|medium|low)\b[^)]*)\)/gi, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[:\s-]+$/, '');
  return { number: m[1], title: title || `Phase ${m[1]}`, status };
}

/** Two markers on one heading: the one that says more done wins only if no other says otherwise. */
function mergeMarker(a: ImportedStatus | undefined, b: ImportedStatus | undefined): ImportedStatus | undefined {
  if (!a) return b;
  if (!b) return a;
  return a === b ? a : a === 'completed' || b === 'completed' ? 'in_progress' : a;
}

/** `**Key**: value` (also `Key: value`) from a metadata line. */
function field(text: string): [string, string] | undefined {
  const m = /^\s*\*\*([^*]+?)\*\*\s*:?\s*:?\s*(.*)$/s.exec(text) ?? /^\s*([A-Z][\w ]{1,30}):\s*(.*)$/s.exec(text);
  if (!m) return undefined;
  return [m[1].replace(/:$/, '').trim().toLowerCase(), m[2].trim()];
}

export interface ParsedFile {
  file: string;
  title: string;
  titleLine: number;
  /** Metadata fields (lower-case keys) and their lines, from the first Metadata section. */
  meta: Map<string, { value: string; line: number }>;
  /** The file's own heading when it is a phase or stage file (H1 `Phase N: …` / `Stage N: …`). */
  self?: { kind: 'phase' | 'stage'; heading: HeadingInfo; line: number };
  /** The phases found at the plan's phase level (for a phase or stage file: the file itself). */
  phases: PhaseDraft[];
  extra?: Record<string, unknown>;
}

export function parseMarkdown(file: string, src: string, warnings: ImportWarning[]): ParsedFile {
  const bs = blocks(src);
  const h1 = bs.find((b) => b.kind === 'heading' && b.depth === 1) as Extract<Block, { kind: 'heading' }> | undefined;
  const meta = readMeta(bs);
  const extra = exportComment(bs.find((b) => b.kind === 'html' && EXPORT_COMMENT.test(b.text))?.text);
  const parsed: ParsedFile = {
    file,
    title: h1 ? h1.text.replace(/^implementation plan\s*[:-]\s*/i, '').trim() : '',
    titleLine: h1?.line ?? 1,
    meta,
    phases: [],
    ...(extra ? { extra } : {}),
  };
  if (h1) {
    const asPhase = readHeading(h1.text);
    const asStage = readHeading(h1.text, STAGE_HEADING);
    if (asPhase) parsed.self = { kind: 'phase', heading: asPhase, line: h1.line };
    else if (asStage) parsed.self = { kind: 'stage', heading: asStage, line: h1.line };
  }
  if (parsed.self) {
    const start = bs.indexOf(h1!);
    const status = parsed.self.heading.status ?? metaStatus(meta);
    parsed.phases = [readPhase(file, bs, start, 1, { ...parsed.self.heading, status }, warnings)];
    return parsed;
  }
  const phaseHeadings = bs
    .map((b, i) => ({ b, i }))
    .filter(({ b }) => b.kind === 'heading' && b.depth >= 2 && readHeading(b.text));
  if (phaseHeadings.length === 0) return parsed;
  const depth = Math.min(...phaseHeadings.map(({ b }) => (b as any).depth));
  for (const { b, i } of phaseHeadings) {
    if ((b as any).depth !== depth) continue;
    parsed.phases.push(readPhase(file, bs, i, depth, readHeading((b as any).text)!, warnings));
  }
  return parsed;
}

function metaStatus(meta: ParsedFile['meta']): ImportedStatus | undefined {
  const s = meta.get('status');
  return s ? normaliseStatus(s.value.replace(/^[^\p{L}✓✔✅]+/u, '')) : undefined;
}

function readMeta(bs: Block[]): ParsedFile['meta'] {
  const meta: ParsedFile['meta'] = new Map();
  const at = bs.findIndex((b) => b.kind === 'heading' && /metadata/i.test(b.text));
  if (at < 0) return meta;
  const depth = (bs[at] as any).depth;
  for (let i = at + 1; i < bs.length; i++) {
    const b = bs[i];
    if (b.kind === 'heading' && b.depth <= depth) break;
    if (b.kind === 'item' || b.kind === 'para') {
      for (const [n, lineText] of b.text.split('\n').entries()) {
        const f = field(lineText);
        if (f && !meta.has(f[0])) meta.set(f[0], { value: f[1], line: b.line + n });
      }
    }
  }
  return meta;
}

function exportComment(text: string | undefined): Record<string, unknown> | undefined {
  const m = text ? EXPORT_COMMENT.exec(text) : null;
  if (!m) return undefined;
  try {
    return JSON.parse(m[1]);
  } catch {
    return undefined;
  }
}

/** The phase whose heading is `bs[start]`: everything until the next heading at `depth` or above. */
function readPhase(
  file: string,
  bs: Block[],
  start: number,
  depth: number,
  heading: HeadingInfo,
  warnings: ImportWarning[],
): PhaseDraft {
  const phase: PhaseDraft = {
    label: heading.number,
    title: heading.title,
    ...(heading.status ? { status: heading.status } : {}),
    tasks: [],
    gate: [],
    successCriteria: [],
    from: `line ${bs[start].line}`,
    file,
  };
  const taskHeadings: TaskDraft[] = [];
  const stack: { depth: number; text: string }[] = [];
  let label = ''; // a bold label paragraph such as **Testing**: applies until the next heading
  let wantObjective = false;
  let n = 0;
  for (let i = start + 1; i < bs.length; i++) {
    const b = bs[i];
    if (b.kind === 'heading') {
      if (b.depth <= depth) break;
      while (stack.length && stack[stack.length - 1].depth >= b.depth) stack.pop();
      stack.push({ depth: b.depth, text: b.text });
      label = '';
      wantObjective = /^objective$/i.test(b.text.trim());
      const t = readHeading(b.text, TASK_HEADING);
      if (t) {
        taskHeadings.push({
          id: taskId(t.number, `${phase.label}.${taskHeadings.length + 1}`),
          description: t.title,
          checked: t.status === 'completed',
          from: `line ${b.line}`,
        });
      }
      continue;
    }
    const context = [...stack.map((s) => s.text), label].join(' / ');
    const criteria = CRITERIA.test(context);
    const testing = TESTING.test(context);
    if (b.kind === 'html') {
      const extra = exportComment(b.text);
      if (extra && i === start + 1) phase.extra = extra;
      continue;
    }
    if (b.kind === 'para') {
      for (const lineText of b.text.split('\n')) {
        const f = field(lineText);
        if (!f) continue;
        const [key, value] = f;
        if (key === 'objective' && !phase.description) phase.description = value;
        else if ((key === 'complexity' || key === 'complexity score') && !phase.complexity) phase.complexity = value;
        else if (key === 'status' && phase.status === undefined) {
          const s = normaliseStatus(value.replace(/^[^\p{L}✓✔✅]+/u, ''));
          if (s) phase.status = s;
          else
            warnings.push({ file, at: `line ${b.line}`, message: `status "${value}" is not a status word; ignored` });
        }
        if (/^(testing|validation|verification|test)/i.test(key)) label = key;
      }
      if (wantObjective && !phase.description) phase.description = b.text.trim();
      wantObjective = false;
      continue;
    }
    if (b.kind === 'fence') {
      if (testing && SHELL_LANGS.has(b.lang.toLowerCase())) {
        const command = b.text.trim();
        if (command.split('\n').some((l) => l.trim() && !l.trim().startsWith('#'))) phase.gate.push(command);
      }
      continue;
    }
    if (b.kind === 'item') {
      if (b.checked === undefined) {
        const f = field(b.text);
        if (f?.[0] === 'objective' && !phase.description) phase.description = f[1];
        if (f?.[0] === 'status' && phase.status === undefined) phase.status = normaliseStatus(f[1]);
        if (f && (f[0] === 'complexity' || f[0] === 'complexity score') && !phase.complexity) phase.complexity = f[1];
        continue;
      }
      if (criteria || testing) {
        phase.successCriteria.push(clean(b.text).text);
        continue;
      }
      n++;
      const { text, extra, id, dependsOn, fixedId } = clean(b.text);
      phase.tasks.push({
        id: taskId(id, `${phase.label}.${n}`),
        ...(fixedId ? { fixedId } : {}),
        description: text,
        checked: b.checked,
        from: `line ${b.line}`,
        ...(dependsOn ? { dependsOn } : {}),
        ...(extra ? { extra } : {}),
      });
    }
  }
  if (phase.tasks.length === 0 && taskHeadings.length > 0) phase.tasks = taskHeadings;
  return phase;
}

/** A task item's text without its markers; the export comment, `**Task 1.1**:` id and `(depends on …)`. */
function clean(raw: string): {
  text: string;
  extra?: Record<string, unknown>;
  id?: string;
  dependsOn?: string[];
  fixedId?: boolean;
} {
  let text = raw;
  const extra = exportComment(text);
  text = text.replace(EXPORT_COMMENT, '');
  let id: string | undefined;
  const fixedId = typeof extra?.id === 'string';
  if (typeof extra?.id === 'string') {
    // Written by `phaseflow export`: the comment's id is the task's id.
    id = extra.id;
    delete extra.id;
    text = text.replace(/^\*\*[^*]+\*\*\s*:\s*/, '');
  }
  const idm = /^\*\*(?:Task\s+)?([\w.-]+)\*\*\s*:\s*/i.exec(text);
  if (!id && idm && /\d/.test(idm[1])) {
    id = idm[1];
    text = text.slice(idm[0].length);
  }
  let dependsOn: string[] | undefined;
  text = text.replace(/\s*\*\(depends on:?\s*([^)]*)\)\*\s*/i, (_, list: string) => {
    dependsOn = list
      .split(/[,\s]+/)
      .map((s) => s.trim())
      .filter(Boolean);
    return ' ';
  });
  text = text
    .replace(/\s*\*\((completed|done)\)\*\s*$/i, '')
    .replace(/\s+$/g, '')
    .trim();
  return {
    text,
    ...(fixedId ? { fixedId } : {}),
    ...(extra && Object.keys(extra).length ? { extra } : {}),
    ...(id ? { id } : {}),
    ...(dependsOn ? { dependsOn } : {}),
  };
}
