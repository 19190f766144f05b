/**
 * Recovery time: a worker `kill -9`'d in the middle of an agent conversation, and a new worker
 * started at once in its place (as a supervisor would), with default settings. Measured from the
 * kill to the first model request of the resumed conversation at the fake Messages API (both
 * clocks are this process's). Most of it is Temporal noticing the dead worker: the activity's
 * heartbeat timeout (`heartbeatSeconds`), then the retry.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_SETTINGS } from '../../src/domain/settings';
import { BENCH_KEY, smallRead } from '../agent-runs';
import { FakeMessagesApi } from '../fake-api/messages-api';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { fetchHistory } from '../history';
import { figure, median } from '../report';
import { benchEpic, phaseId } from '../specs';
import type { Scenario } from './scenario';

const EventType = temporal.api.enums.v1.EventType;
const TURNS = 20;
/** The conversation's request at which the worker dies. */
const KILL_AT = 5;

async function waitFor(cond: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`recovery: ${what} did not happen within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const recovery: Scenario = {
  name: 'recovery',
  uses: ['repeat'],
  async run({ env, runId, repeat, log }) {
    const fake = await FakeMessagesApi.start({
      rule: { turns: TURNS, toolCall: smallRead, turnText: 'Checking the notes before going on.' },
      tokensPerSecond: 50,
    });
    const runs = [];
    try {
      for (let i = 1; i <= repeat; i++) {
        const taskQueue = `${env.taskQueue}-recovery-${i}`;
        const workerEnv = { ANTHROPIC_API_KEY: BENCH_KEY, ANTHROPIC_BASE_URL: fake.baseURL };
        const first = await env.startWorker({ name: `recovery-${i}a`, taskQueue, env: workerEnv });
        const slug = `bench-recovery-${runId}-${i}`;
        const ws = env.workspace(slug);
        fs.writeFileSync(path.join(ws, 'notes.md'), Array.from({ length: 40 }, (_, n) => `line ${n + 1}\n`).join(''));
        const spec = benchEpic({
          slug,
          workspace: ws,
          shape: { roadmaps: 1, plans: 1, phases: 1, tasks: 1 },
          durationMs: 0,
          agentMode: 'claude',
        });
        const done = env.runEpic(spec, taskQueue);
        const mine = () => fake.served.filter((s) => s.task.startsWith(`${slug}/`));
        await waitFor(() => mine().length >= KILL_AT, `request ${KILL_AT} of the conversation`);
        const killedAt = performance.now();
        const killedAtWall = Date.now();
        await first.kill();
        const before = mine().length;
        const second = await env.startWorker({ name: `recovery-${i}b`, taskQueue, env: workerEnv });
        const readyMs = performance.now() - killedAt;
        await waitFor(() => mine().length > before, 'the resumed request');
        const resumedMs = mine()[before].receivedAt - killedAt;
        await done;
        await second.stop();
        // Where the time went: the phase's events after the kill, in ms after it (server clock).
        const h = await fetchHistory(env.client, phaseId(slug, 1, 1, 1));
        const timeline = h.events
          .filter((e) => tsToMs(e.eventTime) >= killedAtWall)
          .slice(0, 14)
          .map((e) => `${Math.round(tsToMs(e.eventTime) - killedAtWall)} ${EventType[e.eventType!] ?? e.eventType}`);
        runs.push({
          resumedMs: Math.round(resumedMs),
          newWorkerReadyMs: Math.round(readyMs),
          requests: mine().length,
          timeline,
        });
        log(`    after the kill (ms, server time): ${timeline.join(', ')}`);
        log(
          `  run ${i}: killed at request ${KILL_AT}; new worker ready after ${(readyMs / 1000).toFixed(1)} s, resumed request after ${(resumedMs / 1000).toFixed(1)} s`,
        );
      }
    } finally {
      await fake.close();
    }
    const { heartbeatSeconds } = DEFAULT_SETTINGS;
    return {
      figures: [
        figure({
          key: 'recovery.resumeSeconds',
          label: `recovery: worker kill -9 → resumed conversation's first request`,
          value: median(runs.map((r) => r.resumedMs)) / 1000,
          unit: 's',
          target: { op: '<=', value: 15 },
          basis: `default settings (heartbeatSeconds ${heartbeatSeconds}); a new worker started at the kill; median of ${repeat}`,
        }),
      ],
      details: { turns: TURNS, killAtRequest: KILL_AT, heartbeatSeconds, runs },
    };
  },
};
