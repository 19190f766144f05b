/**
 * A plan's GitHub sync, beside its workflow when the spec sets `github`: after every change the
 * issue is made to match the plan (githubSyncIssue; only comments whose text changed travel), one
 * sync at a time, changes meanwhile merged into the next. While a question waits, a long poll of
 * the issue's comments answers it from `/phaseflow …` commands (githubAwaitCommand), cancelled as
 * soon as the question is settled another way. At the plan's end: the pull request (spec
 * `pullRequest`), then the last sync, which posts the final comment and closes the issue.
 * A sync that GitHub refuses (401, 403, 404) stops with its reason; the plan goes on.
 */
import {
  type ActivityOptions,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  sleep,
} from '@temporalio/workflow';
import type * as activities from '../activities';
import type { PendingDecision } from '../domain/decisions';
import type { GithubSpec } from '../domain/github-spec';
import type { GithubIssueDoc } from './github-docs';
import { onWorkspaceHost } from './workspace-host';

export interface GithubSyncCarry {
  issue?: number;
  url?: string;
  pullRequest?: string;
  stopped?: string;
  posted: number;
  edited: number;
  syncs: number;
}

/** What `phaseflow github status` shows of a plan. */
export interface GithubSyncStatus extends GithubSyncCarry {
  owner: string;
  repo: string;
  /** Changes not yet synced. */
  pending: boolean;
  lastError?: string;
}

const SYNC_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  // Rate limits come back with the server's delay (nextRetryDelay); the rest back off from 2 s.
  // After that, the failure is the sync's last error and the next change tries again: GitHub trouble never fails the plan.
  retry: { initialInterval: '2 seconds', backoffCoefficient: 1.5, maximumInterval: '10 minutes', maximumAttempts: 12 },
};
const sync = proxyActivities<typeof activities>(SYNC_OPTIONS);

/** How long one command poll runs before the workflow starts the next (each is a handful of events). */
const POLL_ACTIVITY_MS = 5 * 60_000;

export class GithubSync {
  private readonly status: GithubSyncCarry;
  private version = 1;
  private synced = 0;
  private closing = false;
  private lastError?: string;
  /** The comment texts as last synced, by key: only changed ones travel (a continued run resends once). */
  private readonly sent = new Map<string, string>();
  private sentHead = '';
  private readonly loops: Promise<void>[];

  constructor(
    private readonly spec: GithubSpec,
    /** The plan's marker prefix, `epic/plan`. */
    private readonly key: string,
    private readonly doc: () => GithubIssueDoc,
    private readonly pending: () => PendingDecision | undefined,
    private readonly onIssue: () => void,
    carry?: GithubSyncCarry,
  ) {
    this.status = carry ?? { posted: 0, edited: 0, syncs: 0 };
    if (spec.issue) this.status.issue ??= spec.issue;
    this.loops = [this.syncLoop(), ...(spec.poll ? [this.commandLoop()] : [])];
  }

  get carry(): GithubSyncCarry {
    return { ...this.status };
  }

  get issue(): number | undefined {
    return this.status.issue;
  }

