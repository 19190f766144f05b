/** Each API fault is classified for Temporal: retryable (with the server's delay) or not. */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FailureTypes } from '../../src/domain/types';
import { fault, FakeAnthropic, reply, type FakeStep } from '../fake-anthropic/server';
import { mockEnv, runAgent, taskInput, TEST_KEY, toolResults, useSandboxAndFake } from './helpers';

describe('API faults', () => {
  const rig = useSandboxAndFake();

  async function failWith(step: FakeStep, opts = {}): Promise<ApplicationFailure> {
    rig.fake.enqueue(step);
    const { result, error } = await runAgent(taskInput(rig.sb.workspace), rig.fake, opts);
    assert.equal(result, undefined);
    assert.ok(error instanceof ApplicationFailure, `expected an ApplicationFailure, got ${error}`);
    assert.ok(!error.message.includes(TEST_KEY), 'the key never appears in a message');
    assert.ok(!JSON.stringify(error.details).includes(TEST_KEY));
    return error;
  }

  function assertTransient(f: ApplicationFailure) {
    assert.equal(f.type, FailureTypes.Transient, f.message);
    assert.equal(f.nonRetryable, false);
  }

  function assertPermanent(f: ApplicationFailure) {
    assert.equal(f.type, FailureTypes.Permanent, f.message);
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /task 1\.1 attempt 1 \(epic shop \/ plan checkout \/ phase api\), model claude-haiku-4-5/);
  }

  it('429 with retry-after → retryable, nextRetryDelay from the header', async () => {
    const f = await failWith(fault.rateLimited(7));
    assertTransient(f);
    assert.equal(f.nextRetryDelay, 7_000);
    assert.match(f.message, /429 rate_limit_error/);
    assert.equal(rig.fake.messageRequests.length, 1, 'the SDK does not retry by itself');
  });

  it('retry-after-ms wins over retry-after', async () => {
    const f = await failWith(
      fault.error(529, 'overloaded_error', 'Overloaded', { 'retry-after-ms': '1500', 'retry-after': '9' }),
    );
    assertTransient(f);
    assert.equal(f.nextRetryDelay, 1_500);
  });

  it('500 and 529 → retryable', async () => {
    assertTransient(await failWith(fault.serverError()));
    const f = await failWith(fault.overloaded());
    assertTransient(f);
    assert.match(f.message, /529 overloaded_error/);
    assert.equal(f.nextRetryDelay, undefined);
  });

  it('overloaded_error in the middle of the stream → retryable', async () => {
    const f = await failWith(fault.streamOverloaded());
    assertTransient(f);
    assert.match(f.message, /overloaded_error/);
  });

  it('400 → non-retryable, saying which task, attempt and model, and what the API said', async () => {
    const f = await failWith(fault.badRequest('max_tokens: must be at most 64000'));
    assertPermanent(f);
    assert.match(f.message, /400 invalid_request_error: max_tokens: must be at most 64000/);
  });

  it('401 → non-retryable, and the key is redacted even if the API echoes it', async () => {
    const f = await failWith(fault.error(401, 'authentication_error', `invalid x-api-key: ${TEST_KEY}`));
    assertPermanent(f);
    assert.match(f.message, /401 authentication_error/);
  });

  it('a wrong key gets a 401 from the fake → non-retryable', async () => {
    rig.fake.enqueue(reply.aop('never'));
    const { error } = await runAgent(taskInput(rig.sb.workspace), rig.fake, { apiKey: 'sk-ant-wrong' });
    assertPermanent(error);
    assert.ok(!error.message.includes('sk-ant-wrong'));
  });

  it('403, 404, 413, 422 → non-retryable', async () => {
    for (const [status, type] of [
      [403, 'permission_error'],
      [404, 'not_found_error'],
      [413, 'request_too_large'],
      [422, 'invalid_request_error'],
    ] as const) {
      assertPermanent(await failWith(fault.error(status, type, `status ${status}`)));
    }
  });

  it('spend-limit 429 → non-retryable', async () => {
    const f = await failWith(
      fault.error(429, 'rate_limit_error', 'You have reached your monthly spend limit', { 'retry-after': '60' }),
    );
    assertPermanent(f);
    assert.match(f.message, /spend\/billing limit/);
  });

  it('408 and 409 → retryable', async () => {
    assertTransient(await failWith(fault.error(408, 'timeout_error', 'Request timeout')));
    assertTransient(await failWith(fault.error(409, 'conflict_error', 'Conflict')));
  });

  it('a hang longer than the request timeout → timeout → retryable', async () => {
    const t0 = Date.now();
    const f = await failWith(fault.hang(), { requestTimeoutMs: 400 });
    assertTransient(f);
    assert.match(f.message, /timed out/);
    assert.ok(Date.now() - t0 < 5_000);
  });

  it('a stream that stalls after it started → stall timeout → retryable', async () => {
    const t0 = Date.now();
    const f = await failWith(fault.stallMidStream(), { requestTimeoutMs: 400 });
    assertTransient(f);
    assert.match(f.message, /stalled \(no data for 400 ms\)/);
    assert.ok(Date.now() - t0 < 5_000);
  });

  it('the attempt time limit aborts a model call in flight → retryable', async () => {
    rig.fake.enqueue(fault.hang());
    const t0 = Date.now();
    const { error } = await runAgent(taskInput(rig.sb.workspace, { timeoutMs: 1_000 }), rig.fake);
    assertTransient(error);
    assert.match(error.message, /attempt time limit \(1000 ms\) reached during a model call/);
    assert.ok(Date.now() - t0 < 3_000);
  });

  it('a dropped connection → retryable', async () => {
    assertTransient(await failWith(fault.drop()));
  });

  it('a connection cut mid-stream → retryable', async () => {
    assertTransient(await failWith(fault.dropMidStream()));
  });

  it('nothing listening → retryable', async () => {
    const port = new URL(rig.fake.baseURL).port;
    await rig.fake.close();
    const { error } = await runAgent(taskInput(rig.sb.workspace), rig.fake, { baseURL: `http://127.0.0.1:${port}` });
    assertTransient(error);
    rig.fake = await FakeAnthropic.start({ apiKey: TEST_KEY });
  });

  it('malformed tool input → is_error tool result, the loop continues', async () => {
    rig.fake.enqueue(
      reply.toolUses([
        { name: 'Write', input: { file_path: 42, content: 'x' } },
        { name: 'Edit', input: { file_path: 'a.txt', old_string: 'a' } },
        { name: 'Read', input: 'not an object' },
        { name: 'Bash', input: { command: 'true', timeout: 'soon' } },
        { name: 'NoSuchTool', input: {} },
      ]),
      reply.aop('recovered'),
    );
    const { result, error } = await runAgent(taskInput(rig.sb.workspace), rig.fake);
    assert.equal(error, undefined);
    assert.equal(result!.status, 'success');
    const results = toolResults(rig.fake.messageRequests[1].body);
    assert.equal(results.length, 5);
    for (const r of results) assert.equal(r.is_error, true, r.content);
    assert.match(results[0].content, /invalid input for Write: file_path/);
    assert.match(results[1].content, /invalid input for Edit: new_string/);
    assert.match(results[2].content, /invalid input for Read/);
    assert.match(results[3].content, /invalid input for Bash: timeout/);
    assert.match(results[4].content, /unknown tool "NoSuchTool"/);
  });

  it('a fault after some turns carries usage so far and leaves the transcript resumable', async () => {
    rig.fake.enqueue(
      reply.toolUse('Glob', { pattern: '*' }, { usage: { input_tokens: 1000, output_tokens: 50 } }),
      fault.overloaded(),
    );
    const { error } = await runAgent(taskInput(rig.sb.workspace), rig.fake);
    assertTransient(error);
    assert.equal(error.details[0].usage.inputTokens, 1000);
    assert.equal(error.details[0].detailsFile, '.claude/cache/agent-outputs/checkout--1.1-1.json');
    const transcript = await fs.readFile(
      path.join(rig.sb.workspace, '.claude/cache/transcripts/checkout--1.1.jsonl'),
      'utf8',
    );
    const end = JSON.parse(transcript.trim().split('\n').at(-1)!);
    assert.equal(end.type, 'end');
    assert.equal(end.outcome, 'interrupted');
  });

  it('no API key → non-retryable before any request', async () => {
    rig.fake.enqueue(reply.aop('never'));
    const { error } = await runAgent(taskInput(rig.sb.workspace), rig.fake, { apiKey: undefined, env: {} });
    assertPermanent(error);
    assert.match(error.message, /ANTHROPIC_API_KEY/);
    assert.equal(rig.fake.messageRequests.length, 0);
  });

  it('key and endpoint come from ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL', async () => {
    rig.fake.enqueue(reply.aop('ok'));
    const { result, error } = await runAgent(taskInput(rig.sb.workspace), rig.fake, {
      apiKey: undefined,
      baseURL: undefined,
      env: { ANTHROPIC_API_KEY: TEST_KEY, ANTHROPIC_BASE_URL: rig.fake.baseURL },
    });
    assert.equal(error, undefined);
    assert.equal(result!.status, 'success');
  });

  it('cancellation aborts the in-flight request and ends with CancelledFailure', async () => {
    rig.fake.enqueue(fault.hang());
    const env = mockEnv();
    const pending = runAgent(taskInput(rig.sb.workspace), rig.fake, {}, env);
    await rig.fake.waitForRequests(1);
    const t0 = Date.now();
    env.cancel();
    const { error } = await pending;
    assert.ok(error instanceof CancelledFailure, String(error));
    assert.ok(Date.now() - t0 < 2_000, 'the request was aborted, not waited out');
  });
});
