/**
 * The spec's `git` block: a commit per phase on a branch of the workspace's repository, and what
 * happens to a dirty tree at the start. One zod schema: the type, the validator, the JSON Schema.
 */
import { z } from 'zod';

export const GitSpec = z.strictObject({
  commitPerPhase: z
    .boolean()
    .default(true)
    .describe('After a phase passes its gate, commit its changes with a Phaseflow-Phase trailer'),
  branch: z
    .string()
    .regex(
      /^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]+$/,
      'a branch name: letters, digits, ".", "_", "/", "-"; no ".." and no leading "-"',
    )
    .optional()
    .describe('The branch the commits go on (default phaseflow/<epic>); created from HEAD when missing'),
  commitMirrors: z
    .boolean()
    .default(false)
    .describe('Also commit the mirror files (.claude/epics, roadmaps, phase-plans); the cache and logs never'),
  dirtyTree: z
    .enum(['refuse', 'stash'])
    .default('refuse')
    .describe('Uncommitted changes when the epic starts: refuse to start, or stash them (git stash push -u)'),
});
export type GitSpec = z.infer<typeof GitSpec>;
