/**
 * The phase budget ledger: attempts running in parallel in one phase see each other's spend
 * before each model call, so together they stop at what the phase had left; the reader sums the
 * ledger exactly and leaves out (with a warning) a file it cannot read.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readLedger, writeLedgerEntry } from '../../src/activities/agent/budget-ledger';
import { budgetLedgerDir, budgetLedgerFile, budgetLedgerKey } from '../../src/domain/paths';
import { FailureTypes, type Usage } from '../../src/domain/types';
import { reply, type ApiUsage } from '../fake-anthropic/server';
import { AgentScript } from '../e2e-agents/helpers';
import { readJson, runAgent, taskInput, useSandboxAndFake } from './helpers';

const usage = (input_tokens: number, output_tokens: number): Partial<ApiUsage> => ({
  input_tokens,
  output_tokens,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
});
const KEY = budgetLedgerKey('checkout', 'api', '0f1e2d3c-run');

describe('phase budget ledger', () => {
  const rig = useSandboxAndFake();

  it('two parallel attempts of one phase: the second call of one is refused because the other spent the phase budget', async () => {
    // Each attempt's own snapshot allows the whole phase budget (1,000 tokens); the ledger is shared.
    const phase = { ledger: KEY, tokensLeft: 1000 };
    // 1.1: a slow first call of 300 + 100 = 400 tokens. 1.2 meanwhile: 600 + 100 = 700, then its
    // final reply, 50 + 50 = 100: 800 in all. When 1.1's first call ends, the phase has spent 1,200.
    const script = new AgentScript(rig.fake)
      .on(
        '1.1',
        reply.paced(reply.toolUse('Glob', { pattern: '*' }, { usage: usage(300, 100) }), 150),
        reply.aop('never reached', 'success', { usage: usage(1, 1) }),
      )
      .on(
        '1.2',
        reply.toolUse('Glob', { pattern: '*' }, { usage: usage(600, 100) }),
        reply.aop('Done.', 'success', { usage: usage(50, 50) }),
      );
    const input = (id: string) => taskInput(rig.sb.workspace, { task: { id }, budget: { tokensLeft: 1000, phase } });
    const [a, b] = await Promise.all([runAgent(input('1.1'), rig.fake), runAgent(input('1.2'), rig.fake)]);

    // The two really ran side by side: 1.2's calls both ended while 1.1's first was streaming.
    const [a1] = script.requests('1.1');
    assert.ok(
      script
        .requests('1.2')
        .every((r) => r.req.receivedAt > a1.req.receivedAt - 500 && r.req.closedAt! < a1.req.closedAt!),
      "precondition: 1.2 ran during 1.1's first call",
    );

    assert.equal(b.result?.status, 'success');
    assert.equal(b.result!.usage.inputTokens + b.result!.usage.outputTokens, 800);
    assert.ok(a.error instanceof ApplicationFailure, `1.1 should be refused, got ${a.result?.status}`);
    assert.equal(a.error.type, FailureTypes.BudgetExhausted);
    assert.equal(a.error.nonRetryable, true);
    assert.match(
      a.error.message,
      /the phase's parallel spend: 1200 tokens spent by the 2 agent attempt\(s\) of phase api so far \(this one included\), of 1000 left when the phase started/,
    );
    const details = a.error.details![0] as any;
    // claude-haiku-4-5 ($1 in / $5 out per MTok): 1.1 $0.0008, 1.2 $0.0011 + $0.0003.
    assert.deepEqual(details.phaseSpent, { tokens: 1200, costUsd: 0.0022, attempts: 2 });
    assert.equal(
      details.usage.inputTokens + details.usage.outputTokens,
      400,
      'its own spend (400) was below its own snapshot (1,000)',
    );
    assert.equal(script.requests('1.1').length, 1, 'the API saw no second call from 1.1');
    assert.equal(script.left('1.1'), 1);
    assert.equal(rig.fake.messageRequests.length, 3);

    // One file per attempt, each with its own cumulative spend.
    const dir = path.join(rig.sb.workspace, budgetLedgerDir(KEY));
    assert.deepEqual((await fs.readdir(dir)).sort(), ['1.1-1.json', '1.2-1.json']);
    assert.equal((await readJson(path.join(dir, '1.1-1.json'))).tokens, 400);
    assert.equal((await readJson(path.join(dir, '1.2-1.json'))).tokens, 800);
    assert.deepEqual(await readLedger(rig.sb.workspace, KEY), {
      tokens: 1200,
      costUsd: 0.0022,
      entries: 2,
      skipped: [],
    });

    // A raise (a new phase figure) lets 1.1's next attempt go on; it records its spend in its own file.
    const { result } = await runAgent(
      taskInput(rig.sb.workspace, {
        task: { id: '1.1' },
        attempt: 2,
        budget: { tokensLeft: 10_000, phase: { ledger: KEY, tokensLeft: 10_000 } },
      }),
      rig.fake,
    );
    assert.equal(result?.status, 'success');
    assert.equal(
      (await readJson(path.join(dir, '1.1-2.json'))).tokens,
      2,
      "attempt 2 holds its own call only, not attempt 1's",
    );
    assert.equal((await readLedger(rig.sb.workspace, KEY)).tokens, 1202);
  });

  it("an unreadable ledger file is left out with one warning; the attempt's own snapshot still refuses", async () => {
    const dir = path.join(rig.sb.workspace, budgetLedgerDir(KEY));
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, '2.1-1.json'), '{"tokens": 5');
    rig.fake.enqueue(
      reply.toolUse('Glob', { pattern: '*' }),
      reply.toolUse('Glob', { pattern: '*' }),
      reply.aop('never reached'),
    );
    const logs: LogEntry[] = [];
    const env = new MockActivityEnvironment(
      { heartbeatTimeoutMs: 3_000 },
      { logger: new DefaultLogger('WARN', (e) => logs.push(e)) },
    );
    // Each call: 100 in + 20 out. The phase allows plenty; the snapshot allows 150: refused at call 3.
    const { error } = await runAgent(
      taskInput(rig.sb.workspace, { budget: { tokensLeft: 150, phase: { ledger: KEY, tokensLeft: 1_000_000 } } }),
      rig.fake,
      {},
      env,
    );
    assert.equal(error?.type, FailureTypes.BudgetExhausted);
    assert.match(error.message, /budget exhausted \(240 tokens spent of 150 left\)/);
    assert.equal(rig.fake.messageRequests.length, 2);
    const warnings = logs.filter((l) => l.level === 'WARN' && /budget ledger/.test(l.message));
    assert.equal(warnings.length, 1, 'warned once, not before every call');
    assert.equal(warnings[0].meta?.file, `${budgetLedgerDir(KEY)}/2.1-1.json`);
    // Its own entry was still written, and counts.
    assert.equal((await readJson(path.join(rig.sb.workspace, budgetLedgerFile(KEY, '1.1', 1)))).tokens, 240);
  });

  it('the reader sums the entries exactly and skips corrupt files, temp files and other names', async () => {
    const ws = rig.sb.workspace;
    const u = (input: number, output: number, costUsd: number): Usage => ({
      inputTokens: input,
      outputTokens: output,
      cacheWriteTokens: 0,
      cacheReadTokens: 0,
      costUsd,
    });
    assert.deepEqual(
      await readLedger(ws, KEY),
      { tokens: 0, costUsd: 0, entries: 0, skipped: [] },
      'no ledger yet: nothing spent',
    );
    await writeLedgerEntry(ws, KEY, '1.1', 1, u(100, 20, 0.0001));
    await writeLedgerEntry(ws, KEY, '1.1', 2, u(3, 0, 0.000002));
    await writeLedgerEntry(ws, KEY, '1.2', 1, u(50, 5, 0.1)); // replaced below: the last write wins
    await writeLedgerEntry(ws, KEY, '1.2', 1, u(1000, 1, 0.3));
    const dir = path.join(ws, budgetLedgerDir(KEY));
    await fs.writeFile(path.join(dir, '1.3-1.json'), '{"tokens": 10, "costUsd": ');
    await fs.writeFile(path.join(dir, '1.4-1.json'), JSON.stringify({ tokens: -5, costUsd: 0 }));
    await fs.writeFile(path.join(dir, '.1.5-1.json.123.abcd.tmp'), '{"tokens": 7, "costUsd": 7}');
    await fs.writeFile(path.join(dir, 'notes.txt'), '{"tokens": 7, "costUsd": 7}');
    const sum = await readLedger(ws, KEY);
    assert.deepEqual(
      { ...sum, skipped: sum.skipped.map((s) => s.file) },
      {
        tokens: 120 + 3 + 1001,
        costUsd: 0.300102,
        entries: 3,
        skipped: [`${budgetLedgerDir(KEY)}/1.3-1.json`, `${budgetLedgerDir(KEY)}/1.4-1.json`],
      },
    );
    assert.match(sum.skipped[1].reason, /non-negative numbers/);
    // The caller's own entry can be left out (it counts itself from memory).
    assert.equal((await readLedger(ws, KEY, budgetLedgerFile(KEY, '1.2', 1))).tokens, 123);
    assert.throws(() => budgetLedgerDir('../escape'), /not a plain file name/);
    assert.equal(budgetLedgerKey('plan', 'phase', 'a/b c'), 'plan--phase--a_b_c');
  });
});
