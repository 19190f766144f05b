/**
 * Grep {pattern, path?, glob?, -i?, output_mode?}: regular-expression search in workspace files.
 * Implemented in-process (JavaScript regex) rather than shelling out to ripgrep, so it needs no
 * binary and cannot be steered outside the workspace by flags.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import picomatch from 'picomatch';
import { z } from 'zod';
import { resolveInWorkspace, toRelative } from '../workspace';
import { defineTool } from './tool';
import { ToolError } from './tool-error';
import { walkFiles } from './walk';

const MAX_FILE_BYTES = 2 * 1024 * 1024;
const MAX_OUTPUT_LINES = 250;
const MAX_LINE_CHARS = 500;

export const grepTool = defineTool({
  name: 'Grep',
  description:
    'Searches file contents with a regular expression (JavaScript syntax) under path (a file or directory, default: the workspace root). ' +
    'glob filters files (e.g. "*.ts"; matched against the file name, or the relative path if it contains "/"). "-i": case-insensitive. ' +
    'output_mode: "files_with_matches" (default), "content" (matching lines as path:line:text) or "count".',
  inputSchema: {
    type: 'object',
    properties: {
      pattern: { type: 'string', description: 'Regular expression to search for' },
      path: { type: 'string', description: 'File or directory to search (default: workspace root)' },
      glob: { type: 'string', description: 'Glob that file names must match, e.g. "*.ts"' },
      '-i': { type: 'boolean', description: 'Case-insensitive search' },
      output_mode: { type: 'string', enum: ['content', 'files_with_matches', 'count'] },
    },
    required: ['pattern'],
  },
  parse: z.object({
    pattern: z.string().min(1),
    path: z.string().min(1).optional(),
    glob: z.string().min(1).optional(),
    '-i': z.boolean().optional(),
    output_mode: z.enum(['content', 'files_with_matches', 'count']).optional(),
  }),
  async run(input, ctx) {
    let re: RegExp;
    try {
      re = new RegExp(input.pattern, input['-i'] ? 'i' : '');
    } catch (err) {
      throw new ToolError(`invalid regular expression: ${(err as Error).message}`);
    }
    const target = await resolveInWorkspace(ctx.workspace, input.path ?? '.');
    const st = await fs.stat(target).catch(() => undefined);
    if (!st) throw new ToolError(`not found: ${toRelative(ctx.workspace, target)}`);
    const globMatch = input.glob ? picomatch(input.glob, { dot: true, basename: !input.glob.includes('/') }) : () => true;
    const files = st.isDirectory()
      ? walkFiles(ctx.workspace, target, ctx.signal)
      : (async function* () { yield { abs: target, rel: path.basename(target) }; })();

    const mode = input.output_mode ?? 'files_with_matches';
    const out: string[] = [];
    let truncated = false;
    for await (const f of files) {
      if (!globMatch(f.rel)) continue;
      const buf = await fs.readFile(f.abs).catch(() => undefined);
      if (!buf || buf.length > MAX_FILE_BYTES || buf.subarray(0, 8192).includes(0)) continue;
      const rel = toRelative(ctx.workspace, f.abs);
      const lines = buf.toString('utf8').split('\n');
      let count = 0;
      for (let i = 0; i < lines.length; i++) {
        if (!re.test(lines[i])) continue;
        count++;
        if (mode === 'content') {
          const line = lines[i].length > MAX_LINE_CHARS ? `${lines[i].slice(0, MAX_LINE_CHARS)}…` : lines[i];
          out.push(`${rel}:${i + 1}:${line}`);
        } else if (mode === 'files_with_matches') break;
      }
      if (count && mode === 'files_with_matches') out.push(rel);
      if (count && mode === 'count') out.push(`${rel}:${count}`);
      if (out.length >= MAX_OUTPUT_LINES) {
        truncated = true;
        break;
      }
    }
    if (out.length === 0) return 'No matches found';
    return out.slice(0, MAX_OUTPUT_LINES).join('\n') + (truncated ? `\n[stopped after ${MAX_OUTPUT_LINES} results; narrow the search]` : '');
  },
});
