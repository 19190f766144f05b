/**
 * The claude-code runtime as an activity: the real Claude Code binary (installed by npm test's
 * pretest) against the fake Messages API, in a MockActivityEnvironment. What is checked: files
 * changed by Write/Edit, confinement and the Bash sandbox, the AOP result and usage, the project's
 * agent file, the reduced toolset, budgets, cancellation, and resuming an interrupted session.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { costOf } from '../../src/domain/models';
import { mockEnv, readJson, snapshot, taskInput, useSandboxAndFake } from '../agent/helpers';
import { reply } from '../fake-anthropic/server';
import {
  aopReply,
  claudeCodePids,
  requireClaudeCode,
  runClaudeCode,
  sessionRecord,
  TEST_KEY,
  toolResultsIn,
  writeAgentFile,
} from './helpers';

describe('claude-code runtime: one attempt as an activity', function () {
  this.timeout(90_000);
  requireClaudeCode();
  const t = useSandboxAndFake();

  it('Write and Edit change files; the AOP result, details file, session record and usage are as the tool loop’s', async () => {
    const file = path.join(t.sb.workspace, 'src', 'greet.ts');
    t.fake.enqueue(
      reply.toolUse(
        'Write',
        { file_path: file, content: 'export const greet = () => "hi";\n' },
        { usage: { input_tokens: 1000, output_tokens: 50 } },
      ),
      reply.toolUse(
        'Edit',
        { file_path: file, old_string: '"hi"', new_string: '"hello"' },
        { usage: { input_tokens: 1200, output_tokens: 40, cache_read_input_tokens: 800 } },
      ),
      aopReply('Wrote src/greet.ts', 'success', { input_tokens: 1300, output_tokens: 30 }),
    );
    const out = await runClaudeCode(taskInput(t.sb.workspace), t.fake);
    assert.equal(out.error, undefined, out.error?.stack);
    const r = out.result!;
    assert.equal(r.status, 'success');
    assert.equal(r.summary, 'Wrote src/greet.ts');
    assert.equal(await fs.readFile(file, 'utf8'), 'export const greet = () => "hello";\n');
    assert.deepEqual(r.changedPaths, ['src/greet.ts']);
    // Usage: the three calls' tokens, priced by phaseflow's own table, as the tool loop does.
    const tokens = { inputTokens: 3500, outputTokens: 120, cacheWriteTokens: 0, cacheReadTokens: 800 };
    assert.deepEqual({ ...r.usage, costUsd: undefined }, { ...tokens, costUsd: undefined });
    assert.equal(r.usage.costUsd, costOf(r.model!, tokens));
    const details = await readJson(path.join(t.sb.workspace, r.detailsFile));
    assert.deepEqual(
      details.toolCalls.map((c: any) => [c.name, c.isError]),
      [
        ['Write', false],
        ['Edit', false],
      ],
    );
    assert.equal(details.runtime.name, 'claude-code');
    assert.match(details.finalText, /\[AOP:SUMMARY\] Wrote src\/greet.ts/);
    assert.ok(details.runtime.startupMs > 0 && details.runtime.peakRssBytes > 0, JSON.stringify(details.runtime));
    const session = await sessionRecord(t.sb.workspace, 'checkout', '1.1');
    assert.equal(session.outcome, 'completed');
    // The model saw the task and the AOP rules; the key went as the credential only.
    const first = t.fake.messageRequests[0];
    assert.match(JSON.stringify(first.body.messages), /Create the greeting module/);
    assert.match(JSON.stringify(first.body.messages), /\[AOP:STATUS\]/);
    assert.equal(t.fake.messageRequests.length, 3);
    assert.deepEqual(t.fake.unknownRequests, []);
    // With non-essential traffic off, Claude Code sends nothing but model requests.
    assert.deepEqual(
      t.fake.requests.filter((x) => !(x.method === 'POST' && x.path === '/v1/messages')).map((x) => x.path),
      [],
    );
    assert.ok(out.heartbeats.length > 0);
  });

  it('refuses paths outside the workspace (symlinks resolved) and phaseflow’s records; Bash runs sandboxed without the key', async () => {
    const before = await snapshot(t.sb.sentinel);
    await fs.symlink(t.sb.sentinel, path.join(t.sb.workspace, 'link'));
    t.fake.enqueue(
      reply.toolUses([
        { id: 'toolu_read_out', name: 'Read', input: { file_path: path.join(t.sb.sentinel, 'keep.txt') } },
        {
          id: 'toolu_write_link',
          name: 'Write',
          input: { file_path: path.join(t.sb.workspace, 'link', 'new.txt'), content: 'pwned\n' },
        },
        {
          id: 'toolu_write_cache',
          name: 'Write',
          input: { file_path: path.join(t.sb.workspace, '.claude/cache/agent-outputs/x.json'), content: '{}' },
        },
      ]),
      reply.toolUse(
        'Bash',
        { command: `env; echo "key=[$ANTHROPIC_API_KEY]"; echo pwned > ${t.sb.sentinel}/keep.txt; echo exit=$?` },
        { id: 'toolu_bash' },
      ),
      aopReply('refused as expected'),
    );
    const out = await runClaudeCode(taskInput(t.sb.workspace), t.fake, {
      env: { PATH: process.env.PATH, ANTHROPIC_API_KEY: TEST_KEY, GITHUB_TOKEN: 'ghp_secretsecretsecret' },
    });
    assert.equal(out.error, undefined, out.error?.stack);
    const results = toolResultsIn(t.fake.messageRequests[2].body);
    for (const id of ['toolu_read_out', 'toolu_write_link', 'toolu_write_cache']) {
      assert.equal(results.get(id)?.is_error, true, `${id}: ${JSON.stringify(results.get(id))}`);
    }
    assert.match(results.get('toolu_read_out')!.content, /outside the workspace/);
    assert.match(results.get('toolu_write_link')!.content, /outside the workspace/);
    assert.match(results.get('toolu_write_cache')!.content, /maintained by phaseflow/);
    const bash = results.get('toolu_bash')!.content;
    assert.match(bash, /key=\[\]/);
    assert.doesNotMatch(bash, new RegExp(TEST_KEY));
    assert.doesNotMatch(bash, /ghp_secret/);
    assert.match(bash, new RegExp(`HOME=${t.sb.workspace}`));
    assert.deepEqual(await snapshot(t.sb.sentinel), before, 'nothing outside the workspace changed');
    const details = await readJson(path.join(t.sb.workspace, out.result!.detailsFile));
    assert.deepEqual(
      details.toolCalls.filter((c: any) => c.isError).map((c: any) => c.id),
      ['toolu_read_out', 'toolu_write_link', 'toolu_write_cache'],
    );
  });

  it('a subagent’s tool calls pass the same guard', async () => {
    const before = await snapshot(t.sb.sentinel);
    // The subagent runs beside the main thread (Claude Code launches it in the background), so
    // each request is answered by whose it is: the subagent's carry its prompt.
    const sub = [
      reply.toolUse(
        'Write',
        { file_path: path.join(t.sb.sentinel, 'sub.txt'), content: 'escaped\n' },
        { id: 'toolu_sub_out' },
      ),
      reply.toolUse(
        'Write',
        { file_path: path.join(t.sb.workspace, 'sub.txt'), content: 'inside\n' },
        { id: 'toolu_sub_in' },
      ),
      reply.text('The note is written.'),
    ];
    const main = [
      reply.toolUse('Task', {
        description: 'Write a note',
        prompt: 'SUBAGENT-NOTE: write the note',
        subagent_type: 'general-purpose',
      }),
    ];
    const subRequests: number[] = [];
    for (let i = 0; i < 8; i++)
      t.fake.enqueue((req) => {
        const isSub =
          JSON.stringify(req.body.messages[0]).includes('SUBAGENT-NOTE') &&
          !JSON.stringify(req.body.messages[0]).includes('Create the greeting module');
        if (isSub) subRequests.push(req.index);
        return (isSub ? sub.shift() : main.shift()) ?? aopReply('the subagent wrote sub.txt');
      });
    const out = await runClaudeCode(taskInput(t.sb.workspace), t.fake);
    assert.equal(out.error, undefined, out.error?.stack);
    assert.ok(subRequests.length >= 2, `the subagent asked the model (${subRequests.length} requests)`);
    assert.deepEqual(await snapshot(t.sb.sentinel), before);
    const refused = t.fake.messageRequests
      .map((r) => toolResultsIn(r.body).get('toolu_sub_out'))
      .find((x) => x !== undefined);
    assert.equal(refused?.is_error, true, JSON.stringify(refused));
    assert.match(refused!.content, /outside the workspace/);
  });

  it('runs the project’s .claude/agents/<name>.md agent (its prompt, tools and model) with the project’s CLAUDE.md', async () => {
    await writeAgentFile(
      t.sb.workspace,
      'reviewer',
      'description: Reviews code\ntools: Read, Write\nmodel: haiku',
      'You are the REVIEWER-7 specialist.',
    );
    await fs.writeFile(path.join(t.sb.workspace, 'CLAUDE.md'), 'House rule PROJECT-MEMORY-9: tabs, not spaces.\n');
    t.fake.enqueue(aopReply('reviewed'));
    const out = await runClaudeCode(
      taskInput(t.sb.workspace, { task: { agent: 'reviewer' }, model: 'claude-opus-4-5' }),
      t.fake,
    );
    assert.equal(out.error, undefined, out.error?.stack);
    const req = t.fake.messageRequests[0];
    assert.match(JSON.stringify(req.body.system), /REVIEWER-7/);
    // The project's CLAUDE.md reaches the model, as in Claude Code.
    assert.match(JSON.stringify(req.body), /PROJECT-MEMORY-9/);
    assert.match(req.body.model, /haiku/);
    assert.deepEqual(
      req.body.tools
        .map((x: any) => x.name)
        .filter((n: string) => !/Placeholder/.test(n))
        .sort(),
      ['Read', 'Write'],
    );
    assert.match(out.result!.model!, /haiku/);
  });

  it('an unknown agent name is a permanent failure that names the field and the file', async () => {
    const out = await runClaudeCode(taskInput(t.sb.workspace, { task: { agent: 'nobody' } }), t.fake);
    assert.ok(out.error instanceof ApplicationFailure, String(out.error));
    assert.equal(out.error.type, 'Permanent');
    assert.equal(out.error.nonRetryable, true);
    assert.match(
      out.error.message,
      /field agent: no Claude Code agent "nobody": \.claude\/agents\/nobody\.md does not exist/,
    );
    assert.equal(t.fake.messageRequests.length, 0);
  });

  it('a retry gets the reduced toolset (Read, Write) and is told why the last attempt failed', async () => {
    t.fake.enqueue(aopReply('retried'));
    const out = await runClaudeCode(
      taskInput(t.sb.workspace, {
        attempt: 2,
        reducedTools: true,
        previousFailure: 'attempt 1: agent reported failure: tests failed',
      }),
      t.fake,
    );
    assert.equal(out.error, undefined, out.error?.stack);
    const req = t.fake.messageRequests[0];
    assert.deepEqual(
      req.body.tools
        .map((x: any) => x.name)
        .filter((n: string) => !/Placeholder/.test(n))
        .sort(),
      ['Read', 'Write'],
    );
    assert.match(JSON.stringify(req.body.messages), /attempt 1: agent reported failure: tests failed/);
  });

  it('a spent budget refuses the session before any model call', async () => {
    const out = await runClaudeCode(taskInput(t.sb.workspace, { budget: { usdLeft: 0 } }), t.fake);
    assert.ok(out.error instanceof ApplicationFailure, String(out.error));
    assert.equal(out.error.type, 'BudgetExhausted');
    assert.equal(t.fake.messageRequests.length, 0);
  });

  it('a budget spent by the session stops it at once (BudgetExhausted, no further model call)', async () => {
    t.fake.enqueue(
      reply.toolUse('Read', { file_path: path.join(t.sb.workspace, 'x') }, { usage: { input_tokens: 1_000_000 } }),
      aopReply('never reached'),
    );
    const out = await runClaudeCode(taskInput(t.sb.workspace, { budget: { usdLeft: 0.01 } }), t.fake);
    assert.ok(out.error instanceof ApplicationFailure, String(out.error));
    assert.equal(out.error.type, 'BudgetExhausted');
    assert.equal(t.fake.messageRequests.length, 1);
    const details = out.error.details?.[0] as any;
    assert.equal(details.usage.inputTokens, 1_000_000);
  });

  it('the stuck detector stops a tool loop (the same call again and again)', async () => {
    const same = () => reply.toolUse('Glob', { pattern: '**/*.md' });
    t.fake.enqueue(same(), same(), same(), aopReply('never reached'));
    const out = await runClaudeCode(
      taskInput(t.sb.workspace, { watchdog: { noProgressMs: 30_000, repeatLimit: 3 } }),
      t.fake,
    );
    assert.ok(out.error instanceof ApplicationFailure, String(out.error));
    assert.equal(out.error.type, 'Stuck');
    assert.match(out.error.message, /tool call Glob \{"pattern":"\*\*\/\*\.md"\} repeated 3 times in a row/);
    assert.equal(t.fake.messageRequests.length, 3);
  });

  it('the stuck detector stops a model that streams nothing but keep-alives', async () => {
    t.fake.enqueue({ kind: 'pings', everyMs: 200 });
    const out = await runClaudeCode(
      taskInput(t.sb.workspace, { watchdog: { noProgressMs: 3_000, repeatLimit: 5 } }),
      t.fake,
    );
    assert.ok(out.error instanceof ApplicationFailure, String(out.error));
    assert.equal(out.error.type, 'Stuck');
    assert.match(out.error.message, /no token or tool call for/);
    assert.deepEqual(await claudeCodePids(t.sb.workspace, 'checkout', '1.1'), []);
  });

  it('a cancel ends the session and its process', async () => {
    t.fake.enqueue({ kind: 'hang' });
    const env = mockEnv();
    const run = runClaudeCode(taskInput(t.sb.workspace), t.fake, {}, env);
    await t.fake.waitForRequests(1, 30_000);
    assert.equal((await claudeCodePids(t.sb.workspace, 'checkout', '1.1')).length, 1, 'Claude Code runs');
    env.cancel();
    const out = await run;
    assert.ok(out.error instanceof CancelledFailure, String(out.error));
    const session = await sessionRecord(t.sb.workspace, 'checkout', '1.1');
    assert.equal(session.outcome, 'interrupted');
    assert.deepEqual(await claudeCodePids(t.sb.workspace, 'checkout', '1.1'), [], 'Claude Code is gone');
  });

  it('an agent that reported blocked goes on in the same session once a person has answered', async () => {
    t.fake.enqueue(aopReply('Which database should I use?', 'blocked'));
    const first = await runClaudeCode(taskInput(t.sb.workspace), t.fake);
    assert.equal(first.error, undefined, first.error?.stack);
    assert.equal(first.result!.status, 'blocked');
    const session = await sessionRecord(t.sb.workspace, 'checkout', '1.1');
    assert.equal(session.outcome, 'interrupted');
    t.fake.enqueue(aopReply('used PostgreSQL as told'));
    const second = await runClaudeCode(
      taskInput(t.sb.workspace, { attempt: 2, previousFailure: 'a person answered: use PostgreSQL' }),
      t.fake,
    );
    assert.equal(second.error, undefined, second.error?.stack);
    const body = JSON.stringify(t.fake.messageRequests[1].body.messages);
    assert.match(body, /Which database should I use\?/, 'the same conversation');
    assert.match(body, /You reported that you were blocked/);
    assert.match(body, /use PostgreSQL/);
  });

  it('an interrupted session is resumed by the next attempt: finished turns are not run again', async () => {
    const file = path.join(t.sb.workspace, 'notes.txt');
    t.fake.enqueue(reply.toolUse('Write', { file_path: file, content: 'first\n' }, { id: 'toolu_first_write' }), {
      kind: 'hang',
    });
    // Attempt 1 runs out of time while the model "thinks" after the Write.
    const first = await runClaudeCode(taskInput(t.sb.workspace, { timeoutMs: 8_000 }), t.fake);
    assert.ok(first.error instanceof ApplicationFailure, String(first.error));
    assert.match(first.error.message, /time limit/);
    assert.equal((await sessionRecord(t.sb.workspace, 'checkout', '1.1')).outcome, 'interrupted');
    await fs.writeFile(file, 'changed by someone else\n');
    const before = t.fake.messageRequests.length;
    t.fake.enqueue(aopReply('resumed and finished'));
    const second = await runClaudeCode(
      taskInput(t.sb.workspace, { attempt: 2, previousFailure: 'attempt 1: time limit' }),
      t.fake,
    );
    assert.equal(second.error, undefined, second.error?.stack);
    assert.equal(second.result!.status, 'success');
    const resumed = t.fake.messageRequests[before];
    // The resumed conversation carries attempt 1's Write and its result: it was not asked for again.
    assert.ok(
      toolResultsIn(resumed.body).has('toolu_first_write'),
      JSON.stringify(resumed.body.messages).slice(0, 500),
    );
    assert.equal(await fs.readFile(file, 'utf8'), 'changed by someone else\n');
    assert.equal(t.fake.messageRequests.length, before + 1);
    const details = await readJson(path.join(t.sb.workspace, second.result!.detailsFile));
    assert.equal(details.conversation.mode, 'resumed');
  });
});
