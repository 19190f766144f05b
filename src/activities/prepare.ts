/** prepareWorkspace: resolves the epic's workspace and makes sure phaseflow's folders exist. */
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { CLAUDE_DIR } from '../domain/paths';
import { permanentFailure } from './failures';

export async function prepareWorkspace(input: { epicSlug: string; workspace: string }): Promise<{ workspace: string }> {
  // Relative paths (e.g. from `temporal workflow start --input @epic.json`) resolve against the worker's directory.
  const workspace = path.resolve(input.workspace);
  try {
    await mkdir(workspace, { recursive: true });
    const s = await stat(workspace);
    if (!s.isDirectory()) throw new Error('not a directory');
    for (const sub of ['epics', 'roadmaps', 'phase-plans', 'orchestrator', 'cache/agent-outputs', 'cache/logs']) {
      await mkdir(path.join(workspace, CLAUDE_DIR, sub), { recursive: true });
    }
  } catch (err) {
    throw permanentFailure(`epic ${input.epicSlug}: workspace ${workspace} is not usable: ${(err as Error).message}`);
  }
  return { workspace };
}
