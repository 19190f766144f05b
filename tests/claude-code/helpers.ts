/** Shared fixtures for the claude-code runtime tests: the real Claude Code binary against the fake Messages API. */
import type { MockActivityEnvironment } from '@temporalio/testing';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { runClaudeCodeAgent, type RunClaudeCodeOptions } from '../../src/activities/agent/claude-code/claude-code-run';
import { claudeCodeInstalled, INSTALL_HINT } from '../../src/activities/agent/claude-code/install';
import { claudeCodeTaskDir } from '../../src/domain/paths';
import type { TaskResult, TaskRunInput } from '../../src/domain/types';
import { mockEnv, TEST_KEY, type RunOutcome } from '../agent/helpers';
import type { FakeAnthropic, FakeReply } from '../fake-anthropic/server';

export { TEST_KEY };

/** Fails the suite at once, with the command, when Claude Code is not installed (npm test's pretest installs it). */
export function requireClaudeCode(): void {
  before(function () {
    if (!claudeCodeInstalled()) throw new Error(`Claude Code is not installed: run \`${INSTALL_HINT}\``);
  });
}

/** A final message with an AOP block. */
export function aopReply(summary: string, status = 'success', usage: Partial<FakeReply['usage']> = {}): FakeReply {
  return {
    kind: 'message',
    content: [{ type: 'text', text: `Done.\n[AOP:SUMMARY] ${summary}\n[AOP:STATUS] ${status}` }],
    stop_reason: 'end_turn',
    usage: {
      input_tokens: 100,
      output_tokens: 20,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      ...usage,
    },
  };
}

/** Runs the Claude Code activity in a MockActivityEnvironment against the fake; never throws. */
export async function runClaudeCode(
  input: TaskRunInput,
  fake: FakeAnthropic,
  opts: RunClaudeCodeOptions = {},
  env: MockActivityEnvironment = mockEnv(),
): Promise<RunOutcome> {
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  try {
    const result: TaskResult = await env.run(
      runClaudeCodeAgent,
      { ...input, runtime: 'claude-code' as const },
      {
        apiKey: TEST_KEY,
        baseURL: fake.baseURL,
        env: { PATH: process.env.PATH },
        ...opts,
      },
    );
    return { result, heartbeats, env };
  } catch (error) {
    return { error, heartbeats, env };
  }
}

export async function writeAgentFile(workspace: string, name: string, front: string, prompt: string): Promise<void> {
  await fs.mkdir(path.join(workspace, '.claude', 'agents'), { recursive: true });
  await fs.writeFile(
    path.join(workspace, '.claude', 'agents', `${name}.md`),
    `---\nname: ${name}\n${front}\n---\n${prompt}\n`,
  );
}

export async function sessionRecord(workspace: string, planSlug: string, taskId: string): Promise<any> {
  return JSON.parse(
    await fs.readFile(path.join(workspace, claudeCodeTaskDir(planSlug, taskId), 'session.json'), 'utf8'),
  );
}

/** The text of every tool_result block in a recorded request, by tool_use_id. */
export function toolResultsIn(body: any): Map<string, { content: string; is_error?: boolean }> {
  const out = new Map<string, { content: string; is_error?: boolean }>();
  for (const m of body?.messages ?? [])
    if (Array.isArray(m.content))
      for (const b of m.content)
        if (b.type === 'tool_result')
          out.set(b.tool_use_id, {
            content: typeof b.content === 'string' ? b.content : JSON.stringify(b.content),
            is_error: b.is_error,
          });
  return out;
}

/** Pids of the Claude Code processes working for a task (found by the CLAUDE_CONFIG_DIR in their environment). */
export async function claudeCodePids(workspace: string, planSlug: string, taskId: string): Promise<number[]> {
  const marker = `CLAUDE_CONFIG_DIR=${path.join(workspace, claudeCodeTaskDir(planSlug, taskId), 'config')}\0`;
  const pids: number[] = [];
  for (const name of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const environ = await fs.readFile(`/proc/${name}/environ`, 'utf8').catch(() => '');
    if (environ.includes(marker)) pids.push(Number(name));
  }
  return pids;
}
