/** Shared fixtures for the agent tests: a temp workspace with a sentinel beside it, inputs, a runner. */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TaskResult, TaskRunInput } from '../../src/domain/types';
import { runClaudeAgent, type RunClaudeAgentOptions } from '../../src/activities/agent/agent-run';
import { FakeAnthropic } from '../fake-anthropic/server';

export const TEST_KEY = 'sk-ant-test-0123456789abcdef';

export interface Sandbox {
  root: string;
  /** The task's workspace (realpath'd). */
  workspace: string;
  /** A directory beside the workspace that no tool may touch. */
  sentinel: string;
  cleanup(): Promise<void>;
}

export async function makeSandbox(): Promise<Sandbox> {
  const root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'phaseflow-agent-')));
  const workspace = path.join(root, 'ws');
  const sentinel = path.join(root, 'sentinel');
  await fs.mkdir(workspace);
  await fs.mkdir(sentinel);
  await fs.writeFile(path.join(sentinel, 'keep.txt'), 'untouched\n');
  return { root, workspace, sentinel, cleanup: () => fs.rm(root, { recursive: true, force: true }) };
}

/** Everything in the sentinel dir, with contents, to compare before and after. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of await fs.readdir(dir, { recursive: true })) {
    const p = path.join(dir, name);
    const st = await fs.lstat(p);
    out[name] = st.isFile() ? await fs.readFile(p, 'utf8') : st.isSymbolicLink() ? `-> ${await fs.readlink(p)}` : 'dir';
  }
  return out;
}

/**
 * A fresh sandbox and fake Messages API (expecting TEST_KEY) for every test of the calling
 * describe block; read them as `t.sb` and `t.fake` inside the tests.
 */
/** `fake` is writable: a test that stops the fake may start another for afterEach to close. */
export function useSandboxAndFake(): { readonly sb: Sandbox; fake: FakeAnthropic } {
  const t = {} as { sb: Sandbox; fake: FakeAnthropic };
  beforeEach(async () => {
    t.sb = await makeSandbox();
    t.fake = await FakeAnthropic.start({ apiKey: TEST_KEY });
  });
  afterEach(async () => {
    await t.fake.close();
    await t.sb.cleanup();
  });
  return t;
}

export type InputOverrides = Partial<Omit<TaskRunInput, 'task'>> & { task?: Partial<TaskRunInput['task']> };

export function taskInput(workspace: string, overrides: InputOverrides = {}): TaskRunInput {
  const { task, ...rest } = overrides;
  return {
    ctx: {
      epicSlug: 'shop',
      epicTitle: 'Web shop',
      roadmapSlug: 'mvp',
      planSlug: 'checkout',
      planTitle: 'Checkout flow',
      phaseSlug: 'api',
      phaseTitle: 'API',
      phaseIndex: 1,
      workspace,
    },
    task: {
      id: '1.1',
      description: 'Create the greeting module',
      kind: 'agent',
      domain: 'backend',
      outputType: 'code',
      files: ['src/greet.ts'],
      ...task,
    },
    agentMode: 'claude',
    model: 'claude-haiku-4-5',
    attempt: 1,
    maxAttempts: 3,
    timeoutMs: 60_000,
    reducedTools: false,
    ...rest,
  };
}

export interface RunOutcome {
  result?: TaskResult;
  error?: any;
  heartbeats: unknown[];
  env: MockActivityEnvironment;
}

const quietLogger = new DefaultLogger(process.env.AGENT_TEST_LOG === '1' ? 'DEBUG' : 'ERROR');

export function mockEnv(): MockActivityEnvironment {
  return new MockActivityEnvironment({ heartbeatTimeoutMs: 3_000 }, { logger: quietLogger });
}

/** Runs the activity in a MockActivityEnvironment against the fake; never throws. */
export async function runAgent(
  input: TaskRunInput,
  fake: FakeAnthropic,
  opts: RunClaudeAgentOptions = {},
  env: MockActivityEnvironment = mockEnv(),
): Promise<RunOutcome> {
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  try {
    const result: TaskResult = await env.run(runClaudeAgent, input, {
      apiKey: TEST_KEY,
      baseURL: fake.baseURL,
      env: {},
      ...opts,
    });
    return { result, heartbeats, env };
  } catch (error) {
    return { error, heartbeats, env };
  }
}

/** Tool results (by tool_use_id) in the user message of a recorded request. */
export function toolResults(body: any): { tool_use_id: string; content: string; is_error?: boolean }[] {
  const last = body.messages[body.messages.length - 1];
  return Array.isArray(last.content) ? last.content.filter((b: any) => b.type === 'tool_result') : [];
}

export async function readJson(p: string): Promise<any> {
  return JSON.parse(await fs.readFile(p, 'utf8'));
}
