/**
 * API weather inside one attempt (the activity in a MockActivityEnvironment, the real SDK against
 * the fake Messages API): 429, 529, 5xx and dropped connections are waited out with the same
 * conversation and toolset; the wait moves the attempt's deadline; a ceiling escalates; the
 * agents of one worker share one limiter.
 */
import { ApplicationFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import { ApiLimiter, rateLimitResetMs, weatherWaitMs } from '../../src/activities/agent/api-weather';
import { FailureTypes } from '../../src/domain/types';
import { fault, reply } from '../fake-anthropic/server';
import { readJson, runAgent, taskInput, useSandboxAndFake } from './helpers';
import * as path from 'node:path';

const ALL_TOOLS = ['Bash', 'Edit', 'Glob', 'Grep', 'Read', 'Write'];
const API = { outageMs: 30_000, maxConcurrentRequests: 8 };

function toolNames(body: any): string[] {
  return (body.tools as { name: string }[]).map((t) => t.name).sort();
}

describe('API weather inside an attempt', function () {
  this.timeout(60_000);
  const rig = useSandboxAndFake();

  it('a 529 then a 429 (retry-after 1): the same attempt goes on with all six tools and the same conversation', async () => {
    rig.fake.enqueue(
      reply.toolUse('Write', { file_path: 'a.txt', content: 'one\n' }, { id: 'toolu_w1' }),
      fault.overloaded(),
      fault.rateLimited(1),
      reply.toolUse('Edit', { file_path: 'a.txt', old_string: 'one', new_string: 'two' }, { id: 'toolu_e1' }),
      reply.aop('Wrote and edited a.txt through API weather.'),
    );
    const limiter = new ApiLimiter();
    const { result, error, heartbeats } = await runAgent(taskInput(rig.sb.workspace, { api: API }), rig.fake, {
      limiter,
    });
    assert.equal(error, undefined, String(error));
    assert.equal(result!.status, 'success');
    assert.equal(result!.attempt, 1);
    assert.equal(result!.apiRetries, 2);
    assert.ok(result!.apiWaitMs! >= 1_000, `waited ${result!.apiWaitMs} ms`);
    const reqs = rig.fake.messageRequests;
    assert.equal(reqs.length, 5);
    for (const r of reqs) assert.deepEqual(toolNames(r.body), ALL_TOOLS, `request ${r.index} offered all tools`);
    // The requests after the faults repeat turn 2 exactly: same conversation, no note, no new turn.
    assert.deepEqual(reqs[2].body.messages, reqs[1].body.messages);
    assert.deepEqual(reqs[3].body.messages, reqs[1].body.messages);
    assert.ok(reqs[3].receivedAt - reqs[2].receivedAt >= 1_000, 'the 429 retry-after was kept');
    assert.deepEqual(
      rig.fake.requestsInsideRetryAfter().map((v) => ({
        request: v.request.index,
        window: v.window.index,
        msAfterAnswer: v.request.receivedAt - v.window.respondedAt!,
      })),
      [],
    );
    // While it waited, the heartbeats said so.
    assert.ok(
      heartbeats.some((h: any) => /529 overloaded_error|429 rate_limit_error/.test(h.waiting?.what ?? '')),
      JSON.stringify(heartbeats),
    );
    const details = await readJson(path.join(rig.sb.workspace, result!.detailsFile));
    assert.equal(details.api.retries, 2);
    assert.deepEqual(
      details.api.waits.map((w: any) => [w.what, w.from]),
      [
        ['529 overloaded_error', 'backoff'],
        ['429 rate_limit_error', 'retry-after'],
      ],
    );
  });

  it('dropped connections, a cut stream, 500, 408 and 409 are weather too', async () => {
    rig.fake.enqueue(
      fault.drop(),
      fault.dropMidStream(),
      fault.serverError(),
      fault.error(408, 'timeout_error', 'Request timeout'),
      fault.error(409, 'conflict_error', 'Conflict'),
      reply.aop('Done.'),
    );
    const { result, error } = await runAgent(taskInput(rig.sb.workspace, { api: API }), rig.fake, {
      limiter: new ApiLimiter(),
      weatherBackoffBaseMs: 100,
    });
    assert.equal(error, undefined, String(error));
    assert.equal(result!.apiRetries, 5);
  });

  it('time waiting on the API does not count against the attempt limit', async () => {
    // A 3 s attempt limit, and 4 s of 529s with retry-after 1: without the rule it would time out.
    rig.fake.outage(4_000, [fault.error(529, 'overloaded_error', 'Overloaded', { 'retry-after': '1' })]);
    rig.fake.enqueue(reply.aop('Done after the outage.'));
    const { result, error } = await runAgent(taskInput(rig.sb.workspace, { api: API, timeoutMs: 3_000 }), rig.fake, {
      limiter: new ApiLimiter(),
    });
    assert.equal(error, undefined, String(error));
    assert.equal(result!.status, 'success');
    assert.ok(result!.apiRetries! >= 3);
  });

  it('past apiOutageSeconds the attempt escalates: "Anthropic API unavailable for N s (last: 529 overloaded_error)"', async () => {
    rig.fake.outage(20_000, [fault.error(529, 'overloaded_error', 'Overloaded', { 'retry-after': '1' })]);
    const { error } = await runAgent(
      taskInput(rig.sb.workspace, { api: { outageMs: 3_000, maxConcurrentRequests: 8 } }),
      rig.fake,
      { limiter: new ApiLimiter() },
    );
    assert.ok(error instanceof ApplicationFailure, String(error));
    assert.equal(error.type, FailureTypes.ApiUnavailable);
    assert.equal(error.nonRetryable, true);
    assert.match(error.message, /Anthropic API unavailable for [2-4] s \(last: 529 overloaded_error\)/);
    rig.fake.outage(0, []);
  });

  it('a 429 told to one agent holds the other agents of the worker until its retry-after', async () => {
    const limiter = new ApiLimiter();
    // Agent A: turn 1 is rate limited (retry-after 2). Agent B asks during that window.
    rig.fake.enqueue(fault.rateLimited(2), reply.aop('Done.'), reply.aop('Done.'));
    const a = runAgent(taskInput(rig.sb.workspace, { api: API, task: { id: 'A', description: 'task A' } }), rig.fake, {
      limiter,
    });
    await rig.fake.waitForRequests(1);
    // B starts once A has read its 429 (a request already on its way could not have known).
    await new Promise((r) => setTimeout(r, 300));
    const b = runAgent(taskInput(rig.sb.workspace, { api: API, task: { id: 'B', description: 'task B' } }), rig.fake, {
      limiter,
    });
    const [ra, rb] = await Promise.all([a, b]);
    assert.equal(ra.error, undefined, String(ra.error));
    assert.equal(rb.error, undefined, String(rb.error));
    const reqs = rig.fake.messageRequests;
    assert.equal(reqs.length, 3);
    assert.deepEqual(
      rig.fake.requestsInsideRetryAfter().map((v) => ({
        request: v.request.index,
        window: v.window.index,
        msAfterAnswer: v.request.receivedAt - v.window.respondedAt!,
      })),
      [],
    );
    assert.ok(reqs[1].receivedAt - reqs[0].receivedAt >= 2_000);
    // B was held, not told 429 itself.
    assert.equal(rb.result!.apiRetries, undefined);
    assert.ok(rb.heartbeats.some((h: any) => /held by a rate limit/.test(h.waiting?.what ?? '')));
  });

  it('apiMaxConcurrentRequests caps the requests in flight on a worker', async () => {
    const limiter = new ApiLimiter();
    const slow = () => ({ ...reply.aop('Done.'), gapMs: 150 });
    rig.fake.enqueue(slow(), slow(), slow());
    const api = { outageMs: 30_000, maxConcurrentRequests: 1 };
    const runs = await Promise.all(
      ['A', 'B', 'C'].map((id) => runAgent(taskInput(rig.sb.workspace, { api, task: { id } }), rig.fake, { limiter })),
    );
    for (const r of runs) assert.equal(r.error, undefined, String(r.error));
    const reqs = [...rig.fake.messageRequests].sort((x, y) => x.receivedAt - y.receivedAt);
    for (let i = 1; i < reqs.length; i++)
      assert.ok(reqs[i].receivedAt >= reqs[i - 1].closedAt!, `request ${i} overlapped the one before`);
  });

  it('wait times: retry-after, else the exhausted rate limit reset, else capped backoff with jitter', () => {
    const now = Date.parse('2026-12-06T03:00:00Z');
    const headers = new Headers({
      'anthropic-ratelimit-requests-reset': '2026-12-06T03:00:05Z',
      'anthropic-ratelimit-requests-remaining': '3',
      'anthropic-ratelimit-tokens-reset': '2026-12-06T03:00:12Z',
      'anthropic-ratelimit-tokens-remaining': '0',
    });
    assert.equal(rateLimitResetMs(headers, now), 12_000);
    assert.equal(
      rateLimitResetMs(new Headers({ 'anthropic-ratelimit-requests-reset': '2026-12-06T03:00:05Z' }), now),
      5_000,
    );
    assert.equal(weatherWaitMs(new Error('x'), 1, now, () => 0).ms, 500);
    assert.equal(weatherWaitMs(new Error('x'), 3, now, () => 1).ms, 4_000);
    assert.equal(weatherWaitMs(new Error('x'), 30, now, () => 1).ms, 60_000);
  });
});
