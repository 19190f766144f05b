/**
 * Names phaseflow's git commits use (free of zod, so workflows may import them): the branch, the
 * trailer that finds a phase's commit again, and the paths that are phaseflow's own records.
 */
import type { GitSpec } from './git-spec';
import { CLAUDE_DIR } from './paths';

/** The branch an epic's commits go on. */
export const gitBranch = (git: GitSpec, epicSlug: string) => git.branch ?? `phaseflow/${epicSlug}`;

/** The trailer that names a phase's commit, so a retried activity finds it instead of committing again. */
export const phaseTrailer = (ids: { epic: string; roadmap: string; plan: string; phase: string }) =>
  `Phaseflow-Phase: ${ids.epic}/${ids.roadmap}/${ids.plan}/${ids.phase}`;

/** phaseflow's own records: never committed (cache, orchestrator), and the mirrors unless asked. */
export function phaseflowPaths(commitMirrors: boolean): string[] {
  const always = [`${CLAUDE_DIR}/cache`, `${CLAUDE_DIR}/orchestrator`];
  return commitMirrors
    ? always
    : [...always, `${CLAUDE_DIR}/epics`, `${CLAUDE_DIR}/roadmaps`, `${CLAUDE_DIR}/phase-plans`];
}
