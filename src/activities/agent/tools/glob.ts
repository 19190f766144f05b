/** Glob {pattern, path?}: workspace files matching a glob, newest first (as Claude Code lists them). */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import picomatch from 'picomatch';
import { z } from 'zod';
import { resolveInWorkspace, toRelative } from '../workspace';
import { defineTool } from './tool';
import { ToolError } from './tool-error';
import { walkFiles } from './walk';

const MAX_RESULTS = 200;

export const globTool = defineTool({
  name: 'Glob',
  description:
    'Finds files by glob pattern (e.g. "**/*.ts", "src/**/index.{js,ts}") under path (default: the workspace root). ' +
    `Returns workspace-relative paths, most recently modified first, at most ${MAX_RESULTS}. Skips .git and node_modules.`,
  parse: z.object({
    pattern: z.string().min(1).describe('Glob pattern, relative to path'),
    path: z.string().min(1).optional().describe('Directory to search in (default: workspace root)'),
  }),
  async run({ pattern, path: dir }, ctx) {
    if (path.isAbsolute(pattern) || pattern.split('/').includes('..')) {
      throw new ToolError('pattern must be relative and must not contain ".."; use path to choose the directory');
    }
    const base = await resolveInWorkspace(ctx.workspace, dir ?? '.');
    const st = await fs.stat(base).catch(() => undefined);
    if (!st?.isDirectory()) throw new ToolError(`${toRelative(ctx.workspace, base)} is not a directory`);
    const isMatch = picomatch(pattern, { dot: true });
    const found: { rel: string; mtime: number }[] = [];
    for await (const f of walkFiles(ctx.workspace, base, ctx.signal)) {
      if (!isMatch(f.rel)) continue;
      const mtime = await fs.stat(f.abs).then(
        (s) => s.mtimeMs,
        () => 0,
      );
      found.push({ rel: toRelative(ctx.workspace, f.abs), mtime });
    }
    if (found.length === 0) return 'No files found';
    found.sort((a, b) => b.mtime - a.mtime || a.rel.localeCompare(b.rel));
    const shown = found.slice(0, MAX_RESULTS).map((f) => f.rel);
    const more =
      found.length > MAX_RESULTS ? `\n[${found.length - MAX_RESULTS} more not shown; narrow the pattern]` : '';
    return shown.join('\n') + more;
  },
});
