/** Keeping activity file access inside the workspace. */
import path from 'node:path';

/** Resolves a workspace-relative path; throws if it would leave the workspace. */
export function inWorkspace(workspace: string, relative: string): string {
  const root = path.resolve(workspace);
  const full = path.resolve(root, relative);
  if (full !== root && !full.startsWith(root + path.sep)) throw new Error(`path ${relative} is outside the workspace ${root}`);
  return full;
}
