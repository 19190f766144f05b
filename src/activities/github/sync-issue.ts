/**
 * githubSyncIssue: makes a plan's issue say what the plan's state says (github-docs.ts): finds or
 * creates the issue, creates or edits each comment by its hidden marker (so a retried or replayed
 * sync never posts twice), sets the phase and status labels (other labels stay), and closes the
 * issue when the plan completed. Every step is idempotent; a worker killed half-way leaves
 * nothing a retry would repeat.
 */
import type { GithubIssueDoc } from '../../workflows/github-docs';
import { whileHeartbeating } from '../heartbeating';
import { type GithubTarget, githubClient, githubStop, markerKey } from './client';

/** The issue as github-docs.ts builds it, with only the comments that changed since the last sync. */
export interface GithubSyncInput extends GithubTarget, GithubIssueDoc {
  /** The issue to use; without it phaseflow's own issue for `key` is found again or created. */
  issue?: number;
}

export interface GithubSyncResult {
  issue?: number;
  url?: string;
  posted: number;
  edited: number;
  /** Set when the sync must stop (bad token, no access, no such repository): the reason. */
  stopped?: string;
}

const LABEL = 'phaseflow';
const OURS = /^(phase|status):/;

export function githubSyncIssue(input: GithubSyncInput): Promise<GithubSyncResult> {
  return whileHeartbeating(() => syncIssue(input));
}

async function syncIssue(input: GithubSyncInput): Promise<GithubSyncResult> {
  const client = githubClient();
  if ('stopped' in client) return { posted: 0, edited: 0, stopped: client.stopped };
  const { octokit } = client;
  const target = { owner: input.owner, repo: input.repo };
  let step = 'find the issue';
  let posted = 0;
  let edited = 0;
  try {
    const me = (await octokit.users.getAuthenticated()).data.login;
    let issue = input.issue ? (await octokit.issues.get({ ...target, issue_number: input.issue })).data : undefined;
    if (!issue) {
      const mine = await octokit.paginate(octokit.issues.listForRepo, {
        ...target,
        state: 'all',
        labels: LABEL,
        per_page: 100,
      });
      issue = mine.find((i) => markerKey(i.body) === input.key && !i.pull_request);
    }
    if (!issue) {
      step = 'create the issue';
      issue = (
        await octokit.issues.create({
          ...target,
          title: input.title,
          body: `<!-- phaseflow:${input.key} -->\n${input.body}`,
          labels: [LABEL, ...input.labels],
        })
      ).data;
    } else if (!input.issue && issue.body !== `<!-- phaseflow:${input.key} -->\n${input.body}`) {
      step = 'edit the issue';
      await octokit.issues.update({
        ...target,
        issue_number: issue.number,
        body: `<!-- phaseflow:${input.key} -->\n${input.body}`,
      });
    }
    const number = issue.number;
    if (input.comments.length) {
      step = 'list the comments';
      const existing = new Map<string, { id: number; body?: string }>();
      for (const c of await octokit.paginate(octokit.issues.listComments, {
        ...target,
        issue_number: number,
        per_page: 100,
      })) {
        const key = markerKey(c.body);
        // Only our own comments: a marker copied into someone else's comment is not ours to edit.
        if (key && c.user?.login === me && !existing.has(key)) existing.set(key, { id: c.id, body: c.body });
      }
      for (const c of input.comments) {
        const found = existing.get(c.key);
        if (found?.body === c.body) continue;
        step = found ? `edit comment ${c.key}` : `post comment ${c.key}`;
        if (found) {
          await octokit.issues.updateComment({ ...target, comment_id: found.id, body: c.body });
          edited++;
        } else {
          await octokit.issues.createComment({ ...target, issue_number: number, body: c.body });
          posted++;
        }
      }
    }
    const current = issue.labels.map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter(Boolean);
    const wanted = [...new Set([...current.filter((l) => !OURS.test(l)), LABEL, ...input.labels])];
    if (wanted.slice().sort().join('\n') !== current.slice().sort().join('\n')) {
      step = 'set the labels';
      await octokit.issues.setLabels({ ...target, issue_number: number, labels: wanted });
    }
    if (input.close && issue.state === 'open') {
      step = 'close the issue';
      await octokit.issues.update({ ...target, issue_number: number, state: 'closed', state_reason: 'completed' });
    }
    return { issue: number, url: issue.html_url, posted, edited };
  } catch (err) {
    return { posted, edited, stopped: githubStop(err, step, target) };
  }
}
