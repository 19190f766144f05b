/**
 * A host worker started with `--workspace-root DIR` (PHASEFLOW_WORKSPACE_ROOT) holds the
 * workspaces under DIR and refuses an epic whose workspace lies elsewhere: an epic pinned to the
 * wrong host fails at once with where it should go, instead of working in a folder that is not
 * its repository.
 */
import * as path from 'node:path';

export const WORKSPACE_ROOT_ENV = 'PHASEFLOW_WORKSPACE_ROOT';

/** The problem with `workspace` on this worker, or undefined when it may work there. */
export function outsideWorkspaceRoot(epicSlug: string, workspace: string, env = process.env): string | undefined {
  const root = env[WORKSPACE_ROOT_ENV];
  if (!root) return undefined;
  const rel = path.relative(path.resolve(root), path.resolve(workspace));
  if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) return undefined;
  return (
    `epic ${epicSlug}: workspace ${workspace} is outside this host's workspace root ${root} ` +
    `(phaseflow worker --workspace-root); pin the epic to the host that holds it (phaseflow start --host)`
  );
}
