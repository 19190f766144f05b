/**
 * Files in the workspace that Write and Edit refuse:
 * - phaseflow's own records: transcripts, details files, command logs and pid files under
 *   .claude/cache, the orchestrator state, and the EPIC.json / ROADMAP.json / PROGRESS.json
 *   mirrors, so an agent cannot rewrite its own history, corrupt the run's state or fake another
 *   task's result;
 * - anything inside a .git directory: hooks and config (core.hooksPath, core.fsmonitor) run
 *   commands on the user's next git command, outside any sandbox, and never show in a diff.
 * Paths are compared case-insensitively (macOS and Windows file systems are).
 */
import { CLAUDE_DIR } from '../../../domain/paths';
import { ToolError } from './tool-error';

/** The largest file Write or Edit produces (Read reads up to the same size). */
export const MAX_WRITE_BYTES = 5 * 1024 * 1024;

/** Directories Glob and Grep do not walk (phaseflow's records are noise in a search). */
export const PROTECTED_DIRS = [
  `${CLAUDE_DIR}/cache/transcripts`,
  `${CLAUDE_DIR}/cache/agent-outputs`,
  `${CLAUDE_DIR}/cache/budget`,
];

const BY_PHASEFLOW = 'is maintained by phaseflow and cannot be written by an agent';

const WRITE_PROTECTED: { re: RegExp; why: string }[] = [
  { re: /^\.claude\/cache\//i, why: `${BY_PHASEFLOW} (transcripts, details files, logs)` },
  { re: /^\.claude\/orchestrator\//i, why: `${BY_PHASEFLOW} (orchestrator state)` },
  {
    re: /^\.claude\/(?:epics\/[^/]+\/EPIC|roadmaps\/[^/]+\/ROADMAP|phase-plans\/[^/]+\/PROGRESS)\.json$/i,
    why: `${BY_PHASEFLOW} (a mirror of the run's state)`,
  },
  {
    re: /(?:^|\/)\.git(?:\/|$)/i,
    why: 'is inside .git and cannot be written by an agent (hooks and config run commands on the next git command); use git commands through Bash',
  },
];

/** Throws a ToolError if an agent may not write `rel` (workspace-relative, POSIX, symlinks resolved). */
export function refuseProtected(rel: string): void {
  const hit = WRITE_PROTECTED.find((p) => p.re.test(rel));
  if (hit) throw new ToolError(`${rel} ${hit.why}`);
}
