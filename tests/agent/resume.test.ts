/**
 * Durability: the conversation lives in the transcript, so an attempt that was cut off
 * (crash, cancellation, time limit) is continued by the next one without repeating turns,
 * while a conversation that ended in failure is not replayed.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { transcriptPath } from '../../src/domain/paths';
import { FailureTypes } from '../../src/domain/types';
import { fault, FakeAnthropic, reply } from '../fake-anthropic/server';
import { makeSandbox, mockEnv, readJson, runAgent, taskInput, TEST_KEY, toolResults, type Sandbox } from './helpers';

describe('resume from the transcript', () => {
  let sb: Sandbox;
  let fake: FakeAnthropic;
  let transcript: string;
  beforeEach(async () => {
    sb = await makeSandbox();
    fake = await FakeAnthropic.start({ apiKey: TEST_KEY });
    transcript = path.join(sb.workspace, transcriptPath('checkout', '1.1'));
  });
  afterEach(async () => {
    await fake.close();
    await sb.cleanup();
  });

  const turn1 = () =>
    reply.toolUse(
      'Write',
      { file_path: 'a.txt', content: 'A' },
      { id: 'toolu_t1', usage: { input_tokens: 1000, output_tokens: 100 } },
    );
  const turn2 = () =>
    reply.toolUse(
      'Write',
      { file_path: 'b.txt', content: 'B' },
      { id: 'toolu_t2', usage: { input_tokens: 2000, output_tokens: 200 } },
    );

  /** Attempt 1: two turns complete, the third hangs and the activity is cancelled mid-request. */
  async function attemptOneCancelledAtTurn3(): Promise<void> {
    fake.enqueue(turn1(), turn2(), fault.hang());
    const env = mockEnv();
    const pending = runAgent(taskInput(sb.workspace), fake, {}, env);
    await fake.waitForRequests(3);
    env.cancel();
    const { error } = await pending;
    assert.ok(error instanceof CancelledFailure, String(error));
  }

  function assertContinues(body: any) {
    const msgs = body.messages;
    assert.equal(msgs.length, 5, JSON.stringify(msgs.map((m: any) => m.role)));
    assert.deepEqual(
      msgs.map((m: any) => m.role),
      ['user', 'assistant', 'user', 'assistant', 'user'],
    );
    assert.equal(msgs[1].content[0].id, 'toolu_t1');
    assert.equal(toolResultsOf(msgs[2])[0].tool_use_id, 'toolu_t1');
    assert.equal(msgs[3].content[0].id, 'toolu_t2');
    assert.equal(toolResultsOf(msgs[4])[0].tool_use_id, 'toolu_t2');
  }

  it('after a cancellation mid-conversation, attempt 2 continues at turn 3 without repeating turns 1-2', async () => {
    await attemptOneCancelledAtTurn3();
    assert.equal(fake.messageRequests.length, 3);

    fake.enqueue(reply.aop('wrote a.txt and b.txt', 'success', { usage: { input_tokens: 3000, output_tokens: 300 } }));
    const input = taskInput(sb.workspace, { attempt: 2, reducedTools: true, previousFailure: 'Cancelled' });
    const { result, error } = await runAgent(input, fake);
    assert.equal(error, undefined);
    assert.equal(result!.status, 'success');

    const reqs = fake.messageRequests;
    assert.equal(reqs.length, 4, 'one new request: turns 1-2 were not requested again');
    assertContinues(reqs[3].body);
    // The turn-3 request of attempt 1 (which hung) and attempt 2's request carry the same history.
    assert.deepEqual(reqs[3].body.messages.slice(0, 4), reqs[2].body.messages.slice(0, 4));
    // The model is told why it is resumed and what changed.
    const note = JSON.stringify(reqs[3].body.messages[4].content);
    assert.match(note, /interrupted and is resumed here/);
    assert.match(note, /only the Read and Write tools/);

    assert.equal(result!.filesChanged, 2, 'files of the interrupted attempt count too');
    // Attempt 1 ended with a cancellation, which is not a report: its usage is not carried.
    assert.equal(result!.usage.inputTokens, 3000);
    const details = await readJson(path.join(sb.workspace, result!.detailsFile));
    assert.equal(details.conversation.mode, 'resumed');
    assert.equal(details.conversation.resumedAtTurn, 2);
    assert.match(details.conversation.reason, /attempt 1 was interrupted/);
  });

  it('after a worker crash (no end record), attempt 2 resumes and reports the unreported usage', async () => {
    await attemptOneCancelledAtTurn3();
    // A crash leaves no end record: drop it.
    const lines = (await fs.readFile(transcript, 'utf8')).trim().split('\n');
    assert.equal(JSON.parse(lines.at(-1)!).type, 'end');
    await fs.writeFile(transcript, `${lines.slice(0, -1).join('\n')}\n{"type":"turn","attem`); // and a torn write

    fake.enqueue(reply.aop('done', 'success', { usage: { input_tokens: 3000, output_tokens: 300 } }));
    const { result, error } = await runAgent(taskInput(sb.workspace, { attempt: 2 }), fake);
    assert.equal(error, undefined);
    assert.equal(fake.messageRequests.length, 4);
    assertContinues(fake.messageRequests[3].body);
    assert.equal(result!.usage.inputTokens, 1000 + 2000 + 3000);
    assert.equal(result!.usage.outputTokens, 100 + 200 + 300);
    const details = await readJson(path.join(sb.workspace, result!.detailsFile));
    assert.match(details.conversation.reason, /worker likely died/);
    assert.equal(details.carriedUsage.inputTokens, 3000);
  });

  it("two crashes in a row: the third attempt still reports the first attempt's usage", async () => {
    const dropEndRecord = async () => {
      const lines = (await fs.readFile(transcript, 'utf8')).trim().split('\n');
      assert.equal(JSON.parse(lines.at(-1)!).type, 'end');
      await fs.writeFile(transcript, `${lines.slice(0, -1).join('\n')}\n`);
    };
    await attemptOneCancelledAtTurn3();
    await dropEndRecord(); // attempt 1 "crashed" after turns 1-2 (3000 input tokens)

    const turn3 = reply.toolUse(
      'Write',
      { file_path: 'c.txt', content: 'C' },
      { id: 'toolu_t3', usage: { input_tokens: 4000, output_tokens: 400 } },
    );
    fake.enqueue(turn3, fault.hang());
    const env = mockEnv();
    const pending = runAgent(taskInput(sb.workspace, { attempt: 2 }), fake, {}, env);
    await fake.waitForRequests(5);
    env.cancel();
    assert.ok((await pending).error instanceof CancelledFailure);
    await dropEndRecord(); // attempt 2 "crashed" too, after its own turn

    fake.enqueue(reply.aop('done', 'success', { usage: { input_tokens: 5000, output_tokens: 500 } }));
    const { result } = await runAgent(taskInput(sb.workspace, { attempt: 3 }), fake);
    assert.equal(result!.usage.inputTokens, 1000 + 2000 + 4000 + 5000);
    assert.equal(result!.usage.outputTokens, 100 + 200 + 400 + 500);
  });

  it('a crash after the final reply was recorded finishes from the transcript without calling the API', async () => {
    fake.enqueue(turn1(), reply.aop('all done'));
    const first = await runAgent(taskInput(sb.workspace), fake);
    assert.equal(first.result!.status, 'success');
    const lines = (await fs.readFile(transcript, 'utf8')).trim().split('\n');
    await fs.writeFile(transcript, `${lines.slice(0, -1).join('\n')}\n`);

    const { result } = await runAgent(taskInput(sb.workspace, { attempt: 2 }), fake);
    assert.equal(result!.status, 'success');
    assert.equal(result!.summary, 'all done');
    assert.equal(fake.messageRequests.length, 2);
  });

  it('the attempt time limit stops a long tool, fails retryable, and the next attempt resumes', async () => {
    fake.enqueue(turn1(), reply.toolUse('Bash', { command: 'sleep 30; echo never' }, { id: 'toolu_sleep' }));
    const t0 = Date.now();
    const { error } = await runAgent(taskInput(sb.workspace, { timeoutMs: 1_500 }), fake);
    assert.ok(error instanceof ApplicationFailure);
    assert.equal(error.type, FailureTypes.Transient);
    assert.match(error.message, /attempt time limit \(1500 ms\)/);
    assert.ok(Date.now() - t0 < 5_000, 'the sleeping shell was killed');

    fake.enqueue(reply.aop('done'));
    const { result } = await runAgent(
      taskInput(sb.workspace, { attempt: 2, previousFailure: 'timeout', reducedTools: true }),
      fake,
    );
    assert.equal(result!.status, 'success');
    const last = fake.messageRequests.at(-1)!.body;
    assert.equal(last.messages.length, 5);
    const [sleep] = toolResults(last);
    assert.equal(sleep.tool_use_id, 'toolu_sleep');
    assert.equal(sleep.is_error, true);
    // Either the attempt deadline aborted the tool or the tool's own limit (capped by it) fired first.
    assert.match(sleep.content, /aborted|timed out/);
  });

  it('a conversation that failed (turn limit) is not replayed: the retry starts fresh and says why', async () => {
    fake.enqueue(turn1(), turn2());
    const first = await runAgent(taskInput(sb.workspace), fake, { maxTurns: 2 });
    assert.equal(first.result!.status, 'failure');

    fake.enqueue(reply.aop('done'));
    const input = taskInput(sb.workspace, { attempt: 2, reducedTools: true, previousFailure: 'turn limit reached' });
    const { result } = await runAgent(input, fake);
    assert.equal(result!.status, 'success');
    const body = fake.messageRequests.at(-1)!.body;
    assert.equal(body.messages.length, 1, 'fresh conversation');
    assert.match(JSON.stringify(body.messages[0].content), /previous attempt did not succeed: turn limit reached/);
    const details = await readJson(path.join(sb.workspace, result!.detailsFile));
    assert.equal(details.conversation.mode, 'fresh');
    assert.match(
      details.conversation.reason,
      /attempt 1 failed \(turn limit \(2\) reached\); starting a fresh conversation/,
    );
  });

  it('a conversation ended by a permanent API error is not replayed either', async () => {
    fake.enqueue(turn1(), fault.badRequest('bad tool schema'));
    const first = await runAgent(taskInput(sb.workspace), fake);
    assert.equal(first.error.type, FailureTypes.Permanent);
    fake.enqueue(reply.aop('done'));
    await runAgent(taskInput(sb.workspace, { attempt: 2, reducedTools: true, previousFailure: 'Permanent' }), fake);
    assert.equal(fake.messageRequests.at(-1)!.body.messages.length, 1);
  });

  it('a transient API error mid-conversation resumes on the next attempt', async () => {
    fake.enqueue(turn1(), fault.overloaded());
    const first = await runAgent(taskInput(sb.workspace), fake);
    assert.equal(first.error.type, FailureTypes.Transient);
    fake.enqueue(reply.aop('done'));
    const { result } = await runAgent(
      taskInput(sb.workspace, { attempt: 2, reducedTools: true, previousFailure: 'overloaded' }),
      fake,
    );
    assert.equal(result!.status, 'success');
    assert.equal(fake.messageRequests.length, 3);
    assert.equal(fake.messageRequests[2].body.messages.length, 3);
  });
});

function toolResultsOf(msg: any): any[] {
  return msg.content.filter((b: any) => b.type === 'tool_result');
}
