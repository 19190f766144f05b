/** Usage and cost accounting, budget refusal, and compaction at 70% of the context window. */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { COMPACTION_THRESHOLD } from '../../src/activities/agent/compaction';
import { costOf, modelInfo } from '../../src/domain/models';
import { FailureTypes } from '../../src/domain/types';
import { fault, reply } from '../fake-anthropic/server';
import { mockEnv, readJson, runAgent, taskInput, useSandboxAndFake } from './helpers';

describe('usage, budget and compaction', () => {
  const rig = useSandboxAndFake();

  it('sums input, output, cache-write and cache-read tokens and prices them exactly', async () => {
    rig.fake.enqueue(
      reply.toolUse(
        'Glob',
        { pattern: '*' },
        {
          usage: {
            input_tokens: 1200,
            output_tokens: 340,
            cache_creation_input_tokens: 5000,
            cache_read_input_tokens: 0,
          },
        },
      ),
      reply.toolUse(
        'Glob',
        { pattern: '*' },
        {
          usage: {
            input_tokens: 80,
            output_tokens: 120,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 5000,
          },
        },
      ),
      reply.aop('ok', 'success', {
        usage: { input_tokens: 15, output_tokens: 60, cache_creation_input_tokens: 10, cache_read_input_tokens: 5200 },
      }),
    );
    const { result } = await runAgent(taskInput(rig.sb.workspace, { model: 'claude-haiku-4-5' }), rig.fake);
    // claude-haiku-4-5: $1 in / $5 out per MTok; cache write 1.25x, read 0.1x; each call rounded to micro-dollars.
    // call 1: 1200 + 5000*1.25 + 340*5 = 9150 → $0.00915
    // call 2: 80 + 5000*0.1 + 120*5 = 1180 → $0.00118
    // call 3: 15 + 10*1.25 + 5200*0.1 + 60*5 = 847.5 → $0.000848
    assert.deepEqual(result!.usage, {
      inputTokens: 1295,
      outputTokens: 520,
      cacheWriteTokens: 5010,
      cacheReadTokens: 10200,
      costUsd: 0.011178,
    });
    const details = await readJson(path.join(rig.sb.workspace, result!.detailsFile));
    assert.deepEqual(
      details.calls.map((c: any) => c.usage.costUsd),
      [0.00915, 0.00118, 0.000848],
    );
    assert.equal(details.calls[0].usage.costUsd, costOf('claude-haiku-4-5', details.calls[0].usage));
  });

  it('refuses the next call once the token budget is spent (the API sees no further request)', async () => {
    rig.fake.enqueue(
      reply.toolUse('Glob', { pattern: '*' }),
      reply.toolUse('Glob', { pattern: '*' }),
      reply.aop('never reached'),
    );
    // Each call: 100 in + 20 out = 120 tokens. After call 1: 120 < 150, call 2 allowed; after it 240 ≥ 150.
    const { error } = await runAgent(taskInput(rig.sb.workspace, { budget: { tokensLeft: 150 } }), rig.fake);
    assert.ok(error instanceof ApplicationFailure);
    assert.equal(error.type, FailureTypes.BudgetExhausted);
    assert.equal(error.nonRetryable, true);
    assert.match(error.message, /240 tokens spent of 150 left/);
    assert.equal(rig.fake.messageRequests.length, 2);
    assert.equal(rig.fake.pending, 1);
    assert.equal((error.details![0] as any).usage.inputTokens, 200);

    // Once the budget is raised, the next attempt continues the same conversation.
    const { result } = await runAgent(
      taskInput(rig.sb.workspace, { attempt: 2, budget: { tokensLeft: 10_000 } }),
      rig.fake,
    );
    assert.equal(result!.status, 'success');
    assert.equal(rig.fake.messageRequests[2].body.messages.length, 5);
  });

  it('refuses the first call when the dollar budget is already spent', async () => {
    rig.fake.enqueue(reply.aop('never'));
    const { error } = await runAgent(taskInput(rig.sb.workspace, { budget: { usdLeft: 0 } }), rig.fake);
    assert.equal(error.type, FailureTypes.BudgetExhausted);
    assert.equal(rig.fake.messageRequests.length, 0);
  });

  it('compacts before the next call when a turn reaches 70% of the context window', async () => {
    const window = modelInfo('claude-haiku-4-5').contextWindow;
    const limit = Math.floor(window * COMPACTION_THRESHOLD);
    rig.fake.enqueue(
      // input + cache read + cache write = limit - 1: below the threshold
      reply.toolUse(
        'Write',
        { file_path: 'a.txt', content: 'A' },
        { usage: { input_tokens: 9_999, cache_read_input_tokens: limit - 10_000 } },
      ),
      // exactly at the threshold
      reply.toolUse(
        'Write',
        { file_path: 'b.txt', content: 'B' },
        { usage: { input_tokens: 1, cache_creation_input_tokens: 9_999, cache_read_input_tokens: limit - 10_000 } },
      ),
      reply.text('<summary>Task: greeting module. Done: a.txt, b.txt. Next: finish.</summary>', {
        usage: { input_tokens: 500, output_tokens: 80 },
      }),
      reply.aop('done after compaction', 'success', { usage: { input_tokens: 700, output_tokens: 50 } }),
    );
    const { result, error } = await runAgent(taskInput(rig.sb.workspace), rig.fake);
    assert.equal(error, undefined);
    assert.equal(result!.status, 'success');

    const reqs = rig.fake.messageRequests;
    assert.equal(reqs.length, 4);
    assert.equal(reqs[1].body.tool_choice, undefined, 'no compaction below the threshold');
    const compactReq = reqs[2].body;
    assert.deepEqual(compactReq.tool_choice, { type: 'none' });
    assert.equal(compactReq.messages.length, 5);
    assert.match(JSON.stringify(compactReq.messages.at(-1).content), /continuation summary/);
    const after = reqs[3].body;
    assert.equal(after.messages.length, 1, 'a fresh conversation of [task prompt + summary]');
    const text = after.messages[0].content.map((b: any) => b.text).join('');
    assert.match(text, /Carry out task 1\.1/);
    assert.match(text, /<summary>\nTask: greeting module\. Done: a\.txt, b\.txt\. Next: finish\.\n<\/summary>/);
    assert.equal(after.tool_choice, undefined);

    const details = await readJson(path.join(rig.sb.workspace, result!.detailsFile));
    assert.equal(details.compactions.length, 1);
    assert.equal(details.compactions[0].turn, 2);
    assert.equal(details.compactions[0].tokensBefore, limit);
    assert.deepEqual(
      details.calls.map((c: any) => c.purpose),
      ['turn', 'turn', 'compaction', 'turn'],
    );
    assert.equal(result!.usage.inputTokens, 9_999 + 1 + 500 + 700, 'the compaction call is paid for too');
    assert.equal(result!.filesChanged, 2);
  });

  it('a resumed attempt continues from the compacted conversation', async () => {
    const limit = Math.floor(modelInfo('claude-haiku-4-5').contextWindow * COMPACTION_THRESHOLD);
    rig.fake.enqueue(
      reply.toolUse('Write', { file_path: 'a.txt', content: 'A' }, { usage: { input_tokens: limit } }),
      reply.text('<summary>S1</summary>'),
      fault.hang(),
    );
    const env = mockEnv();
    const pending = runAgent(taskInput(rig.sb.workspace), rig.fake, {}, env);
    await rig.fake.waitForRequests(3);
    env.cancel();
    assert.ok((await pending).error instanceof CancelledFailure);

    rig.fake.enqueue(reply.aop('done'));
    const { result } = await runAgent(taskInput(rig.sb.workspace, { attempt: 2 }), rig.fake);
    assert.equal(result!.status, 'success');
    const body = rig.fake.messageRequests[3].body;
    assert.equal(body.messages.length, 1);
    assert.match(JSON.stringify(body.messages[0].content), /S1/);
    assert.equal(rig.fake.messageRequests.length, 4, 'no second compaction, no replay');
  });
});
