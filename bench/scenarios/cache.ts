/**
 * Prompt-cache efficiency: the real agent activity against a fake Messages API that applies
 * Anthropic's caching rules (fake-api/prompt-cache.ts) and reports usage as the API does. The
 * share is cache-read input tokens over all input tokens (input + cache write + cache read):
 * - one 30-turn conversation;
 * - a 30-turn conversation compacted after turn 15 (the fake reports a near-full context once);
 * - the agents of one phase started together (6 tasks, one domain): their first requests, where
 *   only a prefix shared between tasks (tools, the specialist's system prompt) can be read.
 * Agents run in the bench process (MockActivityEnvironment); token counts are characters / 4.
 */
import { compactionLimit } from '../../src/activities/agent/compaction';
import { agentInput, agentWorkspace, BENCH_MODEL, requestsOf, runAgentAgainst, smallRead } from '../agent-runs';
import { FakeMessagesApi, type ServedRequest } from '../fake-api/messages-api';
import { minCacheableTokens } from '../fake-api/prompt-cache';
import { figure } from '../report';
import type { Scenario } from './scenario';

const TURNS = 30;
const PARALLEL = 6;

function share(reqs: ServedRequest[]) {
  const sum = (k: 'input_tokens' | 'cache_creation_input_tokens' | 'cache_read_input_tokens') =>
    reqs.reduce((n, r) => n + r.usage[k], 0);
  const read = sum('cache_read_input_tokens');
  const written = sum('cache_creation_input_tokens');
  const input = sum('input_tokens');
  return { requests: reqs.length, read, written, input, share: read / (read + written + input) };
}

export const cache: Scenario = {
  name: 'cache',
  uses: [],
  async run({ env, runId, log }) {
    const epic = `bench-cache-${runId}`;
    const ws = () => agentWorkspace(env.workspace(`${epic}-${Math.random().toString(36).slice(2, 8)}`));
    const rule = { turns: TURNS, toolCall: smallRead, turnText: 'Reading the next part.' };

    // One conversation.
    const plain = await FakeMessagesApi.start({ rule });
    const one = agentInput(ws(), { epic, plan: 'one', task: '1.1' });
    let conversation;
    try {
      await runAgentAgainst(plain, one);
      conversation = share(requestsOf(plain, one));
    } finally {
      await plain.close();
    }
    log(`  ${TURNS}-turn conversation: ${(conversation.share * 100).toFixed(1)} % of input tokens read from cache`);

    // Compacted halfway.
    const compacting = await FakeMessagesApi.start({
      rule: { ...rule, compactAfterTurn: { turn: TURNS / 2, reportTokens: compactionLimit(BENCH_MODEL) } },
    });
    const two = agentInput(ws(), { epic, plan: 'compacted', task: '1.1' });
    let compacted;
    try {
      const { details } = await runAgentAgainst(compacting, two);
      if (details.compactions.length !== 1)
        throw new Error(`cache: expected one compaction, the agent made ${details.compactions.length}`);
      const reqs = requestsOf(compacting, two);
      const at = reqs.findIndex((r) => r.purpose === 'compaction');
      compacted = {
        ...share(reqs),
        compactionRequest: share([reqs[at]]),
        firstAfter: share([reqs[at + 1]]),
        after: share(reqs.slice(at + 1)),
      };
    } finally {
      await compacting.close();
    }
    log(
      `  with a compaction after turn ${TURNS / 2}: ${(compacted.share * 100).toFixed(1)} % overall; the compaction call ${(compacted.compactionRequest.share * 100).toFixed(1)} %, the first request after it ${(compacted.firstAfter.share * 100).toFixed(1)} %`,
    );

    // One phase's agents at once.
    const phase = await FakeMessagesApi.start({ rule: { ...rule, turns: 5 } });
    const shared = ws();
    const inputs = Array.from({ length: PARALLEL }, (_, i) =>
      agentInput(shared, { epic, plan: 'phase', task: `1.${i + 1}` }),
    );
    let parallel;
    try {
      await Promise.all(inputs.map((i) => runAgentAgainst(phase, i)));
      const firsts = inputs.map((i) => requestsOf(phase, i)[0]);
      parallel = {
        agents: PARALLEL,
        firstRequests: share(firsts),
        all: share(inputs.flatMap((i) => requestsOf(phase, i))),
      };
    } finally {
      await phase.close();
    }
    log(
      `  ${PARALLEL} agents of one phase: their first requests ${(parallel.firstRequests.share * 100).toFixed(1)} % from cache, whole conversations ${(parallel.all.share * 100).toFixed(1)} %`,
    );

    return {
      figures: [
        figure({
          key: 'cache.conversationShare',
          label: `prompt cache: share of input read, ${TURNS}-turn conversation`,
          value: conversation.share * 100,
          unit: '%',
          target: { op: '>=', value: 90 },
          basis: `cache_read / (input + cache write + cache read) over its ${conversation.requests} requests, Anthropic's rules (min ${minCacheableTokens(BENCH_MODEL)} tokens for ${BENCH_MODEL}, 4 breakpoints, 20-block lookback, 5 min TTL)`,
        }),
        figure({
          key: 'cache.compactedShare',
          label: `  same, compacted after turn ${TURNS / 2}`,
          value: compacted.share * 100,
          unit: '%',
          basis: `whole conversation with its compaction call; first request after it: ${(compacted.firstAfter.share * 100).toFixed(1)} %`,
        }),
        figure({
          key: 'cache.parallelFirstShare',
          label: `  ${PARALLEL} agents of one phase, first requests`,
          value: parallel.firstRequests.share * 100,
          unit: '%',
          basis: `cache_read share of the ${PARALLEL} first requests (only a prefix shared between tasks can be read there)`,
        }),
      ],
      details: { model: BENCH_MODEL, conversation, compacted, parallel },
    };
  },
};
