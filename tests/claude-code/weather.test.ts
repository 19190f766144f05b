/**
 * API weather in the claude-code runtime: Claude Code retries 429/529/5xx itself; phaseflow counts
 * those waits as the tool loop does (details, heartbeats, the deadline moves on), and a session
 * that still ends on weather is resumed after a wait, up to apiOutageSeconds, then escalates.
 */
import { ApplicationFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readJson, taskInput, useSandboxAndFake } from '../agent/helpers';
import { fault } from '../fake-anthropic/server';
import { aopReply, claudeCodePids, requireClaudeCode, runClaudeCode } from './helpers';

describe('claude-code runtime: API weather', function () {
  this.timeout(120_000);
  requireClaudeCode();
  const t = useSandboxAndFake();

  it('529 and 429 are waited out in the same attempt and recorded', async () => {
    t.fake.enqueue(fault.overloaded(), fault.rateLimited(1), aopReply('done after the weather'));
    const out = await runClaudeCode(
      taskInput(t.sb.workspace, { api: { outageMs: 60_000, maxConcurrentRequests: 4 } }),
      t.fake,
    );
    assert.equal(out.error, undefined, out.error?.stack);
    assert.equal(out.result!.status, 'success');
    assert.equal(out.result!.apiRetries, 2);
    assert.ok(out.result!.apiWaitMs! > 0);
    const details = await readJson(path.join(t.sb.workspace, out.result!.detailsFile));
    assert.deepEqual(
      details.api.waits.map((w: any) => w.what),
      ['529 overloaded', '429 rate_limit'],
    );
    assert.ok(
      out.heartbeats.some((h: any) => h?.waiting),
      'a heartbeat said it waits',
    );
  });

  it('an outage longer than apiOutageSeconds escalates as ApiUnavailable', async () => {
    t.fake.outage(60_000, [fault.overloaded()]);
    const out = await runClaudeCode(
      taskInput(t.sb.workspace, { api: { outageMs: 3_000, maxConcurrentRequests: 4 } }),
      t.fake,
    );
    assert.ok(out.error instanceof ApplicationFailure, String(out.error));
    assert.equal(out.error.type, 'ApiUnavailable');
    assert.equal(out.error.nonRetryable, true);
    assert.match(out.error.message, /stayed unavailable \(529 overloaded\)/);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await claudeCodePids(t.sb.workspace, 'checkout', '1.1'), [], 'Claude Code is gone');
  });
});
