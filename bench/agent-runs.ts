/**
 * Real agent activities (runClaudeAgent, the code the worker runs) driven in this process against
 * the bench's fake Messages API, each in a MockActivityEnvironment (the SDK's activity context
 * outside a worker), for the figures of the agent loop itself: no Temporal round trip in between.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { runClaudeAgent } from '../src/activities/agent/agent-run';
import type { AgentDetails } from '../src/activities/agent/aop';
import { CLAUDE_DIR } from '../src/domain/paths';
import type { TaskResult, TaskRunInput } from '../src/domain/types';
import type { FakeMessagesApi, ServedRequest } from './fake-api/messages-api';

export const BENCH_KEY = 'sk-ant-bench-not-a-real-key-0000';
/** phaseflow's default model (the `sonnet` alias). */
export const BENCH_MODEL = 'claude-sonnet-5-5';

/** A workspace with phaseflow's record folders and a small file for the agents to Read. */
export function agentWorkspace(dir: string): string {
  for (const sub of ['cache/agent-outputs', 'cache/logs'])
    fs.mkdirSync(path.join(dir, CLAUDE_DIR, sub), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'notes.md'),
    Array.from({ length: 40 }, (_, i) => `line ${i + 1}: a short note`).join('\n') + '\n',
  );
  return fs.realpathSync(dir);
}

/** The n-th turn's tool call: a small Read, different every turn (five equal calls in a row count as stuck). */
export const smallRead = (turn: number) => ({
  name: 'Read',
  input: { file_path: 'notes.md', offset: 1, limit: 1 + (turn % 39) },
});

export function agentInput(
  workspace: string,
  o: { epic: string; plan: string; task: string; domain?: 'backend' },
): TaskRunInput {
  return {
    ctx: {
      epicSlug: o.epic,
      epicTitle: `bench ${o.epic}`,
      roadmapSlug: 'r01',
      planSlug: o.plan,
      planTitle: `plan ${o.plan}`,
      phaseSlug: 'h01',
      phaseTitle: 'phase 1',
      phaseIndex: 1,
      workspace,
    },
    task: {
      id: o.task,
      description: `bench conversation ${o.task}`,
      kind: 'agent',
      domain: o.domain ?? 'backend',
      outputType: 'code',
      files: [],
    },
    agentMode: 'claude',
    model: BENCH_MODEL,
    attempt: 1,
    maxAttempts: 1,
    timeoutMs: 600_000,
    reducedTools: false,
  };
}

const quiet = new DefaultLogger('ERROR');

/** One attempt of the real agent activity against the fake; its details file read back. */
export async function runAgentAgainst(
  fake: FakeMessagesApi,
  input: TaskRunInput,
): Promise<{ result: TaskResult; details: AgentDetails }> {
  const env = new MockActivityEnvironment(
    { activityType: 'runAgentTask', startToCloseTimeoutMs: input.timeoutMs, heartbeatTimeoutMs: 30_000 },
    { logger: quiet },
  );
  const result: TaskResult = await env.run(runClaudeAgent, input, {
    apiKey: BENCH_KEY,
    baseURL: fake.baseURL,
    env: {},
  });
  if (result.status !== 'success')
    throw new Error(`bench agent ${input.ctx.planSlug}/${input.task.id} ended ${result.status}: ${result.summary}`);
  const details = JSON.parse(
    fs.readFileSync(path.join(input.ctx.workspace, result.detailsFile), 'utf8'),
  ) as AgentDetails;
  return { result, details };
}

/** A conversation's requests as the fake saw them, in order. */
export const requestsOf = (fake: FakeMessagesApi, input: TaskRunInput): ServedRequest[] =>
  fake.served.filter((s) => s.task === `${input.ctx.epicSlug}/${input.ctx.planSlug}/${input.task.id}`);

/** p-th percentile (0-100), nearest rank. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
