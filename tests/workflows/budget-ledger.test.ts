/**
 * Parallel agents of one phase against one budget, on the real server with the real agent
 * activity and the fake Messages API: each attempt's snapshot counts only attempts that had ended,
 * so without the phase budget ledger both agents would spend up to the whole budget each. With it,
 * one agent's next call is refused by the other's spend, the phase holds and asks for a raise, and
 * after the raise the refused task goes on from its conversation.
 */
import type { Client } from '@temporalio/client';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { DecisionRecord, PendingDecision } from '../../src/domain/decisions';
import { budgetLedgerDir, budgetLedgerKey } from '../../src/domain/paths';
import { decideUpdate, pendingQuery } from '../../src/workflows/messages';
import { FakeAnthropic, reply, type ApiUsage } from '../fake-anthropic/server';
import {
  agentEpic,
  AgentScript,
  connectClient,
  failureChain,
  ids,
  mirrors,
  runEpicInProcess,
  tempWorkspace,
  uniqueSlug,
  useFakeApi,
  type TempWorkspace,
} from '../e2e-agents/helpers';
import { activityRuns, waitFor } from '../support/worker-harness';

const usage = (input_tokens: number, output_tokens: number): Partial<ApiUsage> => ({
  input_tokens,
  output_tokens,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
});

describe('phase budget ledger (real server, real agent activity, fake Messages API)', function () {
  this.timeout(90_000);
  let client: Client;
  let fake: FakeAnthropic;
  let ws: TempWorkspace;
  let restoreEnv: () => void;

  before(async () => {
    client = await connectClient();
    fake = await FakeAnthropic.start();
    ws = await tempWorkspace();
    restoreEnv = useFakeApi(fake);
  });
  after(async () => {
    restoreEnv?.();
    await fake?.close();
    await ws?.cleanup();
    await client?.connection.close();
  });

  it("two agents in parallel stop at the phase's budget together: the second call of one is refused by the other's spend; a raise lets it go on", async () => {
    const slug = uniqueSlug('ledger');
    // Plan budget 1,000 tokens. 1.1's first call is slow (300 + 100 = 400 tokens); meanwhile 1.2
    // spends 700 and then 100 and completes (800). When 1.1's first call ends the phase has spent
    // 1,200: its second call is refused, though its own snapshot (1,000 left) allowed it.
    const script = new AgentScript(fake)
      .on(
        '1.1',
        reply.paced(
          reply.toolUse('Write', { file_path: 'a.txt', content: 'a\n' }, { id: 'toolu_l1', usage: usage(300, 100) }),
          300,
        ),
        reply.aop('Wrote a.txt.', 'success', { usage: usage(10, 10) }),
      )
      .on(
        '1.2',
        reply.toolUse('Write', { file_path: 'b.txt', content: 'b\n' }, { id: 'toolu_l2', usage: usage(600, 100) }),
        reply.aop('Wrote b.txt.', 'success', { usage: usage(50, 50) }),
      );
    const spec = agentEpic({
      slug,
      workspace: ws.dir,
      phases: [{ slug: 'only', tasks: [{ id: '1.1' }, { id: '1.2' }] }],
      settings: { decisionTimeoutSeconds: 600 },
    });
    (spec.roadmaps[0].plans[0] as any).budget = { tokens: 1000 };

    let question: PendingDecision | undefined;
    let requestsWhileWaiting = -1;
    const run = await runEpicInProcess(client, spec, `ledger-${slug}`, 60_000, async () => {
      const epic = client.workflow.getHandle(ids.epic(spec));
      question = await waitFor(
        'a budget question',
        async () => (await epic.query(pendingQuery)).find((p) => p.kind === 'budget'),
        30_000,
      );
      await new Promise((r) => setTimeout(r, 1500));
      requestsWhileWaiting = fake.messageRequests.length;
      await client.workflow.getHandle(question.workflowId).executeUpdate(decideUpdate, {
        args: [{ action: 'raise', tokens: 100_000, by: 'alice', decisionId: question.id }],
      });
    });
    assert.equal(run.error, undefined, failureChain(run.error));

    // Both agents ran side by side: 1.2 finished while 1.1's first call was still streaming.
    const [a1] = script.requests('1.1');
    assert.ok(
      script.requests('1.2').every((r) => r.req.closedAt! < a1.req.closedAt!),
      "precondition: 1.2's calls ended during 1.1's first",
    );
    assert.equal(question?.budgetLevel, 'plan');
    assert.match(
      question!.detail,
      /^limit 1,000 tokens; spent 1,200 tokens \(over by 200 tokens\)$/,
      'the question counts the spend the refused agent saw',
    );
    assert.equal(
      requestsWhileWaiting,
      3,
      "1.1's second call was refused (1 + 2 calls), and nothing started while the question waited",
    );
    assert.equal(script.requests('1.1').length, 2, 'after the raise one more call finished 1.1');
    assert.equal(
      script.requests('1.1')[1].req.body.messages.filter((m: any) => m.role === 'assistant').length,
      1,
      'the conversation went on',
    );

    // What the workflow handed each attempt: its snapshot, the phase's figure at the start, one ledger.
    const phaseId = ids.phase(spec);
    // The phase did not continue as new: its run is the first of its chain.
    const { runId } = await client.workflow.getHandle(phaseId).describe();
    const ledger = budgetLedgerKey('greeter', 'only', runId);
    const inputs = (await activityRuns(phaseId))
      .filter((r) => r.type === 'runAgentTask')
      .map((r) => [r.input.task.id, r.input.attempt, r.input.budget]);
    assert.deepEqual(inputs, [
      ['1.1', 1, { tokensLeft: 1000, phase: { ledger, tokensLeft: 1000 } }],
      ['1.2', 1, { tokensLeft: 1000, phase: { ledger, tokensLeft: 1000 } }],
      // After the raise: 100,000 for the phase, less the 1,200 already spent for the snapshot.
      ['1.1', 2, { tokensLeft: 98_800, phase: { ledger, tokensLeft: 100_000 } }],
    ]);

    // The ledger: one file per attempt, each with that attempt's own spend.
    const dir = path.join(ws.dir, budgetLedgerDir(ledger));
    const entries = Object.fromEntries(
      await Promise.all(
        (await fs.readdir(dir))
          .sort()
          .map(async (f) => [f, JSON.parse(await fs.readFile(path.join(dir, f), 'utf8')).tokens]),
      ),
    );
    assert.deepEqual(entries, { '1.1-1.json': 400, '1.1-2.json': 20, '1.2-1.json': 800 });

    // The workflow's own count is unchanged by the ledger: each task's usage once.
    const progress = await mirrors.progress(ws.dir, 'greeter');
    assert.equal(progress.status, 'completed');
    const tokens = progress.phases[0].tasks.map((t: any) => [t.id, t.usage.input_tokens + t.usage.output_tokens]);
    assert.deepEqual(tokens, [
      ['1.1', 420],
      ['1.2', 800],
    ]);
    assert.deepEqual(
      progress.decisions.map((d: DecisionRecord) => [d.kind, d.action, d.by]),
      [['budget', 'raise', 'alice']],
    );
  });
});
