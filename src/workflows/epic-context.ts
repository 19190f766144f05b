/** What every level below the epic needs to know about it (small: it travels into each child). */
import type { GitSpec } from '../domain/git-spec';
import type { GithubSpec } from '../domain/github-spec';
import type { EpicSpec, ExecutionSettings } from '../domain/spec';

export interface EpicContext {
  slug: string;
  title: string;
  /** Absolute path, resolved by prepareWorkspace. */
  workspace: string;
  /** The worker host whose task queue runs the workspace activities (workspace-host.ts); unset: any worker. */
  host?: string;
  agentMode: EpicSpec['agentMode'];
  settings?: ExecutionSettings;
  budget: EpicSpec['budget'];
  gateTimeoutMs: number;
  /** gating.require_phase_approval: every passed phase waits for a person's approval. */
  requirePhaseApproval: boolean;
  /** A commit per phase on the epic's branch (spec `git`). */
  git?: GitSpec;
  /** Sync progress to GitHub (spec `github`; a roadmap's or plan's own overrides it). */
  github?: GithubSpec;
}
