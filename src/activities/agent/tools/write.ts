/**
 * Write {file_path, content}: creates or replaces a file atomically and records it as changed.
 * Refused: paths outside the workspace, phaseflow's records and .git (protected-paths.ts),
 * non-regular files, and content over MAX_WRITE_BYTES.
 */
import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { writeFileAtomic } from '../../fs-atomic';
import { resolveInWorkspace, toRelative } from '../workspace';
import { defineTool } from './tool';
import { ToolError } from './tool-error';
import { checkWrite, recordSeen } from './file-state';
import { MAX_WRITE_BYTES, refuseProtected } from './protected-paths';

export const writeTool = defineTool({
  name: 'Write',
  description:
    'Writes a file in the workspace, creating parent directories as needed and replacing any existing file. ' +
    'file_path may be relative to the workspace or absolute (inside it). Prefer Edit for small changes to existing files.',
  parse: z.object({
    file_path: z.string().min(1).describe('Path of the file to write'),
    content: z.string().describe('The full content of the file'),
  }),
  async run({ file_path, content }, ctx) {
    const abs = await resolveInWorkspace(ctx.workspace, file_path);
    const rel = toRelative(ctx.workspace, abs);
    refuseProtected(rel);
    const bytes = Buffer.byteLength(content);
    if (bytes > MAX_WRITE_BYTES)
      throw new ToolError(
        `content is ${bytes} bytes; Write takes at most ${MAX_WRITE_BYTES} bytes per file (nothing was written)`,
      );
    const st = await fs.stat(abs).catch(() => undefined);
    if (st?.isDirectory()) throw new ToolError(`${rel} is a directory`);
    if (st && !st.isFile()) throw new ToolError(`${rel} is not a regular file (a FIFO, socket or device); refused`);
    if (ctx.seenFiles && st) checkWrite(ctx.seenFiles, rel, await fs.readFile(abs).catch(() => undefined));
    await writeFileAtomic(abs, content);
    recordSeen(ctx.seenFiles, rel, content);
    ctx.changedFiles.add(rel);
    return `${st ? 'Replaced' : 'Created'} ${rel} (${Buffer.byteLength(content)} bytes)`;
  },
});