  statusNode(): GithubSyncStatus {
    return {
      ...this.status,
      owner: this.spec.owner,
      repo: this.spec.repo,
      pending: this.version > this.synced,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  changed(): void {
    this.version++;
  }

  /** The plan ended: the pull request first (when asked and the plan completed), then the last sync. */
  async close(pr?: { workspace: string; branch: string; title: string; body: string }): Promise<void> {
    if (pr && this.spec.pullRequest && !this.status.stopped && !this.status.pullRequest) {
      try {
        // The push runs in the workspace, so on the epic's host; the API calls may run anywhere.
        const opened = await proxyActivities<typeof activities>(onWorkspaceHost(SYNC_OPTIONS)).githubPullRequest({
          owner: this.spec.owner,
          repo: this.spec.repo,
          ...pr,
        });
        if (opened.url) this.status.pullRequest = opened.url;
        if (opened.stopped) this.lastError = opened.stopped;
      } catch (err) {
        if (isCancellation(err)) throw err;
        this.lastError = `pull request: ${failureText(err)}`;
      }
      this.onIssue(); // the mirrors name the pull request; the final comment links it
    }
    this.closing = true;
    await Promise.all(this.loops);
  }

  get pullRequest(): string | undefined {
    return this.status.pullRequest;
  }

  private async syncLoop(): Promise<void> {
    for (;;) {
      await condition(() => this.version > this.synced || this.closing);
      if (this.status.stopped || (this.closing && this.version === this.synced)) return;
      const version = this.version;
      const doc = this.doc();
      const changed = doc.comments.filter((c) => this.sent.get(c.key) !== c.body);
      const head = JSON.stringify([doc.title, doc.body, doc.labels, doc.close]);
      if (changed.length === 0 && head === this.sentHead && this.status.issue) {
        this.synced = version;
        continue;
      }
      let r: Awaited<ReturnType<typeof sync.githubSyncIssue>>;
      try {
        r = await sync.githubSyncIssue({
          owner: this.spec.owner,
          repo: this.spec.repo,
          ...(this.status.issue ? { issue: this.status.issue } : {}),
          key: doc.key,
          title: doc.title,
          body: doc.body,
          labels: doc.labels,
          comments: changed,
          close: doc.close,
        });
      } catch (err) {
        if (isCancellation(err)) throw err;
        // Out of retries (GitHub down for long): said in `github status`; what was not sent goes with the next change.
        this.lastError = failureText(err);
        this.synced = version;
        continue;
      }
      this.synced = version;
      this.status.syncs++;
      this.status.posted += r.posted;
      this.status.edited += r.edited;
      if (r.stopped) {
        this.status.stopped = r.stopped;
        this.lastError = r.stopped;
        this.onIssue();
        return;
      }
      for (const c of changed) this.sent.set(c.key, c.body);
      this.sentHead = head;
      if (r.issue && (r.issue !== this.status.issue || r.url !== this.status.url)) {
        this.status.issue = r.issue;
        this.status.url = r.url;
        this.onIssue();
      }
    }
  }

  /** While a question waits and the issue exists: poll its comments for a command, until the question is settled. */
  private async commandLoop(): Promise<void> {
    for (;;) {
      let asked: PendingDecision | undefined;
      await condition(() => {
        asked = this.pending();
        // The question's comment must be on the issue before commands under it count.
        return this.closing || (!!asked && !!this.status.issue && this.sent.has(this.questionKey(asked)));
      });
      if (this.closing || this.status.stopped || !asked) return;
      const question = asked;
      const scope = new CancellationScope();
      const poll = scope.run(() =>
        sync.githubAwaitCommand({
          owner: this.spec.owner,
          repo: this.spec.repo,
          issue: this.status.issue!,
          key: this.key,
          pending: question,
          pollMs: this.spec.pollSeconds * 1000,
          maxMs: Math.max(this.spec.pollSeconds * 1000, POLL_ACTIVITY_MS),
        }),
      );
      const settled = condition(() => this.closing || this.pending()?.id !== question.id).then(() => scope.cancel());
      try {
        const r = await poll;
        if (r.stopped) this.lastError = r.stopped;
        if (r.applied || r.stopped) await settled; // this question is done with (or the sync cannot read commands)
      } catch (err) {
        if (!isCancellation(err)) {
          this.lastError = `reading commands: ${failureText(err)}`;
          await sleep(this.spec.pollSeconds * 1000);
        }
      }
      if (this.status.stopped) return;
    }
  }

  private questionKey(p: PendingDecision): string {
    return `${this.key}/question/${p.id}`;
  }
}

/** An activity failure's own message (not "Activity task failed"). */
const failureText = (err: unknown): string => {
  const e = err as { cause?: { message?: string }; message?: string };
  return e.cause?.message ?? e.message ?? String(err);
};
