/**
 * Running the `git` CLI in the workspace: execFile (no shell), the credential-free environment of
 * every child phaseflow starts, an identity when the repository has none, and errors that say
 * which command failed in which repository and what git printed.
 */
import { execFile } from 'node:child_process';
import { scrubbedEnv } from '../shell';

export interface GitResult {
  stdout: string;
  stderr: string;
  code: number;
}

export class GitError extends Error {
  constructor(
    readonly args: string[],
    readonly cwd: string,
    readonly result: GitResult,
  ) {
    super(
      `git ${args.join(' ')} in ${cwd} exited ${result.code}: ${(result.stderr || result.stdout).trim().slice(0, 500)}`,
    );
  }
}

/** Runs git; a non-zero exit throws GitError unless `allowFail`. */
export function git(
  cwd: string,
  args: string[],
  opts: { allowFail?: boolean; input?: string } = {},
): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      args,
      {
        cwd,
        maxBuffer: 256 * 1024 * 1024,
        // No prompts (a credential helper asking on a terminal would hang the activity), no pager, stable output.
        env: scrubbedEnv(process.env, { GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', LC_ALL: 'C' }),
      },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : -1
          : 0;
        const result = { stdout: String(stdout), stderr: String(stderr), code };
        if (code !== 0 && !opts.allowFail) reject(new GitError(args, cwd, result));
        else resolve(result);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** `-c user.name=… -c user.email=…` when the repository has no identity of its own (fresh CI machines). */
export async function identityArgs(cwd: string): Promise<string[]> {
  const email = await git(cwd, ['config', '--get', 'user.email'], { allowFail: true });
  const name = await git(cwd, ['config', '--get', 'user.name'], { allowFail: true });
  return [
    ...(name.code === 0 ? [] : ['-c', 'user.name=phaseflow']),
    ...(email.code === 0 ? [] : ['-c', 'user.email=phaseflow@localhost']),
  ];
}

/** Pathspecs for everything except phaseflow's own records (`:(exclude)…`). */
export const excluding = (paths: string[]) => ['--', '.', ...paths.map((p) => `:(exclude)${p}`)];
