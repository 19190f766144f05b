/**
 * Every path a tool touches stays inside the workspace; the shell gets no secrets. The agent is
 * driven through the fake API, so the checks cover what the model actually sees (is_error).
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { resolveInWorkspace } from '../../src/activities/agent/workspace';
import { reply } from '../fake-anthropic/server';
import { runAgent, snapshot, taskInput, TEST_KEY, toolResults, useSandboxAndFake } from './helpers';

describe('workspace confinement', () => {
  const rig = useSandboxAndFake();

  it('refuses every path that escapes, with is_error, and the loop goes on', async () => {
    await fs.symlink(rig.sb.sentinel, path.join(rig.sb.workspace, 'link-dir'));
    await fs.symlink(path.join(rig.sb.sentinel, 'keep.txt'), path.join(rig.sb.workspace, 'link-file'));
    await fs.symlink(path.join(rig.sb.sentinel, 'new-through-dangling.txt'), path.join(rig.sb.workspace, 'dangling'));
    await fs.writeFile(path.join(rig.sb.workspace, 'inside.txt'), 'inside\n');
    const before = await snapshot(rig.sb.sentinel);
    const outside = path.join(rig.sb.sentinel, 'new.txt');

    const escapes = [
      { name: 'Write', input: { file_path: '../x.txt', content: 'escaped' } },
      { name: 'Write', input: { file_path: '../sentinel/keep.txt', content: 'escaped' } },
      { name: 'Write', input: { file_path: 'sub/../../x.txt', content: 'escaped' } },
      { name: 'Write', input: { file_path: outside, content: 'escaped' } },
      { name: 'Read', input: { file_path: '/etc/passwd' } },
      {
        name: 'Edit',
        input: { file_path: path.join(rig.sb.sentinel, 'keep.txt'), old_string: 'untouched', new_string: 'edited' },
      },
      { name: 'Write', input: { file_path: 'link-dir/evil.txt', content: 'escaped' } },
      { name: 'Read', input: { file_path: 'link-dir/keep.txt' } },
      { name: 'Write', input: { file_path: 'link-file', content: 'escaped' } },
      { name: 'Edit', input: { file_path: 'link-file', old_string: 'untouched', new_string: 'edited' } },
      { name: 'Read', input: { file_path: 'link-file' } },
      { name: 'Write', input: { file_path: 'dangling', content: 'escaped' } },
      { name: 'Glob', input: { pattern: '*', path: '..' } },
      { name: 'Glob', input: { pattern: '*', path: rig.sb.sentinel } },
      { name: 'Glob', input: { pattern: '../sentinel/*' } },
      { name: 'Grep', input: { pattern: 'untouched', path: '../sentinel' } },
      { name: 'Grep', input: { pattern: 'root', path: '/etc' } },
      { name: 'Grep', input: { pattern: 'untouched', path: 'link-dir' } },
    ];
    rig.fake.enqueue(
      reply.toolUses(escapes),
      // Bash may cd out (it is not a file tool), but Write afterwards still resolves against the workspace.
      reply.toolUses([
        { name: 'Bash', input: { command: 'cd .. && pwd' } },
        { name: 'Write', input: { file_path: '../after-cd.txt', content: 'escaped' } },
        { name: 'Glob', input: { pattern: '**/*' } },
        { name: 'Grep', input: { pattern: 'untouched|inside' } },
        { name: 'Read', input: { file_path: path.join(rig.sb.workspace, 'inside.txt') } },
      ]),
      reply.aop('tried to escape; could not', 'failure'),
    );
    const { result, error } = await runAgent(taskInput(rig.sb.workspace), rig.fake);
    assert.equal(error, undefined);
    assert.equal(result!.status, 'failure');
    assert.equal(result!.filesChanged, 0);

    const first = toolResults(rig.fake.messageRequests[1].body);
    assert.equal(first.length, escapes.length);
    first.forEach((r, i) => {
      assert.equal(r.is_error, true, `${escapes[i].name} ${JSON.stringify(escapes[i].input)} → ${r.content}`);
      assert.match(
        r.content,
        /outside the workspace|dangling symlink|must be relative/,
        JSON.stringify(escapes[i].input),
      );
    });

    const [bash, writeAfterCd, glob, grep, readInside] = toolResults(rig.fake.messageRequests[2].body);
    assert.equal(bash.is_error ?? false, false);
    assert.equal(bash.content.trim(), rig.sb.root);
    assert.equal(writeAfterCd.is_error, true);
    // Listings show the workspace only, never what a symlink points out to.
    assert.ok(!glob.content.includes('keep.txt'), glob.content);
    assert.match(glob.content, /inside\.txt/);
    assert.equal(grep.content.trim(), 'inside.txt');
    assert.equal(readInside.is_error ?? false, false);

    assert.deepEqual(await snapshot(rig.sb.sentinel), before);
    assert.deepEqual((await fs.readdir(rig.sb.root)).sort(), ['sentinel', 'ws']);
  });

  it('the shell gets no secrets from the worker environment', async () => {
    const planted = {
      ANTHROPIC_API_KEY: 'sk-ant-planted-secret-value',
      ANTHROPIC_BASE_URL: 'http://planted.example',
      GITHUB_TOKEN: 'ghp_planted_token_value',
      TEMPORAL_ADDRESS: 'planted-temporal:7233',
      MY_SERVICE_SECRET: 'planted-secret-2',
      DB_PASSWORD: 'planted-password',
      OPENAI_API_KEY: 'planted-openai-key',
    };
    const saved = { ...process.env };
    Object.assign(process.env, planted);
    try {
      rig.fake.enqueue(reply.toolUse('Bash', { command: 'env' }), reply.aop('printed env'));
      // env: undefined → the activity reads process.env, as a real worker does.
      const { result, error } = await runAgent(taskInput(rig.sb.workspace), rig.fake, { env: undefined });
      assert.equal(error, undefined);
      assert.equal(result!.status, 'success');
    } finally {
      for (const k of Object.keys(planted)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
    const [envOut] = toolResults(rig.fake.messageRequests[1].body);
    assert.equal(envOut.is_error ?? false, false);
    for (const [name, value] of Object.entries(planted)) {
      assert.ok(!envOut.content.includes(value), `${name} leaked`);
      assert.ok(!envOut.content.includes(`${name}=`), `${name} leaked`);
    }
    assert.ok(!envOut.content.includes(TEST_KEY));
    assert.match(envOut.content, new RegExp(`^HOME=${rig.sb.workspace}$`, 'm'));
    assert.match(envOut.content, /^PATH=/m);
  });

  describe('resolveInWorkspace', () => {
    it('accepts paths inside, including ones that do not exist yet', async () => {
      assert.equal(await resolveInWorkspace(rig.sb.workspace, 'a/b/c.txt'), path.join(rig.sb.workspace, 'a/b/c.txt'));
      assert.equal(
        await resolveInWorkspace(rig.sb.workspace, path.join(rig.sb.workspace, 'x')),
        path.join(rig.sb.workspace, 'x'),
      );
      assert.equal(await resolveInWorkspace(rig.sb.workspace, 'a/../b'), path.join(rig.sb.workspace, 'b'));
      assert.equal(await resolveInWorkspace(rig.sb.workspace, '.'), rig.sb.workspace);
    });
    it('follows symlinks that stay inside', async () => {
      await fs.mkdir(path.join(rig.sb.workspace, 'real'));
      await fs.symlink(path.join(rig.sb.workspace, 'real'), path.join(rig.sb.workspace, 'alias'));
      assert.equal(
        await resolveInWorkspace(rig.sb.workspace, 'alias/new.txt'),
        path.join(rig.sb.workspace, 'real/new.txt'),
      );
    });
    it('rejects escapes', async () => {
      await fs.symlink('/', path.join(rig.sb.workspace, 'rootlink'));
      for (const p of [
        '..',
        '../ws-other',
        '/tmp',
        'rootlink/etc/passwd',
        'rootlink',
        `${rig.sb.workspace}-sibling/x`,
        '',
        'a\0b',
      ]) {
        await assert.rejects(resolveInWorkspace(rig.sb.workspace, p), { name: 'ToolError' }, JSON.stringify(p));
      }
    });
  });
});
