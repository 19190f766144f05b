/** Files phaseflow itself owns inside the workspace; an agent must not rewrite its own transcript. */
import { CLAUDE_DIR } from '../../../domain/paths';
import { ToolError } from './tool-error';

export const PROTECTED_DIRS = [`${CLAUDE_DIR}/cache/transcripts`, `${CLAUDE_DIR}/cache/agent-outputs`];
const PROTECTED_PREFIXES = PROTECTED_DIRS.map((d) => `${d}/`);

export function refuseProtected(rel: string): void {
  if (PROTECTED_PREFIXES.some((p) => rel.startsWith(p))) {
    throw new ToolError(`${rel} is maintained by phaseflow and cannot be written by an agent`);
  }
}
