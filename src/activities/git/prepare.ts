/**
 * gitPrepareWorkspace: at an epic's start, when its spec sets `git`: the workspace must be inside a
 * git repository with a first commit; uncommitted changes (phaseflow's own records aside) are
 * refused or stashed, as the spec says; the epic's branch is checked out (created from HEAD when
 * missing). Safe to run twice: a second run finds the tree clean and the branch checked out.
 */
import { log } from '@temporalio/activity';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { gitBranch, phaseflowPaths } from '../../domain/git-names';
import type { GitSpec } from '../../domain/git-spec';
import { permanentFailure } from '../failures';
import { excluding, git, identityArgs } from './run-git';

export interface GitPrepareInput {
  epicSlug: string;
  workspace: string;
  git: GitSpec;
}

export interface GitPrepared {
  branch: string;
  head: string;
  /** The stash entry made of a dirty tree (dirtyTree: stash). */
  stashed?: string;
}

export async function gitPrepareWorkspace(input: GitPrepareInput): Promise<GitPrepared> {
  const { epicSlug } = input;
  // Relative paths resolve against the worker's directory, as prepareWorkspace does.
  const workspace = path.resolve(input.workspace);
  // A missing workspace: prepareWorkspace, which runs next, refuses it with its own message.
  if (!(await stat(workspace).catch(() => undefined))?.isDirectory()) return { branch: '', head: '' };
  const where = `epic ${epicSlug}: workspace ${workspace}`;
  const top = await git(workspace, ['rev-parse', '--show-toplevel'], { allowFail: true });
  if (top.code !== 0)
    throw permanentFailure(
      `${where} is not in a git repository, but the spec sets git (a commit per phase); run \`git init\` and make a first commit there, or remove \`git\` from the spec`,
    );
  const head = await git(workspace, ['rev-parse', '--verify', '-q', 'HEAD'], { allowFail: true });
  if (head.code !== 0)
    throw permanentFailure(
      `${where}: the repository has no commit yet; make a first commit (phases are committed on top of it)`,
    );
  const dirty = await dirtyPaths(workspace);
  let stashed: string | undefined;
  if (dirty.length) {
    const listed = `${dirty.slice(0, 10).join(', ')}${dirty.length > 10 ? `, and ${dirty.length - 10} more` : ''}`;
    if (input.git.dirtyTree !== 'stash')
      throw permanentFailure(
        `${where} has uncommitted changes (${listed}); commit or stash them first, or set git.dirtyTree: stash in the spec`,
      );
    const message = `phaseflow: uncommitted changes before epic ${epicSlug}`;
    await git(workspace, [
      ...(await identityArgs(workspace)),
      'stash',
      'push',
      '--include-untracked',
      '-m',
      message,
      ...excluding(phaseflowPaths(false)),
    ]);
    stashed = (await git(workspace, ['rev-parse', 'stash@{0}'])).stdout.trim();
    log.info(`${where}: uncommitted changes stashed (${listed}) as ${stashed}: \`git stash list\` shows "${message}"`);
  }
  const branch = gitBranch(input.git, epicSlug);
  const current = (await git(workspace, ['symbolic-ref', '--short', '-q', 'HEAD'], { allowFail: true })).stdout.trim();
  if (current !== branch) {
    const exists = await git(workspace, ['rev-parse', '--verify', '-q', `refs/heads/${branch}`], { allowFail: true });
    await git(workspace, exists.code === 0 ? ['switch', '-q', branch] : ['switch', '-q', '-c', branch]);
  }
  const now = (await git(workspace, ['rev-parse', 'HEAD'])).stdout.trim();
  return { branch, head: now, ...(stashed ? { stashed } : {}) };
}

/** `git status --porcelain` lines outside phaseflow's records (cache, orchestrator state, mirrors). */
export async function dirtyPaths(workspace: string): Promise<string[]> {
  const status = await git(workspace, [
    'status',
    '--porcelain',
    '--untracked-files=all',
    ...excluding(phaseflowPaths(false)),
  ]);
  return status.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => `${l.slice(0, 2).trim()} ${l.slice(3)}`);
}
