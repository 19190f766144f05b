/**
 * The cost of coordination: model tokens the orchestration itself spends per task. phaseflow's
 * epic, roadmap, plan and phase are Temporal workflows, not agents, so by design they make no
 * model call; this checks it on a run: an epic of 2 plans × 2 phases × 3 real agent tasks
 * against the bench's fake Messages API, where every request must belong to one task's
 * conversation. Beside it: what phaseflow writes into each agent's prompt about its task
 * (the task's part of the system prompt and the opening message), and the workflow history
 * the orchestration keeps per task instead of a model context. CCASP budgets 10k-30k tokens of
 * orchestrator context per level.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { systemPrompt, taskMessage } from '../../src/activities/agent/prompts';
import { agentInput, BENCH_KEY, smallRead } from '../agent-runs';
import { FakeMessagesApi } from '../fake-api/messages-api';
import { estimateTokens } from '../fake-api/prompt-cache';
import { fetchHistories, listEpicRuns } from '../history';
import { figure } from '../report';
import { benchEpic, taskCount, workflowCount, type Shape } from '../specs';
import type { Scenario } from './scenario';

const SHAPE: Shape = { roadmaps: 1, plans: 2, phases: 2, tasks: 3 };
const TURNS = 4;

export const coordination: Scenario = {
  name: 'coordination',
  uses: [],
  async run({ env, runId, log }) {
    const fake = await FakeMessagesApi.start({ rule: { turns: TURNS, toolCall: smallRead, turnText: 'Reading.' } });
    const slug = `bench-coord-${runId}`;
    const tasks = taskCount(SHAPE);
    try {
      const taskQueue = `${env.taskQueue}-coordination`;
      await env.startWorker({
        name: 'coordination',
        taskQueue,
        env: { ANTHROPIC_API_KEY: BENCH_KEY, ANTHROPIC_BASE_URL: fake.baseURL },
      });
      const ws = env.workspace(slug);
      fs.writeFileSync(path.join(ws, 'notes.md'), Array.from({ length: 40 }, (_, i) => `line ${i + 1}\n`).join(''));
      const spec = benchEpic({
        slug,
        workspace: ws,
        shape: SHAPE,
        durationMs: 0,
        agentMode: 'claude',
        settings: { maxParallel: SHAPE.tasks },
      });
      await env.runEpic(spec, taskQueue);

      const served = fake.served.filter((s) => s.task.startsWith(`${slug}/`));
      const byTask = new Map<string, number>();
      for (const s of served) byTask.set(s.task, (byTask.get(s.task) ?? 0) + 1);
      const taskConversations = [...byTask.entries()].filter(([t, n]) => !t.includes('?') && n === TURNS);
      const outside = served.filter((s) => !taskConversations.some(([t]) => t === s.task));
      const tokensOf = (xs: typeof served) =>
        xs.reduce(
          (n, s) =>
            n +
            s.usage.input_tokens +
            s.usage.cache_creation_input_tokens +
            s.usage.cache_read_input_tokens +
            s.usage.output_tokens,
          0,
        );
      if (taskConversations.length !== tasks)
        throw new Error(
          `coordination: ${taskConversations.length} complete task conversations at the fake, expected ${tasks}`,
        );
      const orchestrationTokens = tokensOf(outside);
      const agentTokens = tokensOf(served);

      // What phaseflow tells each agent about its task (the specialist's part is shared and cached).
      const input = agentInput(ws, { epic: slug, plan: 'r01-p01', task: '1.1' });
      const taskPart = estimateTokens(systemPrompt(input)[1].text) + estimateTokens(taskMessage(input));
      const histories = await fetchHistories(env.client, await listEpicRuns(env.client, slug, workflowCount(SHAPE)));
      const historyBytes = histories.reduce((n, h) => n + h.bytes, 0);
      log(
        `  ${tasks} agent tasks, ${served.length} model requests, all in task conversations: orchestration tokens ${orchestrationTokens}; ` +
          `task instructions ~${taskPart} tokens per agent; workflow history ${(historyBytes / tasks / 1024).toFixed(1)} KB per task`,
      );
      return {
        figures: [
          figure({
            key: 'coordination.tokensPerTask',
            label: `coordination: model tokens the orchestration spends per task`,
            value: orchestrationTokens / tasks,
            unit: 'tokens',
            target: { op: '<=', value: 0 },
            basis: `requests at the fake outside the ${tasks} tasks' own conversations (${outside.length} of ${served.length}); CCASP budgets 10k-30k tokens of orchestrator context per level`,
          }),
          figure({
            key: 'coordination.taskInstructionTokens',
            label: `  phaseflow's task instructions in each agent's prompt`,
            value: taskPart,
            unit: 'tokens',
            basis: `the task's part of the system prompt + the opening message (characters / 4); paid by the agent, not by an orchestrator`,
          }),
        ],
        details: {
          shape: SHAPE,
          tasks,
          requests: served.length,
          outsideTaskConversations: outside.length,
          orchestrationTokens,
          agentTokens,
          agentTokensPerTask: agentTokens / tasks,
          historyBytesPerTask: historyBytes / tasks,
          workflows: histories.length,
        },
      };
    } finally {
      await fake.close();
    }
  },
};
