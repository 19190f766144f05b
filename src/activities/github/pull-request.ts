/**
 * githubPullRequest: at a plan's end, pushes the epic's branch to `origin` and opens one pull
 * request for it, or finds the one already open (never a second). The push uses the repository's
 * own git credentials (the worker's GITHUB_TOKEN never reaches git's environment).
 */
import { git } from '../git/run-git';
import { whileHeartbeating } from '../heartbeating';
import { type GithubTarget, githubClient, githubStop } from './client';

export interface GithubPullRequestInput extends GithubTarget {
  workspace: string;
  branch: string;
  title: string;
  body: string;
}

export interface GithubPullRequestResult {
  number?: number;
  url?: string;
  found?: boolean;
  stopped?: string;
}

export function githubPullRequest(input: GithubPullRequestInput): Promise<GithubPullRequestResult> {
  return whileHeartbeating(() => pullRequest(input));
}

async function pullRequest(input: GithubPullRequestInput): Promise<GithubPullRequestResult> {
  const client = githubClient();
  if ('stopped' in client) return { stopped: client.stopped };
  const { octokit } = client;
  const target = { owner: input.owner, repo: input.repo };
  const pushed = await git(input.workspace, ['push', '-q', 'origin', `${input.branch}:refs/heads/${input.branch}`], {
    allowFail: true,
  });
  if (pushed.code !== 0)
    return {
      stopped: `git push origin ${input.branch} in ${input.workspace} failed (exit ${pushed.code}): ${pushed.stderr.trim().slice(0, 300)}; no pull request was opened`,
    };
  let step = 'find the pull request';
  try {
    const open = await octokit.paginate(octokit.pulls.list, {
      ...target,
      head: `${input.owner}:${input.branch}`,
      state: 'all',
      per_page: 100,
    });
    const mine = open.find((p) => p.head.ref === input.branch);
    if (mine) return { number: mine.number, url: mine.html_url, found: true };
    step = 'open the pull request';
    const base = (await octokit.repos.get(target)).data.default_branch;
    const pr = (
      await octokit.pulls.create({ ...target, head: input.branch, base, title: input.title, body: input.body })
    ).data;
    return { number: pr.number, url: pr.html_url, found: false };
  } catch (err) {
    return { stopped: githubStop(err, step, target) };
  }
}
