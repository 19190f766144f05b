/**
 * The agent loop's own cost per turn: conversations of 50 turns (49 small Read calls, then the
 * final answer) against a zero-latency fake Messages API. For each turn after the first: the
 * time from the end of one response to the arrival of the next request, minus the tool's own
 * time (from the details file). What is left is the loop: parsing the streamed answer, the stuck
 * detector, transcript append, budget ledger, heartbeat, the request limiter and the HTTP client.
 * The real activity runs in the bench process (MockActivityEnvironment), not in the worker: this
 * is the loop, not Temporal.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { agentInput, agentWorkspace, percentile, requestsOf, runAgentAgainst, smallRead } from '../agent-runs';
import { FakeMessagesApi } from '../fake-api/messages-api';
import { figure, median } from '../report';
import type { Scenario } from './scenario';

const TURNS = 50;

export const turn: Scenario = {
  name: 'turn',
  uses: ['repeat'],
  async run({ env, runId, repeat, log }) {
    const fake = await FakeMessagesApi.start({ rule: { turns: TURNS, toolCall: smallRead, turnText: 'Reading.' } });
    const gaps: number[] = [];
    const raw: number[] = [];
    const conversations = [];
    try {
      for (let i = 1; i <= repeat; i++) {
        const ws = agentWorkspace(env.workspace(`bench-turn-${runId}-${i}`));
        const input = agentInput(ws, { epic: `bench-turn-${runId}`, plan: `p${i}`, task: '1.1' });
        const started = performance.now();
        const { details } = await runAgentAgainst(fake, input);
        const wallMs = performance.now() - started;
        const reqs = requestsOf(fake, input);
        if (reqs.length !== TURNS)
          throw new Error(`turn: conversation ${i} made ${reqs.length} requests, expected ${TURNS}`);
        const toolMs = new Map<number, number>();
        for (const c of details.toolCalls) toolMs.set(c.turn, (toolMs.get(c.turn) ?? 0) + c.durationMs);
        const own: number[] = [];
        for (let t = 1; t < reqs.length; t++) {
          const gap = reqs[t].receivedAt - reqs[t - 1].respondedAt!;
          raw.push(gap);
          own.push(gap - (toolMs.get(t) ?? 0));
        }
        gaps.push(...own);
        conversations.push({
          wallMs: Math.round(wallMs),
          medianMs: median(own),
          p99Ms: percentile(own, 99),
          toolMsTotal: [...toolMs.values()].reduce((a, b) => a + b, 0),
        });
        log(
          `  conversation ${i}: ${TURNS} turns in ${wallMs.toFixed(0)} ms; loop per turn median ${median(own).toFixed(2)} ms, p99 ${percentile(own, 99).toFixed(2)} ms`,
        );
        fs.rmSync(path.join(ws, '.claude'), { recursive: true, force: true });
      }
    } finally {
      await fake.close();
    }
    return {
      figures: [
        figure({
          key: 'turn.medianMs',
          label: `agent loop per turn, median (${TURNS}-turn conversations)`,
          value: median(gaps),
          unit: 'ms',
          target: { op: '<=', value: 10 },
          basis: `end of a response → next request at a zero-latency fake, minus the turn's tool time; ${gaps.length} turns of ${repeat} conversation(s), in the bench process`,
        }),
        figure({
          key: 'turn.p99Ms',
          label: `agent loop per turn, p99`,
          value: percentile(gaps, 99),
          unit: 'ms',
          target: { op: '<=', value: 10 },
          basis: `as above, 99th percentile`,
        }),
      ],
      details: { turns: TURNS, conversations, rawGapMedianMs: median(raw), rawGapP99Ms: percentile(raw, 99) },
    };
  },
};
