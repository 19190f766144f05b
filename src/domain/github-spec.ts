/**
 * The spec's `github` block (epic, roadmap or plan level): the issue progress is synced to, how
 * comments are kept, and whether a plan ends with a pull request. The token never goes here: the
 * worker reads GITHUB_TOKEN (and GITHUB_API_URL) from its own environment.
 */
import { z } from 'zod';

const name = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+$/, 'a GitHub owner or repository name (letters, digits, "_", ".", "-")');

export const GithubSpec = z.strictObject({
  owner: name,
  repo: name,
  issue: z.int().positive().optional().describe('The issue to sync to; without it phaseflow creates one per plan'),
  comments: z
    .enum(['per-task', 'per-phase'])
    .default('per-phase')
    .describe('One comment per phase kept up to date by editing, or one per task'),
  pullRequest: z
    .boolean()
    .default(false)
    .describe("At a plan's end, push the branch to origin and open a pull request"),
  poll: z
    .boolean()
    .default(true)
    .describe('Read /phaseflow commands by polling the issue; false when `phaseflow github webhook` receives them'),
  pollSeconds: z
    .number()
    .min(0.2)
    .default(30)
    .describe('How often the issue is read for /phaseflow commands while a question waits'),
});
export type GithubSpec = z.infer<typeof GithubSpec>;
