/** The tools on their own: behaviour, limits and errors, without the model in the loop. */
import assert from 'node:assert/strict';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../src/activities/fs-atomic';
import { agentShellEnv, isSecretName } from '../../src/activities/agent/tools/bash-env';
import { HeadTailBuffer } from '../../src/activities/agent/tools/bash';
import { ALL_TOOLS, executeTool, toolDefinitions, type ToolContext } from '../../src/activities/agent/tools';
import { capText, offeredSchema, TOOL_RESULT_CAP_BYTES } from '../../src/activities/agent/tools/tool';
import { z } from 'zod';
import { makeSandbox, type Sandbox } from './helpers';

describe('tools', () => {
  let sb: Sandbox;
  let ctx: ToolContext;
  let abort: AbortController;
  const run = (name: string, input: unknown) => executeTool(ALL_TOOLS, name, input, ctx);
  beforeEach(async () => {
    sb = await makeSandbox();
    abort = new AbortController();
    ctx = {
      workspace: sb.workspace,
      env: process.env,
      signal: abort.signal,
      remainingMs: () => 60_000,
      changedFiles: new Set(),
    };
  });
  afterEach(() => sb.cleanup());

  it('definitions use Claude Code names and required inputs; the last one is a cache breakpoint', () => {
    const defs = toolDefinitions(ALL_TOOLS);
    assert.deepEqual(
      defs.map((d) => [d.name, (d.input_schema as any).required]),
      [
        ['Read', ['file_path']],
        ['Write', ['file_path', 'content']],
        ['Edit', ['file_path', 'old_string', 'new_string']],
        ['Glob', ['pattern']],
        ['Grep', ['pattern']],
        ['Bash', ['command']],
      ],
    );
    assert.deepEqual(defs.at(-1)!.cache_control, { type: 'ephemeral' });
    assert.equal(defs[0].cache_control, undefined);
    assert.ok('-i' in (defs[4].input_schema.properties as object));
  });

  it('offers each tool the JSON Schema of the zod schema that checks its input, written once', () => {
    const defs = toolDefinitions(ALL_TOOLS);
    for (const [i, tool] of ALL_TOOLS.entries()) {
      assert.deepEqual(defs[i].input_schema, offeredSchema(tool.parse), tool.name);
      const { $schema, ...raw } = z.toJSONSchema(tool.parse, { io: 'input' }) as Record<string, any>;
      assert.equal(typeof $schema, 'string');
      // Only zod's safe-integer bounds on .int() are left out.
      assert.deepEqual(Object.keys(defs[i].input_schema.properties as object), Object.keys(raw.properties), tool.name);
      assert.deepEqual((defs[i].input_schema as any).required, raw.required, tool.name);
      for (const [name, prop] of Object.entries(defs[i].input_schema.properties as Record<string, any>)) {
        assert.ok(
          prop.maximum !== Number.MAX_SAFE_INTEGER && prop.minimum !== Number.MIN_SAFE_INTEGER,
          `${tool.name}.${name}`,
        );
        assert.ok(prop.description || name === 'output_mode', `${tool.name}.${name} is described for the model`);
      }
    }
    const dir = path.join(__dirname, '../../src/activities/agent/tools');
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'tool.ts')) {
      assert.doesNotMatch(
        readFileSync(path.join(dir, f), 'utf8'),
        /inputSchema: \{|type: 'object'/,
        `${f} writes no JSON Schema by hand`,
      );
    }
    // What the model is told about the limits the tools enforce (or, for timeout, apply).
    assert.deepEqual(defs[0].input_schema, {
      type: 'object',
      properties: {
        file_path: { type: 'string', minLength: 1, description: 'Path of the file to read' },
        offset: { type: 'integer', minimum: 0, description: 'Line number to start reading from (1-based)' },
        limit: { type: 'integer', minimum: 1, description: 'Number of lines to read' },
      },
      required: ['file_path'],
    });
    assert.deepEqual((defs[5].input_schema.properties as any).timeout, {
      type: 'integer',
      minimum: 1,
      maximum: 600_000,
      description: 'Time limit in milliseconds',
    });
  });

  it('Read takes offset 0 as the first line', async () => {
    await fs.writeFile(path.join(sb.workspace, 'f.txt'), 'one\ntwo\n');
    assert.equal((await run('Read', { file_path: 'f.txt', offset: 0 })).content, '     1\tone\n     2\ttwo');
  });

  describe('Read', () => {
    it('numbers lines and honours offset and limit', async () => {
      await fs.writeFile(path.join(sb.workspace, 'f.txt'), 'one\ntwo\nthree\nfour\n');
      const all = await run('Read', { file_path: 'f.txt' });
      assert.equal(all.content, '     1\tone\n     2\ttwo\n     3\tthree\n     4\tfour');
      const part = await run('Read', { file_path: 'f.txt', offset: 2, limit: 2 });
      assert.match(part.content, /^ {5}2\ttwo\n {5}3\tthree\n\[showing lines 2-3 of 4/);
      assert.equal((await run('Read', { file_path: 'f.txt', offset: 9 })).isError, true);
    });
    it('refuses directories and binary files', async () => {
      await fs.writeFile(path.join(sb.workspace, 'bin'), Buffer.from([0, 1, 2, 3]));
      assert.match((await run('Read', { file_path: '.' })).content, /is a directory/);
      assert.match((await run('Read', { file_path: 'bin' })).content, /binary/);
    });
  });

  describe('Write and Edit', () => {
    it('Write creates parent directories and records the change', async () => {
      const r = await run('Write', { file_path: 'deep/er/x.ts', content: 'x' });
      assert.equal(r.isError, false);
      assert.equal(await fs.readFile(path.join(sb.workspace, 'deep/er/x.ts'), 'utf8'), 'x');
      assert.deepEqual([...ctx.changedFiles], ['deep/er/x.ts']);
    });
    it("Write refuses phaseflow's own records", async () => {
      const r = await run('Write', { file_path: '.claude/cache/transcripts/p--1.1.jsonl', content: '{}' });
      assert.equal(r.isError, true);
      assert.match(r.content, /maintained by phaseflow/);
    });
    it('Edit needs a unique match unless replace_all, and replaces literally', async () => {
      const f = path.join(sb.workspace, 'e.txt');
      await fs.writeFile(f, 'a-b a-b');
      assert.match(
        (await run('Edit', { file_path: 'e.txt', old_string: 'a-b', new_string: 'x' })).content,
        /occurs 2 times/,
      );
      assert.match(
        (await run('Edit', { file_path: 'e.txt', old_string: 'zzz', new_string: 'x' })).content,
        /not found/,
      );
      assert.match(
        (await run('Edit', { file_path: 'e.txt', old_string: 'a-b', new_string: 'a-b' })).content,
        /identical/,
      );
      assert.equal(
        (await run('Edit', { file_path: 'e.txt', old_string: 'a-b', new_string: '$&$1', replace_all: true })).isError,
        false,
      );
      assert.equal(await fs.readFile(f, 'utf8'), '$&$1 $&$1');
      assert.equal((await run('Edit', { file_path: 'e.txt', old_string: '$&$1 ', new_string: '$$' })).isError, false);
      assert.equal(await fs.readFile(f, 'utf8'), '$$$&$1');
    });
    it('atomic writes keep the mode of the file they replace and leave no temp files', async () => {
      const f = path.join(sb.workspace, 'run.sh');
      await fs.writeFile(f, '#!/bin/sh\n', { mode: 0o755 });
      await writeFileAtomic(f, '#!/bin/sh\necho hi\n');
      assert.equal((await fs.stat(f)).mode & 0o777, 0o755);
      assert.deepEqual(await fs.readdir(sb.workspace), ['run.sh']);
    });
  });

  describe('Glob and Grep', () => {
    beforeEach(async () => {
      await fs.mkdir(path.join(sb.workspace, 'src/lib'), { recursive: true });
      await fs.mkdir(path.join(sb.workspace, 'node_modules/dep'), { recursive: true });
      await fs.writeFile(path.join(sb.workspace, 'src/a.ts'), 'export const Alpha = 1;\n');
      await fs.writeFile(path.join(sb.workspace, 'src/lib/b.ts'), 'const beta = 2;\nconst alpha = 3;\n');
      await fs.writeFile(path.join(sb.workspace, 'src/c.md'), 'alpha docs\n');
      await fs.writeFile(path.join(sb.workspace, 'node_modules/dep/index.ts'), 'alpha\n');
      const old = new Date(Date.now() - 60_000);
      await fs.utimes(path.join(sb.workspace, 'src/a.ts'), old, old);
    });
    it('Glob matches patterns, newest first, skipping node_modules', async () => {
      assert.equal((await run('Glob', { pattern: '**/*.ts' })).content, 'src/lib/b.ts\nsrc/a.ts');
      assert.equal((await run('Glob', { pattern: '*.ts', path: 'src' })).content, 'src/a.ts');
      assert.equal((await run('Glob', { pattern: '*.nothing' })).content, 'No files found');
    });
    it('Grep finds files, lines and counts; -i and glob filter', async () => {
      assert.equal((await run('Grep', { pattern: 'alpha' })).content, 'src/c.md\nsrc/lib/b.ts');
      assert.equal(
        (await run('Grep', { pattern: 'alpha', '-i': true, glob: '*.ts' })).content,
        'src/a.ts\nsrc/lib/b.ts',
      );
      assert.equal(
        (await run('Grep', { pattern: 'alpha', output_mode: 'content', path: 'src/lib' })).content,
        'src/lib/b.ts:2:const alpha = 3;',
      );
      assert.equal(
        (await run('Grep', { pattern: 'const', output_mode: 'count', path: 'src/lib/b.ts' })).content,
        'src/lib/b.ts:2',
      );
      assert.match((await run('Grep', { pattern: '(' })).content, /invalid regular expression/);
    });
  });

  describe('Bash', () => {
    it('runs in the workspace; a non-zero exit is an error with the output', async () => {
      const ok = await run('Bash', { command: 'pwd; echo out; echo err >&2' });
      assert.equal(ok.isError, false);
      assert.equal(ok.content, `${sb.workspace}\nout\nerr\n`);
      const bad = await run('Bash', { command: 'echo before; exit 3' });
      assert.equal(bad.isError, true);
      assert.match(bad.content, /before\n[\s\S]*\[exit code 3\]/);
    });
    it('kills the whole process group on timeout', async () => {
      const marker = path.join(sb.workspace, 'survivor');
      const t0 = Date.now();
      const r = await run('Bash', { command: `(sleep 2; touch ${marker}) & sleep 30`, timeout: 300 });
      assert.equal(r.isError, true);
      assert.match(r.content, /timed out after 300 ms/);
      assert.ok(Date.now() - t0 < 3_000);
      await new Promise((res) => setTimeout(res, 2_500));
      await assert.rejects(fs.stat(marker), 'the background child was killed too');
    });
    it('returns when the command exits, killing what it left running in the background', async () => {
      const t0 = Date.now();
      const r = await run('Bash', { command: 'sleep 30 & echo started' });
      assert.equal(r.content, 'started\n');
      assert.ok(Date.now() - t0 < 1_500);
    });
    it('is aborted by cancellation', async () => {
      setTimeout(() => abort.abort(), 200);
      const r = await run('Bash', { command: 'sleep 30' });
      assert.equal(r.isError, true);
      assert.match(r.content, /aborted/);
    });
    it('caps the output, keeping head and tail and saying so', async () => {
      const r = await run('Bash', { command: 'echo START; head -c 200000 /dev/zero | tr "\\0" x; echo; echo END' });
      assert.equal(r.isError, false);
      assert.ok(Buffer.byteLength(r.content) < TOOL_RESULT_CAP_BYTES + 200);
      assert.match(r.content, /^START/);
      assert.match(r.content, /END\n$/);
      assert.match(r.content, /output truncated: \d+ of 200\d+ bytes omitted/);
    });
    it('environment: allowlisted, no secrets, HOME is the workspace', () => {
      const env = agentShellEnv(
        {
          PATH: '/bin',
          LANG: 'C.UTF-8',
          ANTHROPIC_API_KEY: 'k',
          GITHUB_TOKEN: 't',
          TEMPORAL_ADDRESS: 'a',
          AWS_SECRET_ACCESS_KEY: 's',
          HOME: '/root',
          RANDOM_VAR: 'r',
        },
        sb.workspace,
      );
      assert.equal(env.PATH, '/bin');
      assert.equal(env.LANG, 'C.UTF-8');
      assert.equal(env.HOME, sb.workspace);
      for (const k of ['ANTHROPIC_API_KEY', 'GITHUB_TOKEN', 'TEMPORAL_ADDRESS', 'AWS_SECRET_ACCESS_KEY', 'RANDOM_VAR'])
        assert.equal(env[k], undefined, k);
      for (const k of [
        'OPENAI_API_KEY',
        'NPM_TOKEN',
        'DB_PASSWORD',
        'MY_SECRET_THING',
        'GITHUB_APP_ID',
        'TEMPORAL_NAMESPACE',
      ])
        assert.ok(isSecretName(k), k);
    });
  });

  describe('result caps', () => {
    it('capText keeps results under the cap and marks the cut', () => {
      const big = 'a'.repeat(50_000) + 'THE END';
      const capped = capText(big);
      assert.ok(Buffer.byteLength(capped) < TOOL_RESULT_CAP_BYTES + 100);
      assert.match(capped, /output truncated: 20007 of 50007 bytes omitted/);
      assert.ok(capped.endsWith('THE END'));
      assert.equal(capText('small'), 'small');
    });
    it('HeadTailBuffer streams without holding everything', () => {
      const b = new HeadTailBuffer(30);
      for (let i = 0; i < 100; i++) b.push(Buffer.from(`${i % 10}`));
      const t = b.text();
      assert.match(
        t,
        /^0123456789\n\[\.\.\. output truncated: 70 of 100 bytes omitted \.\.\.\]\n01234567890123456789$/,
      );
    });
    it('a large Read result is capped before it reaches the model', async () => {
      await fs.writeFile(path.join(sb.workspace, 'big.txt'), `${'line of text\n'.repeat(1900)}`);
      const r = await run('Read', { file_path: 'big.txt' });
      assert.ok(Buffer.byteLength(r.content) <= TOOL_RESULT_CAP_BYTES + 100);
      assert.match(r.content, /output truncated/);
    });
  });
});
