/**
 * Grep {pattern, path?, glob?, -i?, output_mode?}: regular-expression search in workspace files.
 * Implemented with JavaScript regexes rather than by shelling out to ripgrep, so it needs no
 * binary and cannot be steered outside the workspace by flags. The matching runs in a thread
 * with a time limit (grep-thread.ts), so a catastrophic pattern cannot freeze the worker.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import picomatch from 'picomatch';
import { z } from 'zod';
import { resolveInWorkspace, toRelative } from '../workspace';
import { defineTool } from './tool';
import { ToolError } from './tool-error';
import { grepInThread } from './grep-thread';
import { walkFiles } from './walk';

const MAX_FILE_BYTES = 2 * 1024 * 1024;
const MAX_OUTPUT_LINES = 250;
const MAX_LINE_CHARS = 500;
/** A search (the regex, really) gets this long before its thread is stopped. */
export const GREP_TIME_LIMIT_MS = 20_000;

export const grepTool = defineTool({
  name: 'Grep',
  description:
    'Searches file contents with a regular expression (JavaScript syntax) under path (a file or directory, default: the workspace root). ' +
    'glob filters files (e.g. "*.ts"; matched against the file name, or the relative path if it contains "/"). "-i": case-insensitive. ' +
    'output_mode: "files_with_matches" (default), "content" (matching lines as path:line:text) or "count".',
  parse: z.object({
    pattern: z.string().min(1).describe('Regular expression to search for'),
    path: z.string().min(1).optional().describe('File or directory to search (default: workspace root)'),
    glob: z.string().min(1).optional().describe('Glob that file names must match, e.g. "*.ts"'),
    '-i': z.boolean().optional().describe('Case-insensitive search'),
    output_mode: z.enum(['content', 'files_with_matches', 'count']).optional(),
  }),
  async run(input, ctx) {
    const flags = input['-i'] ? 'i' : '';
    try {
      new RegExp(input.pattern, flags);
    } catch (err) {
      throw new ToolError(`invalid regular expression: ${(err as Error).message}`);
    }
    const target = await resolveInWorkspace(ctx.workspace, input.path ?? '.');
    const st = await fs.stat(target).catch(() => undefined);
    if (!st) throw new ToolError(`not found: ${toRelative(ctx.workspace, target)}`);
    if (!st.isDirectory() && !st.isFile())
      throw new ToolError(`${toRelative(ctx.workspace, target)} is not a regular file or a directory`);
    const globMatch = input.glob
      ? picomatch(input.glob, { dot: true, basename: !input.glob.includes('/') })
      : () => true;
    const files: { abs: string; rel: string }[] = [];
    if (st.isDirectory()) {
      for await (const f of walkFiles(ctx.workspace, target, ctx.signal))
        if (globMatch(f.rel)) files.push({ abs: f.abs, rel: toRelative(ctx.workspace, f.abs) });
    } else if (globMatch(path.basename(target))) {
      files.push({ abs: target, rel: toRelative(ctx.workspace, target) });
    }
    const limitMs = Math.max(1, Math.min(GREP_TIME_LIMIT_MS, ctx.remainingMs()));
    const job = {
      pattern: input.pattern,
      flags,
      files,
      mode: input.output_mode ?? 'files_with_matches',
      maxFileBytes: MAX_FILE_BYTES,
      maxOutputLines: MAX_OUTPUT_LINES,
      maxLineChars: MAX_LINE_CHARS,
    } as const;
    const { lines, truncated } = await grepInThread(job, limitMs, ctx.signal);
    if (lines.length === 0) return 'No matches found';
    return lines.join('\n') + (truncated ? `\n[stopped after ${MAX_OUTPUT_LINES} results; narrow the search]` : '');
  },
});
