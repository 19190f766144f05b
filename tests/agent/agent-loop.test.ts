/** The tool-use loop end to end against the fake API: files, AOP result, details file, request shape. */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { SUMMARY_CAPS } from '../../src/domain/spec';
import { reply } from '../fake-anthropic/server';
import { readJson, runAgent, taskInput, TEST_KEY, toolResults, useSandboxAndFake } from './helpers';

describe('agent loop', () => {
  const rig = useSandboxAndFake();

  it('writes then edits files and returns the AOP result, details in the details file', async () => {
    const longSummary = `Created src/greet.ts and edited it to greet politely. ${'x'.repeat(500)}`;
    rig.fake.enqueue(
      reply.toolUse(
        'Write',
        { file_path: 'src/greet.ts', content: 'export const greet = (n: string) => `hi ${n}`;\n' },
        { text: 'Creating the module.' },
      ),
      reply.toolUses([
        { name: 'Edit', input: { file_path: 'src/greet.ts', old_string: 'hi ${n}', new_string: 'Hello, ${n}!' } },
        { name: 'Write', input: { file_path: path.join(rig.sb.workspace, 'README.md'), content: '# greet\n' } },
      ]),
      reply.toolUse('Read', { file_path: 'src/greet.ts' }),
      reply.aop(longSummary, 'success', { before: 'All done. The module greets politely.' }),
    );
    const { result, error, heartbeats } = await runAgent(taskInput(rig.sb.workspace), rig.fake);
    assert.equal(error, undefined);
    assert.ok(result);

    assert.equal(
      await fs.readFile(path.join(rig.sb.workspace, 'src/greet.ts'), 'utf8'),
      'export const greet = (n: string) => `Hello, ${n}!`;\n',
    );
    assert.equal(await fs.readFile(path.join(rig.sb.workspace, 'README.md'), 'utf8'), '# greet\n');

    assert.equal(result.status, 'success');
    assert.equal(result.taskId, '1.1');
    assert.equal(result.attempt, 1);
    assert.equal(result.filesChanged, 2);
    assert.equal(result.detailsFile, '.claude/cache/agent-outputs/checkout--1.1-1.json');
    assert.equal([...result.summary].length, SUMMARY_CAPS.code);
    assert.ok(result.summary.startsWith('Created src/greet.ts'));
    assert.ok(result.summary.endsWith('…'));
    assert.ok(JSON.stringify(result).length < 2_000, 'only a small result travels up');
    assert.ok(heartbeats.length >= 4, 'heartbeats every turn');
    // The 1 s timer may beat before the first model call on a slow machine (turn 0); turns only grow.
    const turns = heartbeats.map((h: any) => h.turn as number);
    assert.equal(
      turns.find((t) => t > 0),
      1,
    );
    assert.deepEqual(
      [...turns].sort((a, b) => a - b),
      turns,
    );

    // The model saw its tool results.
    const reqs = rig.fake.messageRequests;
    assert.equal(reqs.length, 4);
    const r3 = toolResults(reqs[3].body);
    assert.equal(r3.length, 1);
    assert.match(r3[0].content, /1\texport const greet = \(n: string\) => `Hello, \$\{n\}!`;/);
    const r2 = toolResults(reqs[2].body);
    assert.deepEqual(
      r2.map((r) => r.is_error ?? false),
      [false, false],
    );

    const details = await readJson(path.join(rig.sb.workspace, result.detailsFile));
    assert.match(details.finalText, /All done\. The module greets politely\./);
    assert.equal(details.fullSummary, longSummary);
    assert.deepEqual(
      details.toolCalls.map((c: any) => c.name),
      ['Write', 'Edit', 'Write', 'Read'],
    );
    for (const c of details.toolCalls) {
      assert.equal(typeof c.resultBytes, 'number');
      assert.equal(typeof c.durationMs, 'number');
      assert.equal(c.isError, false);
    }
    assert.deepEqual(details.filesChanged, ['README.md', 'src/greet.ts']);
    assert.equal(details.calls.length, 4);
    assert.match(details.calls[0].requestId, /^req_fake_/);
    assert.equal(details.model, 'claude-haiku-4-5');
    assert.deepEqual(details.usage, result.usage);
    assert.deepEqual(details.compactions, []);
  });

  it('caps the summary by output type', async () => {
    for (const outputType of ['search', 'analysis', 'code', 'tests', 'build'] as const) {
      rig.fake.enqueue(reply.aop('s'.repeat(2000)));
      const { result } = await runAgent(
        taskInput(rig.sb.workspace, { task: { id: `cap-${outputType}`, outputType } }),
        rig.fake,
      );
      assert.equal([...result!.summary].length, SUMMARY_CAPS[outputType], outputType);
    }
  });

  it('sends a cacheable prefix, the workspace rules and the AOP block; the key only as auth', async () => {
    rig.fake.enqueue(reply.aop('ok'));
    const { result } = await runAgent(
      taskInput(rig.sb.workspace, { task: { domain: 'frontend', files: ['src/App.tsx', 'src/App.css'] } }),
      rig.fake,
    );
    assert.equal(result!.status, 'success');
    const req = rig.fake.messageRequests[0];
    assert.equal(req.auth, 'bearer');
    assert.ok(!JSON.stringify(req.headers).includes(TEST_KEY));
    const { system, tools, messages, stream } = req.body;
    assert.equal(stream, true);
    assert.deepEqual(system.at(-1).cache_control, { type: 'ephemeral' });
    // The specialist's part is the same for every task of its domain: parallel agents share it.
    assert.deepEqual(system[0].cache_control, { type: 'ephemeral' });
    assert.deepEqual(tools.at(-1).cache_control, { type: 'ephemeral' });
    const breakpoints = JSON.stringify(req.body).split('"cache_control"').length - 1;
    assert.equal(breakpoints, 4, 'tools, specialist, task and the last message: the API allows at most 4');
    assert.deepEqual(
      tools.map((t: any) => t.name),
      ['Read', 'Write', 'Edit', 'Glob', 'Grep', 'Bash'],
    );
    const sys = system.map((b: any) => b.text).join('\n');
    assert.match(sys, /frontend engineer/);
    assert.match(sys, /Epic: Web shop \(shop\)/);
    assert.match(sys, /Plan: Checkout flow \(checkout\)/);
    assert.match(sys, /Phase 1: API \(api\)/);
    assert.match(sys, /- src\/App\.tsx\n- src\/App\.css/);
    assert.match(sys, /\[AOP:SUMMARY\] <[^>]*at most 300 characters>/);
    assert.match(sys, /\[AOP:DETAILS_FILE\] \.claude\/cache\/agent-outputs\/checkout--1\.1-1\.json/);
    assert.match(sys, /\[AOP:STATUS\] success\|failure\|partial/);
    assert.match(sys, /outside it is refused/);
    assert.equal(messages.length, 1);
  });

  it('a retried attempt offers Read and Write only and says why the last one failed', async () => {
    rig.fake.enqueue(reply.toolUse('Bash', { command: 'ls' }), reply.aop('ok'));
    const input = taskInput(rig.sb.workspace, {
      attempt: 2,
      reducedTools: true,
      previousFailure: 'Transient: model stream stalled',
    });
    const { result } = await runAgent(input, rig.fake);
    assert.equal(result!.status, 'success');
    const [first, second] = rig.fake.messageRequests;
    assert.deepEqual(
      first.body.tools.map((t: any) => t.name),
      ['Read', 'Write'],
    );
    const firstText = JSON.stringify(first.body.messages[0].content);
    assert.match(firstText, /attempt 2 of 3/);
    assert.match(firstText, /previous attempt did not succeed: Transient: model stream stalled/);
    assert.match(firstText, /only the Read and Write tools/);
    const [bash] = toolResults(second.body);
    assert.equal(bash.is_error, true);
    assert.match(bash.content, /unknown tool "Bash"/);
  });

  it('missing AOP markers: summary is the tail of the text, status partial', async () => {
    const text = `I did some things. ${'y'.repeat(300)} and stopped here`;
    rig.fake.enqueue(reply.text(text));
    const { result } = await runAgent(taskInput(rig.sb.workspace, { task: { outputType: 'analysis' } }), rig.fake);
    assert.equal(result!.status, 'partial');
    assert.equal(result!.summary, text.slice(-200));
  });

  it('stops at the turn limit with a failure result', async () => {
    for (let i = 0; i < 3; i++) rig.fake.enqueue(reply.toolUse('Glob', { pattern: '*' }));
    const { result } = await runAgent(taskInput(rig.sb.workspace), rig.fake, { maxTurns: 3 });
    assert.equal(result!.status, 'failure');
    assert.match(result!.summary, /turn limit \(3 turns\)/);
    assert.equal(rig.fake.messageRequests.length, 3);
  });

  it('a tool that fails does not end the loop (is_error result, then the model goes on)', async () => {
    rig.fake.enqueue(
      reply.toolUse('Read', { file_path: 'missing.txt' }),
      reply.toolUse('Edit', { file_path: 'missing.txt', old_string: 'a', new_string: 'b' }),
      reply.aop('handled', 'partial'),
    );
    const { result } = await runAgent(taskInput(rig.sb.workspace), rig.fake);
    assert.equal(result!.status, 'partial');
    const [, second, third] = rig.fake.messageRequests;
    assert.equal(toolResults(second.body)[0].is_error, true);
    assert.match(toolResults(second.body)[0].content, /file not found: missing\.txt/);
    assert.equal(toolResults(third.body)[0].is_error, true);
  });

  it('max_tokens: a cut-off tool call is not run; the model is asked to continue', async () => {
    rig.fake.enqueue(
      {
        ...reply.toolUse('Write', { file_path: 'half.txt', content: 'trunc' }, { id: 'toolu_cut' }),
        stop_reason: 'max_tokens',
      },
      reply.aop('done'),
    );
    const { result } = await runAgent(taskInput(rig.sb.workspace), rig.fake);
    assert.equal(result!.status, 'success');
    await assert.rejects(fs.stat(path.join(rig.sb.workspace, 'half.txt')));
    const last = rig.fake.messageRequests[1].body.messages.at(-1).content;
    assert.equal(last[0].type, 'tool_result');
    assert.equal(last[0].is_error, true);
    assert.match(last[1].text, /cut off by the output token limit/);
  });

  it('pause_turn: the assistant turn goes back as it is', async () => {
    rig.fake.enqueue(reply.text('Working on it', { stop_reason: 'pause_turn' }), reply.aop('done'));
    const { result } = await runAgent(taskInput(rig.sb.workspace), rig.fake);
    assert.equal(result!.status, 'success');
    const msgs = rig.fake.messageRequests[1].body.messages;
    assert.equal(msgs.length, 2);
    assert.equal(msgs[1].role, 'assistant');
    assert.equal(msgs[1].content[0].text, 'Working on it');
  });

  it('refusal: a failure result, not an error', async () => {
    rig.fake.enqueue(reply.text('I cannot help with that.', { stop_reason: 'refusal' }));
    const { result } = await runAgent(taskInput(rig.sb.workspace), rig.fake);
    assert.equal(result!.status, 'failure');
    assert.match(result!.summary, /declined the task/);
  });

  it('turns the final text into the details file even when the agent wrote a lot', async () => {
    const big = `${'Long explanation. '.repeat(2000)}\n[AOP:SUMMARY] short\n[AOP:DETAILS_FILE] x\n[AOP:STATUS] success`;
    rig.fake.enqueue(reply.text(big));
    const { result } = await runAgent(taskInput(rig.sb.workspace), rig.fake);
    assert.equal(result!.summary, 'short');
    const details = await readJson(path.join(rig.sb.workspace, result!.detailsFile));
    assert.equal(details.finalText, big);
  });
});
