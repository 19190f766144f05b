/**
 * writeMirror: the one activity that writes EPIC.json, ROADMAP.json, PROGRESS.json and the
 * orchestrator state. Each file has one owning workflow, which sends either the whole document
 * or a patch against the revision it wrote last; the result is validated, then renamed into place.
 */
import { readFile } from 'node:fs/promises';
import { applyPatch, type PatchOp } from '../domain/json-patch';
import { MIRROR_SCHEMAS, type MirrorKind } from '../domain/mirrors';
import { mirrorPaths } from '../domain/paths';
import { FailureTypes } from '../domain/types';
import { permanentFailure } from './failures';
import { writeFileAtomic } from './fs-atomic';
import { inWorkspace } from './workspace';
import { rebuildOrchestratorState } from './workspace-records';

export interface WriteMirrorInput {
  kind: MirrorKind;
  workspace: string;
  /** Workspace-relative path. */
  file: string;
  revision: number;
  /** The writing workflow run; revisions compare only within one owner. */
  owner: string;
  doc?: object;
  /** With `patch`: the revision the patch applies to. */
  baseRevision?: number;
  patch?: PatchOp[];
}

export async function writeMirror(input: WriteMirrorInput): Promise<{ revision: number; skipped: boolean }> {
  const full = inWorkspace(input.workspace, input.file);
  const found = await readRevisioned(full);
  // A file written by another run (an earlier plan, an earlier run of this epic) is replaced whole.
  const current = found?.owner === input.owner ? found : undefined;
  // A retried or late write never takes the file backwards.
  if (current && current.revision >= input.revision) return { revision: current.revision, skipped: true };

  let doc: unknown = input.doc;
  if (input.patch) {
    if (!current || current.revision !== input.baseRevision) {
      throw permanentFailure(
        `${input.file}: expected revision ${input.baseRevision} to patch, found ${current ? `revision ${current.revision}` : 'no readable file'}`,
        FailureTypes.MirrorMissing,
      );
    }
    doc = applyPatch(current.doc, input.patch);
  }
  const parsed = MIRROR_SCHEMAS[input.kind].safeParse(doc);
  if (!parsed.success) {
    const first = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`);
    throw permanentFailure(`${input.file} revision ${input.revision} would be invalid: ${first.join('; ')}`);
  }
  await writeFileAtomic(full, JSON.stringify(doc, null, 2) + '\n');
  // A plan's orchestrator state is its own file; CCASP's single state.json is rebuilt from all of them.
  if (input.kind === 'state' && input.file !== mirrorPaths.orchestratorState())
    await rebuildOrchestratorState(input.workspace);
  return { revision: input.revision, skipped: false };
}

async function readRevisioned(file: string): Promise<{ revision: number; owner?: string; doc: any } | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const doc = JSON.parse(text);
    const revision = doc?.phaseflow?.revision;
    return typeof revision === 'number' ? { revision, owner: doc.phaseflow.owner, doc } : undefined;
  } catch {
    return undefined;
  }
}
