/**
 * Path confinement. Every path a tool touches is resolved against the workspace and must stay
 * inside it after symlinks are resolved: we realpath the deepest existing ancestor (the leaf
 * too, when it exists) and check containment of the result, so `..`, absolute paths elsewhere
 * and symlinks pointing out are all caught by the same test.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isInside } from '../workspace';
import { ToolError } from './tools/tool-error';

/** The workspace's canonical path; containment checks compare canonical paths only. */
export async function realWorkspace(workspace: string): Promise<string> {
  if (!path.isAbsolute(workspace))
    throw new Error(`workspace must be an absolute path, got ${JSON.stringify(workspace)}`);
  return fs.realpath(workspace);
}

export { isInside };

/** Workspace-relative POSIX path for messages and records ("." for the root). */
export function toRelative(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join('/') || '.';
}

/**
 * Resolves `p` (relative to the workspace, or absolute) to a canonical absolute path inside the
 * workspace, or throws a ToolError the model will see. The path need not exist.
 */
export async function resolveInWorkspace(root: string, p: unknown): Promise<string> {
  if (typeof p !== 'string' || p.trim() === '') throw new ToolError('path must be a non-empty string');
  if (p.includes('\0')) throw new ToolError('path contains a NUL byte');
  const requested = path.resolve(root, p);
  const rest: string[] = [];
  let probe = requested;
  for (;;) {
    try {
      const real = path.join(await fs.realpath(probe), ...rest);
      if (!isInside(root, real)) throw outside(p);
      return real;
    } catch (err) {
      if (err instanceof ToolError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR')
        throw new ToolError(`cannot resolve ${p}: ${(err as Error).message}`);
      // A dangling symlink would let a later write land wherever it points: refuse it.
      const isLink = await fs.lstat(probe).then(
        (s) => s.isSymbolicLink(),
        () => false,
      );
      if (isLink) throw new ToolError(`${p} is (or passes through) a dangling symlink; refused`);
      const parent = path.dirname(probe);
      if (parent === probe) throw outside(p);
      rest.unshift(path.basename(probe));
      probe = parent;
    }
  }
}

function outside(p: string): ToolError {
  return new ToolError(`${p} resolves outside the workspace; only paths inside the workspace are allowed`);
}
