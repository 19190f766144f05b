/**
 * Start time and memory of one agent task, Claude Code (the claude-code runtime) next to the tool
 * loop: each runs N one-turn tasks against the local fake Messages API, as activities (no Temporal
 * server needed). Start = activity start to the first model request at the fake; RSS = Claude
 * Code's own process (peak, from /proc), and for the tool loop, which runs inside the worker, how
 * much the worker process grew.
 *
 *   npm run bench:claude-code [-- N]      (default N = 5; needs `phaseflow runtime install claude-code`)
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runClaudeAgent } from '../src/activities/agent/agent-run';
import { runClaudeCodeAgent } from '../src/activities/agent/claude-code/claude-code-run';
import type { TaskResult, TaskRunInput } from '../src/domain/types';
import { FakeAnthropic, reply } from '../tests/fake-anthropic/server';

const KEY = 'sk-ant-bench-0123456789';
const N = Number(process.argv[2] ?? 5);

function input(workspace: string, i: number): TaskRunInput {
  return {
    ctx: {
      epicSlug: 'bench',
      epicTitle: 'Bench',
      roadmapSlug: 'r',
      planSlug: 'p',
      planTitle: 'P',
      phaseSlug: 'ph',
      phaseTitle: 'Ph',
      phaseIndex: 1,
      workspace,
    },
    task: { id: `t${i}`, description: 'Say done', kind: 'agent', domain: 'general', outputType: 'code', files: [] },
    agentMode: 'claude',
    model: 'claude-haiku-4-5',
    attempt: 1,
    maxAttempts: 1,
    timeoutMs: 120_000,
    reducedTools: false,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (b: number) => Math.round(b / 1024 / 1024);

async function main(): Promise<void> {
  const ws = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'phaseflow-bench-cc-')));
  const fake = await FakeAnthropic.start({ apiKey: KEY });
  const logger = new DefaultLogger('ERROR');
  const out: Record<string, unknown> = { n: N, cpus: os.cpus().length, node: process.version };
  try {
    for (const runtime of ['tool-loop', 'claude-code'] as const) {
      const starts: number[] = [];
      const totals: number[] = [];
      const rss: number[] = [];
      const rssBefore = process.memoryUsage().rss;
      for (let i = 0; i < N; i++) {
        fake.enqueue(reply.aop('done'));
        const before = fake.messageRequests.length;
        const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 }, { logger });
        const t0 = Date.now();
        const fn = runtime === 'claude-code' ? runClaudeCodeAgent : runClaudeAgent;
        const r: TaskResult = await env.run(
          fn,
          { ...input(ws, i), ...(runtime === 'claude-code' ? { runtime: 'claude-code' as const } : {}) },
          {
            apiKey: KEY,
            baseURL: fake.baseURL,
            env: { PATH: process.env.PATH },
          },
        );
        totals.push(Date.now() - t0);
        starts.push(fake.messageRequests[before].receivedAt - t0);
        if (runtime === 'claude-code') {
          const d = JSON.parse(await fs.readFile(path.join(ws, r.detailsFile), 'utf8'));
          rss.push(d.runtime.peakRssBytes ?? 0);
        }
      }
      out[runtime] = {
        startMsMedian: median(starts),
        startMs: starts,
        taskMsMedian: median(totals),
        ...(runtime === 'claude-code'
          ? { peakRssMbMedian: mb(median(rss)), peakRssMb: rss.map(mb) }
          : {
              workerRssGrowthMb: mb(process.memoryUsage().rss - rssBefore),
              workerRssMb: mb(process.memoryUsage().rss),
            }),
      };
    }
  } finally {
    await fake.close();
    await fs.rm(ws, { recursive: true, force: true });
  }
  console.log(JSON.stringify(out, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
