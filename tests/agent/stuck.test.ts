/**
 * The stuck detector (TaskRunInput.watchdog) against the fake Messages API: a live stream that
 * never produces a token, a dead one, a slow but live answer, a long tool, and tool loops.
 */
import { ApplicationFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { canonicalJson } from '../../src/activities/agent/stuck';
import { FailureTypes } from '../../src/domain/types';
import { fault, reply } from '../fake-anthropic/server';
import { readJson, runAgent, taskInput, toolResults, useSandboxAndFake } from './helpers';

const TRANSCRIPT = '.claude/cache/transcripts/checkout--1.1.jsonl';

describe('stuck detector', () => {
  const t = useSandboxAndFake();

  const watchdog = (noProgressMs: number, repeatLimit = 5) => ({ watchdog: { noProgressMs, repeatLimit } });

  function assertStuck(error: unknown, detector: string): Record<string, any> {
    assert.ok(error instanceof ApplicationFailure, `expected an ApplicationFailure, got ${error}`);
    assert.equal(error.type, FailureTypes.Stuck, error.message);
    assert.equal(error.nonRetryable, true);
    assert.match(
      error.message,
      /^task 1\.1 attempt 1 \(epic shop \/ plan checkout \/ phase api\), model claude-haiku-4-5: stuck/,
    );
    const d = error.details![0] as Record<string, any>;
    assert.equal(d.detector, detector);
    assert.equal(d.detailsFile, '.claude/cache/agent-outputs/checkout--1.1-1.json');
    return d;
  }

  async function lastTranscriptRecord(): Promise<any> {
    const lines = (await fs.readFile(path.join(t.sb.workspace, TRANSCRIPT), 'utf8')).trim().split('\n');
    return JSON.parse(lines.at(-1)!);
  }

  describe('no progress', () => {
    it('a stream of pings without a token is stopped after noProgressMs, with the usage spent so far', async () => {
      t.fake.enqueue(
        reply.toolUse('Glob', { pattern: '*' }, { usage: { input_tokens: 1000, output_tokens: 50 } }),
        // The API keeps the connection alive; the model says nothing.
        fault.pingsOnly(150, { input_tokens: 1200, cache_read_input_tokens: 300 }),
      );
      const t0 = Date.now();
      // The stall limit (800 ms) is shorter than the detector's: pings keep the connection alive,
      // so this is not a stall, and the detector, not the stall timer, ends the attempt.
      const { error, heartbeats } = await runAgent(taskInput(t.sb.workspace, watchdog(1_500)), t.fake, {
        requestTimeoutMs: 800,
      });
      const tookMs = Date.now() - t0;
      const d = assertStuck(error, 'no-progress');
      assert.match(d.reason, /^no token or tool call for 1\.[5-9] s during turn 2$/);
      assert.equal(d.turn, 2);
      // Turn 1 plus what message_start of the hung call reported.
      assert.equal(d.usage.inputTokens, 1000 + 1200);
      assert.equal(d.usage.cacheReadTokens, 300);
      assert.equal(d.usage.outputTokens, 50 + 20);
      // Measured from the end of turn 1 (its tool result is the last progress).
      assert.ok(tookMs >= 1_500 && tookMs < 2_500, `stopped after ${tookMs} ms`);
      const hung = t.fake.messageRequests[1];
      assert.equal(hung.clientGone, true, 'the stream was aborted');
      assert.ok(
        hung.closedAt! - hung.receivedAt < 2_000,
        `the connection closed ${hung.closedAt! - hung.receivedAt} ms after the request`,
      );
      assert.ok(heartbeats.length >= 2, 'the activity heartbeated while it waited');

      const details = await readJson(path.join(t.sb.workspace, d.detailsFile));
      assert.equal(details.outcome, 'interrupted');
      assert.deepEqual(details.stuck, { detector: 'no-progress', reason: d.reason, turn: 2 });
      assert.deepEqual(
        details.calls.map((c: any) => [c.stopReason, !!c.brokenOff]),
        [
          ['tool_use', false],
          [null, true],
        ],
      );
      assert.deepEqual(details.usage, d.usage);
      const end = await lastTranscriptRecord();
      assert.deepEqual([end.type, end.outcome], ['end', 'interrupted']);
      assert.match(end.reason, /^Stuck: /);
    });

    it('the retry a person asks for resumes the conversation after the last complete turn', async () => {
      t.fake.enqueue(reply.toolUse('Glob', { pattern: '*' }, { id: 'toolu_g1' }), fault.pingsOnly(100));
      const first = await runAgent(taskInput(t.sb.workspace, watchdog(600)), t.fake);
      assertStuck(first.error, 'no-progress');

      t.fake.enqueue(reply.aop('done on the second try'));
      const previousFailure = `attempt 1: Stuck: ${first.error.message}`;
      const { result, error } = await runAgent(
        taskInput(t.sb.workspace, { attempt: 2, previousFailure, ...watchdog(600) }),
        t.fake,
      );
      assert.equal(error, undefined);
      assert.equal(result!.status, 'success');
      const body = t.fake.messageRequests[2].body;
      // task, assistant turn 1, user [tool result + resume note]
      assert.equal(body.messages.length, 3);
      assert.deepEqual(
        toolResults(body).map((r) => r.tool_use_id),
        ['toolu_g1'],
      );
      assert.match(JSON.stringify(body.messages[2].content), /resumed here.*stuck \(no-progress\)/);
    });

    it('a dead connection (not even a ping) is a transient stall, not stuck', async () => {
      t.fake.enqueue(fault.stallMidStream());
      const t0 = Date.now();
      const { error } = await runAgent(taskInput(t.sb.workspace, watchdog(800)), t.fake);
      assert.ok(error instanceof ApplicationFailure);
      assert.equal(error.type, FailureTypes.Transient, error.message);
      assert.equal(error.nonRetryable, false);
      assert.match(error.message, /model stream stalled \(no data for \d+ ms\)/);
      assert.ok(Date.now() - t0 < 2_000, 'noticed at the detector limit, not at the 10-minute request timeout');
    });

    it('pings reset the stall timer: a slow start with keep-alives is not a stall', async () => {
      // Every event 200 ms apart: message_start, 3 pings, then the answer. The first token comes
      // after 1 s (below the detector's 1.5 s), the silence between message_start and it (800 ms)
      // is longer than the 500 ms stall limit, so only the pings keep this from being a stall.
      t.fake.enqueue(reply.paced(reply.aop('slow but fine'), 200, 3));
      const { result, error } = await runAgent(taskInput(t.sb.workspace, watchdog(1_500)), t.fake, {
        requestTimeoutMs: 500,
      });
      assert.equal(error, undefined, error?.message);
      assert.equal(result!.status, 'success');
    });

    it('a slow but steady answer longer than noProgressMs is progress, not stuck', async () => {
      // ~12 events 200 ms apart: 2.4 s in all, against a 1 s limit.
      t.fake.enqueue(
        reply.paced(
          reply.toolUse('Write', { file_path: 'a.txt', content: 'A' }, { text: 'Writing the file now.' }),
          200,
        ),
        reply.aop('done'),
      );
      const t0 = Date.now();
      const { result, error } = await runAgent(taskInput(t.sb.workspace, watchdog(1_000)), t.fake);
      assert.equal(error, undefined, error?.message);
      assert.equal(result!.status, 'success');
      assert.ok(Date.now() - t0 > 1_000, 'the answer did take longer than the limit');
    });

    it('a tool that runs longer than noProgressMs is not stuck (it has its own time limit)', async () => {
      t.fake.enqueue(reply.toolUse('Bash', { command: 'sleep 1.5 && echo slept' }), reply.aop('done'));
      const { result, error } = await runAgent(taskInput(t.sb.workspace, watchdog(700)), t.fake);
      assert.equal(error, undefined, error?.message);
      assert.equal(result!.status, 'success');
      const [r] = toolResults(t.fake.messageRequests[1].body);
      assert.equal(r.content, 'slept\n');
    });
  });

  describe('tool loop', () => {
    it('the same call repeatLimit times in a row stops the attempt; the API sees no further request', async () => {
      for (let i = 0; i < 8; i++) t.fake.enqueue(reply.toolUse('Bash', { command: 'ls' }));
      const { error } = await runAgent(taskInput(t.sb.workspace, watchdog(60_000, 5)), t.fake);
      const d = assertStuck(error, 'tool-loop');
      assert.equal(d.reason, 'tool call Bash {"command":"ls"} repeated 5 times in a row');
      assert.equal(d.turn, 5);
      assert.equal(t.fake.messageRequests.length, 5);
      assert.equal(t.fake.pending, 3);
      assert.equal(d.usage.inputTokens, 5 * 100);
      assert.equal(d.usage.outputTokens, 5 * 20);

      const details = await readJson(path.join(t.sb.workspace, d.detailsFile));
      assert.equal(details.toolCalls.length, 5);
      assert.deepEqual(
        details.toolCalls.map((c: any) => c.isError),
        [false, false, false, false, true],
        'four ran, the fifth did not',
      );
      assert.match(details.toolCalls[4].error, /not run: tool call Bash \{"command":"ls"\} repeated 5 times in a row/);
      assert.equal(details.stuck.detector, 'tool-loop');

      // The transcript holds all five turns, the last one answered, so a retry can resume.
      const lines = (await fs.readFile(path.join(t.sb.workspace, TRANSCRIPT), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const turns = lines.filter((r) => r.type === 'turn');
      assert.equal(turns.length, 5);
      assert.equal(turns[4].followUp.content[0].is_error, true);
      assert.deepEqual([lines.at(-1).type, lines.at(-1).outcome], ['end', 'interrupted']);

      t.fake.enqueue(reply.aop('listed once and moved on'));
      const retry = await runAgent(
        taskInput(t.sb.workspace, {
          attempt: 2,
          previousFailure: `attempt 1: Stuck: ${error.message}`,
          ...watchdog(60_000, 5),
        }),
        t.fake,
      );
      assert.equal(retry.result?.status, 'success');
      const body = t.fake.messageRequests[5].body;
      assert.equal(body.messages.length, 11, 'task + 5 x (assistant, tool results)');
      assert.match(JSON.stringify(body.messages.at(-1).content), /repeated 5 times in a row/);
    });

    it('the same input in another key order is the same call; another call in between breaks the run', async () => {
      const a1 = { command: 'ls -la', timeout: 5000 };
      const a2 = { timeout: 5000, command: 'ls -la' };
      t.fake.enqueue(
        reply.toolUse('Bash', a1),
        reply.toolUse('Bash', a2),
        reply.toolUse('Glob', { pattern: '*' }),
        reply.toolUse('Bash', a2),
        reply.toolUse('Bash', a1),
        reply.toolUse('Bash', a2),
        reply.aop('never reached'),
      );
      const { error } = await runAgent(taskInput(t.sb.workspace, watchdog(60_000, 3)), t.fake);
      const d = assertStuck(error, 'tool-loop');
      assert.equal(d.reason, 'tool call Bash {"command":"ls -la","timeout":5000} repeated 3 times in a row');
      assert.equal(t.fake.messageRequests.length, 6);
    });

    it('several identical calls in one turn count too, and the ones after the limit are not run', async () => {
      t.fake.enqueue(
        reply.toolUses([
          { name: 'Read', input: { file_path: 'x.txt' } },
          { name: 'Read', input: { file_path: 'x.txt' } },
          { name: 'Read', input: { file_path: 'x.txt' } },
          { name: 'Write', input: { file_path: 'y.txt', content: 'y' } },
        ]),
      );
      const { error } = await runAgent(taskInput(t.sb.workspace, watchdog(60_000, 3)), t.fake);
      assertStuck(error, 'tool-loop');
      await assert.rejects(fs.stat(path.join(t.sb.workspace, 'y.txt')), 'the Write after the loop was not run');
    });

    it('without a watchdog nothing is detected', async () => {
      for (let i = 0; i < 6; i++) t.fake.enqueue(reply.toolUse('Glob', { pattern: '*' }));
      t.fake.enqueue(reply.aop('done'));
      const { result, error } = await runAgent(taskInput(t.sb.workspace), t.fake);
      assert.equal(error, undefined);
      assert.equal(result!.status, 'success');
    });

    it('canonical JSON sorts keys at every level and keeps arrays in order', () => {
      assert.equal(canonicalJson({ b: 1, a: { d: [2, 1], c: null } }), '{"a":{"c":null,"d":[2,1]},"b":1}');
      assert.notEqual(canonicalJson({ a: [1, 2] }), canonicalJson({ a: [2, 1] }));
    });
  });
});
