/**
 * A model call that cannot reach the API says where it tried and why, from the end of the error's
 * cause chain (the SDK's "Connection error." and fetch's "fetch failed" say neither): the endpoint
 * and where it came from, the socket's code and address. Never the key. Real SDK clients against
 * a closed port (a fake API that was closed), a host that does not exist, and a port fetch blocks.
 */
import { strict as assert } from 'node:assert';
import { ApplicationFailure } from '@temporalio/common';
import { classifyModelError, socketReason } from '../../src/activities/agent/errors';
import { createClient } from '../../src/activities/agent/model-call';
import { FailureTypes } from '../../src/domain/types';
import { FakeAnthropic } from '../fake-anthropic/server';
import { makeSandbox, runAgent, type Sandbox, taskInput, TEST_KEY } from './helpers';

/** The error a real SDK client throws for one request to `baseURL`. */
async function callError(baseURL: string): Promise<Error> {
  const client = createClient(TEST_KEY, baseURL, 5_000);
  try {
    await client.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'hi' }],
    });
  } catch (err) {
    return err as Error;
  }
  throw new Error(`a request to ${baseURL} succeeded`);
}

/** The base URL of a fake API that is closed again: nothing listens on its port. */
async function closedBaseURL(): Promise<{ baseURL: string; port: string }> {
  const fake = await FakeAnthropic.start({ apiKey: TEST_KEY });
  await fake.close();
  return { baseURL: fake.baseURL, port: new URL(fake.baseURL).port };
}

describe('connection failures name the endpoint and the reason', function () {
  this.timeout(30_000);
  let sb: Sandbox;
  before(async () => (sb = await makeSandbox()));
  after(() => sb.cleanup());

  it('a closed port: the base URL, where it came from, ECONNREFUSED and the address; retryable; no key', async () => {
    const { baseURL, port } = await closedBaseURL();
    const err = await callError(baseURL);
    assert.equal(err.message, 'Connection error.', 'what the SDK says on its own');
    const failure = classifyModelError(err, taskInput(sb.workspace), {
      apiKey: TEST_KEY,
      endpoint: { url: baseURL, from: 'ANTHROPIC_BASE_URL' },
    });
    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.type, FailureTypes.Transient);
    assert.equal(failure.nonRetryable, false);
    assert.equal(
      failure.message,
      `task 1.1 attempt 1 (epic shop / plan checkout / phase api), model claude-haiku-4-5: ` +
        `connection to the Anthropic API at http://127.0.0.1:${port} (ANTHROPIC_BASE_URL) failed: ECONNREFUSED 127.0.0.1:${port} (nothing listens there)`,
    );
    assert.ok(!failure.message.includes(TEST_KEY));
  });

  it('through the agent activity: the attempt fails retryably with ECONNREFUSED and the address', async () => {
    const { baseURL, port } = await closedBaseURL();
    const fake = await FakeAnthropic.start({ apiKey: TEST_KEY }); // unused: runAgent takes a fake; baseURL overrides it
    try {
      const out = await runAgent(taskInput(sb.workspace), fake, { baseURL });
      assert.ok(out.error instanceof ApplicationFailure, `expected a failure, got ${out.error ?? 'a result'}`);
      assert.equal(out.error.type, FailureTypes.Transient);
      assert.match(
        out.error.message,
        new RegExp(
          `connection to the Anthropic API( at \\S+)? failed: ECONNREFUSED 127\\.0\\.0\\.1:${port} \\(nothing listens there\\)$`,
        ),
      );
      assert.ok(!out.error.message.includes(TEST_KEY));
      assert.equal(fake.requests.length, 0);
    } finally {
      await fake.close();
    }
  });

  it('a host that does not exist: ENOTFOUND and the host name', async () => {
    const err = await callError('http://phaseflow-no-such-host.invalid:8080');
    assert.equal(socketReason(err), 'ENOTFOUND phaseflow-no-such-host.invalid (no such host)');
  });

  it('a port fetch refuses outright (9, as in the walkthrough) says so', async () => {
    const err = await callError('http://127.0.0.1:9');
    assert.match(socketReason(err), /^fetch refuses this port \("bad port"/);
  });

  it('user info and query of a base URL stay out of the message (also where a cause quotes the URL)', async () => {
    const { port } = await closedBaseURL();
    const withQuery = `http://127.0.0.1:${port}/proxy?token=abc123`;
    const refused = classifyModelError(await callError(withQuery), taskInput(sb.workspace), {
      apiKey: TEST_KEY,
      endpoint: { url: withQuery },
    });
    assert.match(
      refused.message,
      new RegExp(`at http://127\\.0\\.0\\.1:${port}/proxy failed: ECONNREFUSED 127\\.0\\.0\\.1:${port} `),
    );
    // fetch refuses a URL with credentials, quoting it in its message.
    const withUser = `http://user:hunter2@127.0.0.1:${port}/proxy?token=abc123`;
    const refusedByFetch = classifyModelError(await callError(withUser), taskInput(sb.workspace), {
      apiKey: TEST_KEY,
      endpoint: { url: withUser },
    });
    assert.ok(
      refusedByFetch.message.endsWith(
        `at http://127.0.0.1:${port}/proxy failed: Request cannot be constructed from a URL that includes credentials: http://127.0.0.1:${port}/proxy`,
      ),
      refusedByFetch.message,
    );
    for (const f of [refused, refusedByFetch])
      for (const secret of ['hunter2', 'abc123', 'user:', TEST_KEY])
        assert.ok(!f.message.includes(secret), `${secret} is not in ${f.message}`);
  });
});
