/**
 * `phaseflow github status ID`: for each plan of a run that syncs to GitHub, the issue, what was
 * synced (syncs, comments posted and edited), whether changes are pending, the pull request, and
 * the last error (a stopped sync says why). Read from each plan's `status` query.
 */
import type { GithubSyncStatus } from '../workflows/github-sync';
import { CliError } from './errors';
import { CLOSED_QUERY_TIMEOUT_MS, idleTaskQueue, noWorkerText, resolveTarget, withClient } from './target';
import { fetchTree, flatten } from './tree';

export async function githubStatusCommand(id: string, opts: { json?: boolean }): Promise<void> {
  await withClient(async (client) => {
    const target = await resolveTarget(client, id);
    const idle = await idleTaskQueue(client, target.workflowId);
    if (idle) throw new CliError(`cannot read the GitHub sync of ${target.workflowId}: ${noWorkerText(idle)}`);
    const tree = await fetchTree(client, target.workflowId, {
      mode: 'started',
      timeoutMs: target.status === 'RUNNING' ? 5_000 : CLOSED_QUERY_TIMEOUT_MS,
    });
    const plans = flatten(tree)
      .map(({ node }) => node)
      .filter((n): n is typeof n & { github: GithubSyncStatus } => n.level === 'plan' && !!n.github);
    if (opts.json) {
      console.log(
        JSON.stringify(
          plans.map((n) => ({ plan: n.slug, workflowId: n.workflowId, ...n.github })),
          null,
          2,
        ),
      );
      return;
    }
    if (plans.length === 0) {
      console.log(
        `${target.workflowId}: no plan syncs to GitHub (no \`github\` block in the spec, or no plan started yet)`,
      );
      return;
    }
    for (const n of plans) console.log(githubLines(n.slug, n.github).join('\n'));
  });
}

export function githubLines(plan: string, g: GithubSyncStatus): string[] {
  const issue = g.issue ? `issue #${g.issue}${g.url ? ` (${g.url})` : ''}` : 'no issue yet';
  return [
    `plan ${plan}: ${g.owner}/${g.repo} ${issue}`,
    `  synced: ${g.syncs} sync(s), ${g.posted} comment(s) posted, ${g.edited} edited`,
    `  pending: ${g.stopped ? 'nothing (the sync stopped)' : g.pending ? 'changes not synced yet' : 'nothing'}`,
    ...(g.pullRequest ? [`  pull request: ${g.pullRequest}`] : []),
    ...(g.stopped ? [`  stopped: ${g.stopped}`] : g.lastError ? [`  last error: ${g.lastError}`] : []),
  ];
}
