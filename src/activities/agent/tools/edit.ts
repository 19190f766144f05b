/**
 * Edit {file_path, old_string, new_string, replace_all?}: literal string replacement. Like
 * Claude Code, old_string must be unique unless replace_all is set, so an edit never lands
 * somewhere the model did not mean.
 */
import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { writeFileAtomic } from '../../fs-atomic';
import { resolveInWorkspace, toRelative } from '../workspace';
import { defineTool } from './tool';
import { ToolError } from './tool-error';
import { checkEdit, recordSeen } from './file-state';
import { MAX_WRITE_BYTES, refuseProtected } from './protected-paths';

export const editTool = defineTool({
  name: 'Edit',
  description:
    'Replaces old_string with new_string in a workspace file (exact text, whitespace included). old_string must occur exactly once ' +
    'unless replace_all is true. Read the file first so old_string matches.',
  parse: z.object({
    file_path: z.string().min(1).describe('Path of the file to modify'),
    old_string: z.string().min(1).describe('The exact text to replace'),
    new_string: z.string().describe('The text to replace it with (must differ from old_string)'),
    replace_all: z.boolean().optional().describe('Replace every occurrence (default false)'),
  }),
  async run({ file_path, old_string, new_string, replace_all }, ctx) {
    const abs = await resolveInWorkspace(ctx.workspace, file_path);
    const rel = toRelative(ctx.workspace, abs);
    refuseProtected(rel);
    if (old_string === new_string) throw new ToolError('old_string and new_string are identical; nothing to change');
    // Reading a FIFO or a device would block or never end.
    const st = await fs.stat(abs).catch(() => undefined);
    if (st && !st.isFile()) throw new ToolError(`${rel} is not a regular file; refused`);
    if (st && st.size > MAX_WRITE_BYTES)
      throw new ToolError(`${rel} is ${st.size} bytes; Edit works on files up to ${MAX_WRITE_BYTES} bytes`);
    const text = await fs.readFile(abs, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new ToolError(
        err.code === 'ENOENT'
          ? `file not found: ${rel} (use Write to create it)`
          : `cannot read ${rel}: ${err.message}`,
      );
    });
    checkEdit(ctx.seenFiles, rel, text);
    const parts = text.split(old_string);
    const count = parts.length - 1;
    if (count === 0) throw new ToolError(`old_string not found in ${rel}`);
    if (count > 1 && !replace_all) {
      throw new ToolError(
        `old_string occurs ${count} times in ${rel}; add surrounding context to make it unique, or set replace_all`,
      );
    }
    // split/join replaces literally (no `$&` patterns as String.replace would interpret).
    // replace_all multiplies: a short file can become a huge one. Check the size before building it.
    const size =
      Buffer.byteLength(text) +
      (replace_all ? count : 1) * (Buffer.byteLength(new_string) - Buffer.byteLength(old_string));
    if (size > MAX_WRITE_BYTES)
      throw new ToolError(
        `the edit would make ${rel} ${size} bytes; files are capped at ${MAX_WRITE_BYTES} bytes (nothing was written)`,
      );
    const updated = replace_all ? parts.join(new_string) : text.replace(old_string, () => new_string);
    await writeFileAtomic(abs, updated);
    recordSeen(ctx.seenFiles, rel, updated);
    ctx.changedFiles.add(rel);
    return `Edited ${rel}: ${replace_all ? count : 1} replacement${count > 1 && replace_all ? 's' : ''}`;
  },
});
