/** Read {file_path, offset?, limit?}: numbered lines (`cat -n` style), as Claude Code shows them. */
import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { resolveInWorkspace, toRelative } from '../workspace';
import { defineTool } from './tool';
import { MAX_WRITE_BYTES } from './protected-paths';
import { ToolError } from './tool-error';
import { recordSeen } from './file-state';

const DEFAULT_LINES = 2000;
const MAX_LINE_CHARS = 2000;
const MAX_FILE_BYTES = MAX_WRITE_BYTES;

export const readTool = defineTool({
  name: 'Read',
  description:
    'Reads a file from the workspace. file_path may be relative to the workspace or absolute (inside it). ' +
    `Returns up to ${DEFAULT_LINES} lines by default, numbered from 1; use offset (first line, 1-based) and limit (line count) for long files.`,
  parse: z.object({
    file_path: z.string().min(1).describe('Path of the file to read'),
    // 0 is taken as 1 (the first line), as before: the check is what the tool accepts.
    offset: z.number().int().min(0).optional().describe('Line number to start reading from (1-based)'),
    limit: z.number().int().min(1).optional().describe('Number of lines to read'),
  }),
  async run({ file_path, offset, limit }, ctx) {
    const abs = await resolveInWorkspace(ctx.workspace, file_path);
    const rel = toRelative(ctx.workspace, abs);
    const st = await fs.stat(abs).catch(() => undefined);
    if (!st) throw new ToolError(`file not found: ${rel}`);
    if (st.isDirectory()) throw new ToolError(`${rel} is a directory; use Glob or Bash ls to list it`);
    // A FIFO would block the read forever, a device could stream without end.
    if (!st.isFile()) throw new ToolError(`${rel} is not a regular file (a FIFO, socket or device); not read`);
    if (st.size > MAX_FILE_BYTES)
      throw new ToolError(
        `${rel} is ${st.size} bytes; too large to read whole, use Grep or Bash (head, sed -n) instead`,
      );
    const buf = await fs.readFile(abs);
    if (buf.subarray(0, 8192).includes(0)) throw new ToolError(`${rel} looks like a binary file; not shown`);
    const text = buf.toString('utf8');
    recordSeen(ctx.seenFiles, rel, buf);
    if (text === '') return `(${rel} is empty)`;
    const lines = text.split('\n');
    if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
    const start = Math.max(1, offset ?? 1);
    const count = limit ?? DEFAULT_LINES;
    if (start > lines.length) throw new ToolError(`${rel} has ${lines.length} lines; offset ${start} is past the end`);
    const shown = lines.slice(start - 1, start - 1 + count).map((line, i) => {
      const cut = line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}… [line truncated]` : line;
      return `${String(start + i).padStart(6)}\t${cut}`;
    });
    const end = start - 1 + shown.length;
    const more =
      end < lines.length ? `\n[showing lines ${start}-${end} of ${lines.length}; use offset/limit for more]` : '';
    return shown.join('\n') + more;
  },
});
