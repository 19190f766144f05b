/** A real git repository (and a bare `origin` beside it) in a temporary directory, for the git and GitHub tests. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempWorkspace } from '../support/worker-harness';

export const gitIn = (cwd: string, ...args: string[]): string =>
  execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }).trim();

/** A repository with one commit (README.md) on `main`, and a bare `origin` it can push to. */
export function gitWorkspace(): { ws: string; origin: string } {
  const root = tempWorkspace('phaseflow-git-');
  const ws = path.join(root, 'repo');
  const origin = path.join(root, 'origin.git');
  fs.mkdirSync(ws);
  gitIn(root, 'init', '-q', '--bare', origin);
  gitIn(ws, 'init', '-q', '-b', 'main');
  gitIn(ws, 'config', 'user.name', 'Test Person');
  gitIn(ws, 'config', 'user.email', 'test@example.com');
  fs.writeFileSync(path.join(ws, 'README.md'), '# test repo\n');
  fs.writeFileSync(path.join(ws, '.gitignore'), 'node_modules/\n');
  gitIn(ws, 'add', '-A');
  gitIn(ws, 'commit', '-q', '-m', 'initial');
  gitIn(ws, 'remote', 'add', 'origin', origin);
  return { ws, origin };
}

export interface CommitInfo {
  hash: string;
  subject: string;
  body: string;
  files: string[];
}

/** Commits on `ref` after `since`, oldest first, with their files. */
export function commitsSince(ws: string, since: string, ref = 'HEAD'): CommitInfo[] {
  const hashes = gitIn(ws, 'rev-list', '--reverse', `${since}..${ref}`).split('\n').filter(Boolean);
  return hashes.map((hash) => ({
    hash,
    subject: gitIn(ws, 'log', '-1', '--format=%s', hash),
    body: gitIn(ws, 'log', '-1', '--format=%B', hash),
    files: gitIn(ws, 'show', '--format=', '--name-only', hash).split('\n').filter(Boolean).sort(),
  }));
}
