/**
 * An agent that needs a person reports AOP status `blocked`: a result (not a failure) whose
 * summary says what it needs. Real agents (fake Messages API) and the dry-run agent alike.
 */
import { CancelledFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parseAop } from '../../src/activities/agent/aop';
import { BLOCKED_RESUME_NOTE } from '../../src/activities/agent/prompts';
import { runDryRunAgent } from '../../src/activities/dry-run-agent';
import type { TaskResult } from '../../src/domain/types';
import { reply } from '../fake-anthropic/server';
import { makeSandbox, mockEnv, readJson, runAgent, taskInput, useSandboxAndFake, type Sandbox } from './helpers';

const NEED = 'Need the staging database password to run the migration; the task names no credential.';

describe('blocked agents', () => {
  describe('AOP status', () => {
    const status = (s: string) => parseAop(`[AOP:SUMMARY] x\n[AOP:STATUS] ${s}`, 'code').status;

    it('reads "blocked" and the usual ways of saying a person is needed', () => {
      for (const s of [
        'blocked',
        'BLOCKED',
        '**Blocked** (need the DB password)',
        'needs human',
        'needs-human',
        'NEEDS_HUMAN',
        'need a person',
        'needs input',
        'needs decision',
        'human needed',
        'human input required',
        'waiting for human',
        'awaiting a decision',
        'escalate',
      ]) {
        assert.equal(status(s), 'blocked', s);
      }
    });

    it('leaves the other statuses alone, and an unknown or templated status is still partial', () => {
      assert.equal(status('success'), 'success');
      assert.equal(status('failure (needs human review later)'), 'failure');
      assert.equal(status('success|failure|partial|blocked'), 'partial');
      assert.equal(status('unblocked'), 'partial');
      assert.equal(status('human'), 'partial');
    });
  });

  describe('claude agent', () => {
    const t = useSandboxAndFake();

    it('the system prompt says when to report blocked and what to put in the summary', async () => {
      t.fake.enqueue(reply.aop('ok'));
      await runAgent(taskInput(t.sb.workspace), t.fake);
      const system = t.fake.messageRequests[0].body.system.map((b: any) => b.text).join('\n');
      assert.match(system, /\[AOP:STATUS\] success\|failure\|partial\|blocked/);
      assert.match(system, /report STATUS blocked/);
      assert.match(
        system,
        /blocked if you need a person to go on: then the summary starts with what you need from them/,
      );
    });

    it('status blocked is a result with the blocker as summary; a retry continues the conversation', async () => {
      t.fake.enqueue(
        reply.toolUse('Glob', { pattern: '*' }, { id: 'toolu_g1' }),
        reply.aop(NEED, 'needs human', { before: 'I looked for credentials.' }),
      );
      const { result, error } = await runAgent(taskInput(t.sb.workspace), t.fake);
      assert.equal(error, undefined, error?.message);
      assert.equal(result!.status, 'blocked');
      assert.equal(result!.summary, NEED);
      const details = await readJson(path.join(t.sb.workspace, result!.detailsFile));
      assert.equal(details.status, 'blocked');
      assert.equal(details.outcome, 'completed');
      assert.equal(details.fullSummary, NEED);

      // The person answers; the workflow runs another attempt, which continues the conversation.
      t.fake.enqueue(reply.aop('Ran the migration with the password from .env.staging.'));
      const previousFailure = `attempt 1: agent reported blocked: ${NEED} A person answered: it is in .env.staging`;
      const retry = await runAgent(taskInput(t.sb.workspace, { attempt: 2, previousFailure }), t.fake);
      assert.equal(retry.error, undefined, retry.error?.message);
      assert.equal(retry.result!.status, 'success');
      const body = t.fake.messageRequests[2].body;
      // task, turn 1 (tool use), its results, the blocked reply, then the note with the answer
      assert.equal(body.messages.length, 5);
      assert.equal(body.messages[3].role, 'assistant');
      assert.match(JSON.stringify(body.messages[3].content), /needs human/);
      const note = body.messages[4].content.map((b: any) => b.text).join('');
      assert.ok(note.startsWith(BLOCKED_RESUME_NOTE), note);
      assert.match(note, /A person answered: it is in \.env\.staging/);
    });

    it('a retry after a finished (success) conversation still starts fresh', async () => {
      t.fake.enqueue(reply.aop('all done'), reply.aop('again'));
      await runAgent(taskInput(t.sb.workspace), t.fake);
      await runAgent(taskInput(t.sb.workspace, { attempt: 2, previousFailure: 'gate failed' }), t.fake);
      assert.equal(t.fake.messageRequests[1].body.messages.length, 1);
    });
  });

  describe('dry-run agent', () => {
    let sb: Sandbox;
    beforeEach(async () => {
      sb = await makeSandbox();
    });
    afterEach(() => sb.cleanup());

    const dryInput = (dryRun: Record<string, unknown>) =>
      taskInput(sb.workspace, { agentMode: 'dry-run', task: { dryRun: { durationMs: 10, ...dryRun } } });

    it('outcome blocked → status blocked with the spec summary, and a consistent details file', async () => {
      const result: TaskResult = await mockEnv().run(runDryRunAgent, dryInput({ outcome: 'blocked', summary: NEED }));
      assert.equal(result.status, 'blocked');
      assert.equal(result.summary, NEED);
      const details = await readJson(path.join(sb.workspace, result.detailsFile));
      assert.equal(details.status, 'blocked');
      assert.equal(parseAop(details.final_text, 'code').status, 'blocked');
    });

    it('without a summary, a default blocker text names the task', async () => {
      const result: TaskResult = await mockEnv().run(runDryRunAgent, dryInput({ outcome: 'blocked' }));
      assert.equal(result.status, 'blocked');
      assert.match(
        result.summary,
        /^Blocked: the simulated backend agent needs a person's decision to go on with task 1\.1/,
      );
    });

    it('stops at once when the activity is cancelled', async () => {
      const env = mockEnv();
      const pending = env.run(runDryRunAgent, dryInput({ durationMs: 60_000 })).then(
        () => undefined,
        (err: unknown) => err,
      );
      await new Promise((r) => setTimeout(r, 200));
      const t0 = Date.now();
      env.cancel();
      const err = await pending;
      assert.ok(err instanceof CancelledFailure, String(err));
      assert.ok(Date.now() - t0 < 500, `stopped ${Date.now() - t0} ms after the cancel`);
      await assert.rejects(
        fs.stat(path.join(sb.workspace, '.claude/cache/agent-outputs/checkout--1.1-1.json')),
        'no details file for a cancelled run',
      );
    });
  });
});
