/** Keeping activity file access inside the workspace. */
import path from 'node:path';

/** Resolves a workspace-relative path; throws if it would leave the workspace. */
export function inWorkspace(workspace: string, relative: string): string {
  const root = path.resolve(workspace);
  const full = path.resolve(root, relative);
  if (!isInside(root, full)) throw new Error(`path ${relative} is outside the workspace ${root}`);
  return full;
}

/** True when `p` is `root` or below it (both absolute). */
export function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
