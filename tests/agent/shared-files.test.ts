/**
 * Agents sharing a workspace (the activity against the fake Messages API): Write refuses to
 * replace a file the conversation never read, Write and Edit refuse a file that changed since the
 * conversation last read it, and each says what to do. A resumed conversation keeps what it saw.
 */
import assert from 'node:assert/strict';
import { promises as fs, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { transcriptPath } from '../../src/domain/paths';
import { reply } from '../fake-anthropic/server';
import { runAgent, taskInput, toolResults, useSandboxAndFake } from './helpers';

describe('files shared by parallel agents', () => {
  const rig = useSandboxAndFake();
  const file = (rel: string) => path.join(rig.sb.workspace, rel);

  it('Write over an existing file this conversation has not read is refused; after a Read it goes through', async () => {
    await fs.writeFile(file('shared.ts'), 'written by another task\n');
    rig.fake.enqueue(
      reply.toolUse('Write', { file_path: 'shared.ts', content: 'mine\n' }),
      reply.toolUse('Read', { file_path: 'shared.ts' }),
      reply.toolUse('Write', { file_path: 'shared.ts', content: 'mine, with theirs kept\n' }),
      reply.aop('done'),
    );
    const { result, error } = await runAgent(taskInput(rig.sb.workspace), rig.fake);
    assert.equal(error, undefined, String(error));
    const [, afterWrite, , afterSecondWrite] = rig.fake.messageRequests;
    const refused = toolResults(afterWrite.body)[0];
    assert.equal(refused.is_error, true);
    assert.match(
      refused.content,
      /shared\.ts already exists and this conversation has not read it; nothing was written\. Read it first/,
    );
    assert.equal(toolResults(afterSecondWrite.body)[0].is_error, undefined);
    assert.equal(await fs.readFile(file('shared.ts'), 'utf8'), 'mine, with theirs kept\n');
    assert.equal(result!.status, 'success');
  });

  it('Edit (and Write) of a file that changed since this conversation read it are refused', async () => {
    await fs.writeFile(file('cfg.txt'), 'port=1\n');
    rig.fake.enqueue(
      reply.toolUse('Read', { file_path: 'cfg.txt' }),
      // Another agent changes the file between this agent's turns (before the Edit runs).
      () => {
        writeFileSync(file('cfg.txt'), 'port=1\nhost=a\n');
        return reply.toolUse('Edit', { file_path: 'cfg.txt', old_string: 'port=1', new_string: 'port=2' });
      },
      reply.toolUse('Write', { file_path: 'cfg.txt', content: 'port=3\n' }),
      reply.aop('done', 'partial'),
    );
    const run = runAgent(taskInput(rig.sb.workspace), rig.fake);
    const { error } = await run;
    assert.equal(error, undefined, String(error));
    const [, , afterEdit, afterWrite] = rig.fake.messageRequests;
    assert.match(
      toolResults(afterEdit.body)[0].content,
      /cfg\.txt has changed since this conversation last read it .*nothing was edited\. Read it again/,
    );
    assert.match(toolResults(afterWrite.body)[0].content, /cfg\.txt has changed since this conversation last read it/);
    assert.equal(await fs.readFile(file('cfg.txt'), 'utf8'), 'port=1\nhost=a\n', "the other agent's change stands");
  });

  it('a file the conversation wrote itself can be edited and rewritten; a new file needs no read', async () => {
    rig.fake.enqueue(
      reply.toolUse('Write', { file_path: 'own.txt', content: 'a\n' }),
      reply.toolUse('Edit', { file_path: 'own.txt', old_string: 'a', new_string: 'b' }),
      reply.toolUse('Write', { file_path: 'own.txt', content: 'c\n' }),
      reply.aop('done'),
    );
    const { error } = await runAgent(taskInput(rig.sb.workspace), rig.fake);
    assert.equal(error, undefined, String(error));
    for (const r of rig.fake.messageRequests.slice(1)) assert.equal(toolResults(r.body)[0].is_error, undefined);
    assert.equal(await fs.readFile(file('own.txt'), 'utf8'), 'c\n');
  });

  it('a conversation resumed from its transcript still counts the files it read as read', async () => {
    await fs.writeFile(file('kept.txt'), 'old\n');
    rig.fake.enqueue(reply.toolUse('Read', { file_path: 'kept.txt' }, { id: 'toolu_read' }), {
      kind: 'hang',
    } as const);
    const first = runAgent(taskInput(rig.sb.workspace, { timeoutMs: 3_000 }), rig.fake);
    const r1 = await first;
    assert.ok(r1.error, 'attempt 1 ran into its limit');
    const lines = (await fs.readFile(file(transcriptPath('checkout', '1.1')), 'utf8')).trim().split('\n');
    assert.ok(lines.some((l) => JSON.parse(l).type === 'turn'));
    rig.fake.enqueue(reply.toolUse('Write', { file_path: 'kept.txt', content: 'new\n' }), reply.aop('done'));
    const r2 = await runAgent(taskInput(rig.sb.workspace, { attempt: 2 }), rig.fake);
    assert.equal(r2.error, undefined, String(r2.error));
    const afterWrite = rig.fake.messageRequests.at(-1)!;
    assert.equal(toolResults(afterWrite.body)[0].is_error, undefined);
    assert.equal(await fs.readFile(file('kept.txt'), 'utf8'), 'new\n');
  });
});
