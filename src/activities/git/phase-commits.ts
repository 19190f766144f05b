/**
 * A phase's commits: where it started (HEAD when the phase starts), its commit once its gate
 * passed (found again by its trailer, never made twice), and the reset a retry-phase asks for
 * (the discarded changes saved as a patch under .claude/cache/discarded/ first).
 */
import { mkdir, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { phaseflowPaths, phaseTrailer } from '../../domain/git-names';
import { CLAUDE_DIR } from '../../domain/paths';
import type { TaskContext } from '../../domain/types';
import { whileHeartbeating } from '../heartbeating';
import { excluding, git, identityArgs } from './run-git';

export interface GitPhaseInput {
  ctx: TaskContext;
  commitMirrors: boolean;
}

/** The commit the phase starts from. */
export async function gitPhaseStart(input: GitPhaseInput): Promise<{ commit: string }> {
  return { commit: (await git(input.ctx.workspace, ['rev-parse', 'HEAD'])).stdout.trim() };
}

export interface GitCommitPhaseInput extends GitPhaseInput {
  startCommit: string;
  /** `task id: summary` of each completed task, for the message body. */
  summaries: { id: string; summary: string }[];
}

export interface GitPhaseCommit {
  commit: string;
  /** True when the commit was already on the branch (a retried activity): nothing was committed. */
  found: boolean;
  filesChanged: number;
}

export async function gitCommitPhase(input: GitCommitPhaseInput): Promise<GitPhaseCommit> {
  const { ctx } = input;
  const cwd = ctx.workspace;
  return whileHeartbeating(async () => {
    const trailer = phaseTrailer({
      epic: ctx.epicSlug,
      roadmap: ctx.roadmapSlug,
      plan: ctx.planSlug,
      phase: ctx.phaseSlug,
    });
    // Only commits made since the phase started count: an earlier run of the same epic (--rerun) left its own.
    const found = await git(cwd, [
      'log',
      '--format=%H',
      '-E',
      `--grep=^${escapeRegex(trailer)}$`,
      `${input.startCommit}..HEAD`,
    ]);
    const existing = found.stdout.split('\n').find((l) => l.trim());
    if (existing)
      return { commit: existing.trim(), found: true, filesChanged: await filesChanged(cwd, existing.trim()) };
    await git(cwd, ['add', '-A', ...excluding(phaseflowPaths(input.commitMirrors))]);
    await git(cwd, [...(await identityArgs(cwd)), 'commit', '-q', '--allow-empty', '--no-verify', '-F', '-'], {
      input: commitMessage(input, trailer),
    });
    const commit = (await git(cwd, ['rev-parse', 'HEAD'])).stdout.trim();
    return { commit, found: false, filesChanged: await filesChanged(cwd, commit) };
  });
}

export interface GitResetPhaseInput extends GitPhaseInput {
  startCommit: string;
  /** Which retry this is (names the patch file). */
  round: number;
}

export interface GitPhaseReset {
  /** Workspace-relative path of the discarded changes, or none when there were none. */
  patch?: string;
  filesDiscarded: number;
}

/** Back to the phase's start commit; what the failed attempt changed is kept as a patch first. */
export async function gitResetPhase(input: GitResetPhaseInput): Promise<GitPhaseReset> {
  const { ctx } = input;
  const cwd = ctx.workspace;
  const spec = excluding(phaseflowPaths(false));
  return whileHeartbeating(async () => {
    // Stage everything (new files too) so the patch holds the whole attempt, binary files included.
    await git(cwd, ['add', '-A', ...spec]);
    const diff = await git(cwd, ['diff', '--cached', '--binary', input.startCommit, ...spec]);
    const names = await git(cwd, ['diff', '--cached', '--name-only', input.startCommit, ...spec]);
    const filesDiscarded = names.stdout.split('\n').filter((l) => l.trim()).length;
    let patch: string | undefined;
    if (diff.stdout.trim()) {
      patch = `${CLAUDE_DIR}/cache/discarded/${ctx.planSlug}--${ctx.phaseSlug}-retry-${input.round}.patch`;
      await mkdir(path.dirname(path.join(cwd, patch)), { recursive: true });
      await writeFile(path.join(cwd, patch), diff.stdout);
    }
    // Mixed reset (commits an agent made go too), then the files: phaseflow's records stay as they are.
    await git(cwd, ['reset', '-q', input.startCommit]);
    await git(cwd, ['checkout', input.startCommit, ...spec]);
    await removeUntracked(cwd, spec);
    return { ...(patch ? { patch } : {}), filesDiscarded };
  });
}

/**
 * Deletes the untracked files the pathspec selects, then the folders that left empty. Not `git
 * clean -d`: it removes a whole untracked folder such as `.claude/` even when an excluded path
 * (phaseflow's cache, with the patch just written) lies inside it.
 */
async function removeUntracked(cwd: string, spec: string[]): Promise<void> {
  const listed = await git(cwd, ['ls-files', '--others', '--exclude-standard', '-z', ...spec]);
  const root = path.resolve(cwd);
  for (const rel of listed.stdout.split('\0').filter(Boolean)) {
    const file = path.resolve(root, rel);
    await rm(file, { force: true });
    for (let dir = path.dirname(file); dir.startsWith(root + path.sep); dir = path.dirname(dir)) {
      if ((await readdir(dir).catch(() => ['?'])).length) break;
      await rmdir(dir).catch(() => undefined);
    }
  }
}

function commitMessage(input: GitCommitPhaseInput, trailer: string): string {
  const { ctx } = input;
  const body = input.summaries.map((s) => `- ${s.id}: ${s.summary.replace(/\s+/g, ' ').trim()}`).join('\n');
  return [
    `Phase ${ctx.phaseIndex}: ${ctx.phaseTitle}`,
    '',
    `Plan ${ctx.planSlug} (${ctx.planTitle}) of epic ${ctx.epicSlug}, roadmap ${ctx.roadmapSlug}; the validation gate passed.`,
    ...(body ? ['', body] : []),
    '',
    trailer,
    '',
  ].join('\n');
}

async function filesChanged(cwd: string, commit: string): Promise<number> {
  const r = await git(cwd, ['show', '--format=', '--name-only', commit]);
  return r.stdout.split('\n').filter((l) => l.trim()).length;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
