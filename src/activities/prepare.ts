/**
 * prepareWorkspace: checks the epic's workspace, claims its roadmap and plan slugs there, moves an
 * earlier run's records to the archive, and makes sure phaseflow's folders exist.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CLAUDE_DIR } from '../domain/paths';
import { permanentFailure } from './failures';
import { log } from '@temporalio/activity';
import { archiveEarlierRun, claimSlugs, describeCollisions } from './workspace-records';
import { outsideWorkspaceRoot } from './workspace-root';

const GITIGNORE = '# Written by phaseflow: run-time records, not for version control.\n*\n';

export interface PrepareWorkspaceInput {
  epicSlug: string;
  workspace: string;
  /** This run of the epic (`<workflow id>#<first run id>`): an EPIC.json of another owner is an earlier run. */
  owner?: string;
  roadmaps?: string[];
  plans?: string[];
}

export async function prepareWorkspace(
  input: PrepareWorkspaceInput,
): Promise<{ workspace: string; archived?: string }> {
  // Relative paths (e.g. from `temporal workflow start --input @epic.json`) resolve against the worker's directory.
  const workspace = path.resolve(input.workspace);
  const elsewhere = outsideWorkspaceRoot(input.epicSlug, workspace);
  if (elsewhere) throw permanentFailure(elsewhere);
  const s = await stat(workspace).catch(() => undefined);
  // A missing workspace is a typo far more often than a wish: tasks would "succeed" in an empty
  // folder. `phaseflow start --create-workspace` creates it before starting.
  if (!s)
    throw permanentFailure(
      `epic ${input.epicSlug}: workspace ${workspace} does not exist (relative paths resolve against the worker's directory); create it, or start with \`phaseflow start --create-workspace\``,
    );
  if (!s.isDirectory()) throw permanentFailure(`epic ${input.epicSlug}: workspace ${workspace} is not a directory`);
  try {
    for (const sub of ['epics', 'roadmaps', 'phase-plans', 'orchestrator', 'cache/agent-outputs', 'cache/logs']) {
      await mkdir(path.join(workspace, CLAUDE_DIR, sub), { recursive: true });
    }
    // Logs, transcripts, details files, archives and the per-machine orchestrator state stay out
    // of the user's git status; the mirrors (epics, roadmaps, phase-plans) are theirs to commit.
    for (const sub of ['cache', 'orchestrator'])
      await writeFile(path.join(workspace, CLAUDE_DIR, sub, '.gitignore'), GITIGNORE, { flag: 'wx' }).catch(
        (err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST') throw err;
        },
      );
  } catch (err) {
    throw permanentFailure(`epic ${input.epicSlug}: workspace ${workspace} is not usable: ${(err as Error).message}`);
  }
  if (!input.owner) return { workspace }; // scheduled by a run from before claims and archives
  const set = { epicSlug: input.epicSlug, roadmaps: input.roadmaps ?? [], plans: input.plans ?? [] };
  const now = new Date().toISOString();
  const collisions = await claimSlugs(workspace, set, now);
  if (collisions.length) throw permanentFailure(describeCollisions(workspace, input.epicSlug, collisions));
  const archived = await archiveEarlierRun(workspace, set, input.owner, now);
  if (archived) log.info(`epic ${input.epicSlug}: the earlier run's records were moved to ${archived}`, { archived });
  return archived ? { workspace, archived } : { workspace };
}
