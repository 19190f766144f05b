/**
 * Agents per worker: 100 real agent conversations (agentMode claude) at once on one worker
 * process, each streaming from the bench's fake Messages API at about 50 tokens a second: 4
 * epics of one 25-task phase (the spec caps a phase at 64), started together, default settings
 * but for `apiMaxConcurrentRequests: 100` (the default, 8 requests in flight per worker, would
 * queue them). Figures: the worker's RSS per running agent (peak RSS while all run − RSS of the
 * idle, warmed worker, / 100), its event-loop delay p99 (perf_hooks, preloaded probe), and
 * checks: no heartbeat timeout or retry in any history, every conversation complete.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BENCH_KEY, percentile, smallRead } from '../agent-runs';
import { FakeMessagesApi } from '../fake-api/messages-api';
import { fetchHistories } from '../history';
import { figure } from '../report';
import { benchEpic, phaseId } from '../specs';
import type { Scenario } from './scenario';

const AGENTS = 100;
const EPICS = 4;
const TURNS = 12;
const TOKENS_PER_SECOND = 50;
const MB = 1024 * 1024;
const PROBE = path.resolve(__dirname, '..', 'event-loop-probe.js');

export const agents: Scenario = {
  name: 'agents',
  uses: [],
  async run({ env, runId, log }) {
    const fake = await FakeMessagesApi.start({
      rule: {
        turns: TURNS,
        toolCall: smallRead,
        // ~40 tokens of text, then the tool call's ~15: about a second per turn at 50 tokens/s.
        turnText: 'Looking at the notes file again to check the next few lines before writing anything.',
      },
      tokensPerSecond: TOKENS_PER_SECOND,
    });
    const probeFile = path.join(env.dir, `event-loop-${runId}.json`);
    const taskQueue = `${env.taskQueue}-agents`;
    try {
      const worker = await env.startWorker({
        name: 'agents',
        taskQueue,
        // PHASEFLOW_BENCH_WORKER_NODE_ARGS (e.g. --cpu-prof) applies to this worker too.
        nodeArgs: [
          ...(process.env.PHASEFLOW_BENCH_WORKER_NODE_ARGS ?? '--max-old-space-size=256').split(' ').filter(Boolean),
          '--require',
          PROBE,
        ],
        env: { ANTHROPIC_API_KEY: BENCH_KEY, ANTHROPIC_BASE_URL: fake.baseURL, PHASEFLOW_BENCH_PROBE_FILE: probeFile },
      });
      const epic = (slug: string, tasks: number) => {
        const ws = env.workspace(slug);
        fs.writeFileSync(path.join(ws, 'notes.md'), Array.from({ length: 40 }, (_, i) => `line ${i + 1}\n`).join(''));
        return benchEpic({
          slug,
          workspace: ws,
          shape: { roadmaps: 1, plans: 1, phases: 1, tasks },
          durationMs: 0,
          agentMode: 'claude',
          settings: { maxParallel: tasks, apiMaxConcurrentRequests: AGENTS },
        });
      };
      // Warm-up: one agent, so the idle figure includes the SDK and its first connection.
      await env.runEpic(epic(`bench-agents-warm-${runId}`, 1), taskQueue);
      await new Promise((r) => setTimeout(r, 2000));
      const idle = worker.memory().rssBytes;
      worker.resetPeak();
      fs.writeFileSync(`${probeFile}.reset`, '');
      await new Promise((r) => setTimeout(r, 1100)); // the probe has started afresh
      const slugs = Array.from({ length: EPICS }, (_, i) => `bench-agents-${runId}-${i + 1}`);
      const inFlight = () => {
        const started = new Set(fake.served.map((s) => s.task));
        const finished = new Set(fake.served.filter((s) => s.purpose === 'final').map((s) => s.task));
        return [...started].filter((t) => !finished.has(t) && slugs.some((s) => t.startsWith(`${s}/`))).length;
      };
      const samples: { rss: number; running: number }[] = [];
      const sampler = setInterval(() => {
        samples.push({ rss: worker.memory().rssBytes, running: inFlight() });
      }, 250);
      const started = performance.now();
      try {
        await Promise.all(slugs.map((s) => env.runEpic(epic(s, AGENTS / EPICS), taskQueue)));
      } finally {
        clearInterval(sampler);
      }
      const wallMs = performance.now() - started;
      await new Promise((r) => setTimeout(r, 1100)); // the probe's next write covers the whole run
      const loop = JSON.parse(fs.readFileSync(probeFile, 'utf8'));
      const hwm = worker.memory().peakRssBytes;
      const full = samples.filter((s) => s.running === AGENTS);
      const fullRss = full.length ? Math.max(...full.map((s) => s.rss)) : hwm;

      // Every conversation complete; no heartbeat timeout, failure or retry anywhere.
      const histories = await fetchHistories(
        env.client,
        slugs.map((s) => phaseId(s, 1, 1, 1)),
      );
      let timeouts = 0;
      let failures = 0;
      let retried = 0;
      for (const h of histories)
        for (const e of h.events) {
          if (e.activityTaskTimedOutEventAttributes) timeouts++;
          if (e.activityTaskFailedEventAttributes) failures++;
          if ((e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1) retried++;
        }
      const conversations = new Map<string, number>();
      for (const s of fake.served)
        if (slugs.some((slug) => s.task.startsWith(`${slug}/`)))
          conversations.set(s.task, (conversations.get(s.task) ?? 0) + 1);
      const complete = [...conversations.values()].filter((n) => n === TURNS).length;
      if (complete !== AGENTS || timeouts || failures || retried)
        throw new Error(
          `agents: ${complete} of ${AGENTS} conversations complete with ${TURNS} requests; ${timeouts} activity timeouts, ${failures} failures, ${retried} retried starts`,
        );
      // Stalls: the longest wait of any agent between one response's end and its next request.
      const gaps: number[] = [];
      for (const task of conversations.keys()) {
        const reqs = fake.served.filter((s) => s.task === task);
        for (let i = 1; i < reqs.length; i++) gaps.push(reqs[i].receivedAt - reqs[i - 1].respondedAt!);
      }
      const perAgent = (fullRss - idle) / AGENTS;
      log(
        `  ${AGENTS} agents in ${(wallMs / 1000).toFixed(1)} s: worker RSS idle ${(idle / MB).toFixed(0)} MB, with ${AGENTS} running ${(fullRss / MB).toFixed(0)} MB (peak ${(hwm / MB).toFixed(0)} MB) → ${(perAgent / MB).toFixed(2)} MB per agent; ` +
          `event-loop delay p99 ${loop.p99Ms} ms (max ${loop.maxMs}); between turns p99 ${percentile(gaps, 99).toFixed(1)} ms, max ${Math.max(...gaps).toFixed(0)} ms`,
      );
      return {
        figures: [
          figure({
            key: 'agents.rssPerAgentMB',
            label: `${AGENTS} agents on one worker: RSS per running agent`,
            value: perAgent / MB,
            unit: 'MB',
            target: { op: '<=', value: 5 },
            basis: `(max worker RSS sampled while all ${AGENTS} ran − idle RSS after a warm-up agent) / ${AGENTS}; fake API at ~${TOKENS_PER_SECOND} tokens/s, ${TURNS} turns each`,
          }),
          figure({
            key: 'agents.eventLoopP99Ms',
            label: `  worker event-loop delay p99`,
            value: loop.p99Ms,
            unit: 'ms',
            basis: `perf_hooks.monitorEventLoopDelay in the worker over the run (max ${loop.maxMs} ms); 0 heartbeat timeouts, 0 retries, ${AGENTS}/${AGENTS} complete`,
          }),
        ],
        details: {
          agents: AGENTS,
          turns: TURNS,
          tokensPerSecond: TOKENS_PER_SECOND,
          wallMs: Math.round(wallMs),
          idleRssBytes: idle,
          fullRssBytes: fullRss,
          samplesWithAllRunning: full.length,
          peakRssBytes: hwm,
          eventLoop: loop,
          betweenTurnsMs: { p50: percentile(gaps, 50), p99: percentile(gaps, 99), max: Math.max(...gaps) },
          heartbeatTimeouts: timeouts,
          failures,
          retriedStarts: retried,
        },
      };
    } finally {
      await fake.close();
    }
  },
};
