/**
 * Invalid epic specs: every one is refused with a SpecError naming the file, the field path and
 * what is wrong (fixtures in tests/spec/fixtures/bad), before anything starts or is written. The
 * epic workflow applies the same checks to raw input (a plain `temporal workflow start --input`).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { loadEpicFile, MAX_SPEC_BYTES, SpecError, SpecFileError } from '../../src/domain/load-spec';
import {
  eventTypeName,
  fetchEvents,
  ids,
  startEpic,
  tempWorkspace,
  uniqueName,
  withWorker,
  workflowExists,
} from '../support/worker-harness';

const FIXTURES = path.join(__dirname, 'fixtures', 'bad');

interface Case {
  file: string;
  /** What the problem line starts with: a field path, "(root)" or a YAML position. */
  path: string;
  fragment: string | RegExp;
  /** More problems expected in the same error (each `path: fragment`). */
  also?: [string, string | RegExp][];
}

const TASK = 'roadmaps[0].plans[0].phases[0].tasks';

const CASES: Case[] = [
  // Wrong types
  {
    file: 'wrong-type-max-parallel.yaml',
    path: 'settings.maxParallel',
    fragment: 'expected number, got string "four"',
  },
  { file: 'wrong-type-depends-on.json', path: `${TASK}[1].dependsOn`, fragment: 'expected array, got string "a"' },
  { file: 'bad-enum-agent-mode.yaml', path: 'agentMode', fragment: /expected one of "dry-run"\|"claude"/ },
  {
    file: 'gate-command-wrong-type.yaml',
    path: 'roadmaps[0].plans[0].phases[0].gate.commands[1]',
    fragment: 'expected a command string, or an object {run, timeoutSeconds?, name?}',
  },
  // Missing required fields
  {
    file: 'missing-phase-title.yaml',
    path: 'roadmaps[0].plans[0].phases[0].title',
    fragment: 'expected string, got nothing (missing)',
  },
  { file: 'missing-roadmaps.yaml', path: 'roadmaps', fragment: 'expected array, got nothing (missing)' },
  {
    file: 'empty-tasks.yaml',
    path: 'roadmaps[0].plans[0].phases[0].tasks',
    fragment: 'a phase needs at least one task',
  },
  // Unknown fields
  { file: 'unknown-field.yaml', path: `${TASK}[1].depends_on`, fragment: 'unknown field "depends_on"' },
  { file: 'unknown-top-level-field.json', path: 'maxParallel', fragment: 'unknown field "maxParallel"' },
  // Slugs
  { file: 'bad-slug.yaml', path: 'slug', fragment: 'expected a slug' },
  { file: 'bad-phase-slug.yaml', path: 'roadmaps[0].plans[0].phases[0].slug', fragment: 'expected a slug' },
  // Structure
  {
    file: 'duplicate-task-ids.yaml',
    path: 'roadmaps[0].plans[0].phases[1].tasks[1].id',
    fragment: 'duplicate task id "1.1" in plan p: already used by roadmaps[0].plans[0].phases[0].tasks[0]',
  },
  {
    file: 'duplicate-phase-slugs.yaml',
    path: 'roadmaps[0].plans[0].phases[1].slug',
    fragment: 'duplicate phase slug "build": already used by roadmaps[0].plans[0].phases[0]',
  },
  { file: 'dependency-cycle.yaml', path: `${TASK}[1].dependsOn`, fragment: /dependency cycle: a -> c -> b -> a/ },
  { file: 'missing-dependency.yaml', path: `${TASK}[1].dependsOn[0]`, fragment: 'no task "zz" in this phase' },
  {
    file: 'command-without-command.yaml',
    path: `${TASK}[0].command`,
    fragment: 'a task of kind "command" needs a command',
  },
  {
    file: 'require-tests-without-gate.yaml',
    path: 'roadmaps[0].plans[0].phases[1].gate.commands',
    fragment: 'gating.require_tests is set',
  },
  {
    file: 'several-problems.yaml',
    path: 'slug',
    fragment: 'expected a slug',
    also: [
      ['title', 'expected a non-empty title'],
      [`${TASK}[0].dependsOn[0]`, 'no task "missing"'],
      [`${TASK}[1].command`, 'needs a command'],
    ],
  },
  // Not a usable document
  {
    file: 'invalid-yaml-syntax.yaml',
    path: 'line 7, column 5',
    fragment: /: Flow sequence in block collection must be sufficiently indented and end with a \]$/,
  },
  { file: 'invalid-json-syntax.json', path: '(root)', fragment: 'not valid JSON' },
  { file: 'duplicate-yaml-keys.yaml', path: 'line 4, column 1', fragment: /: Map keys must be unique$/ },
  { file: 'alias-bomb.yaml', path: '(root)', fragment: /YAML could not be expanded: Excessive alias count/ },
  { file: 'non-utf8.yaml', path: '(root)', fragment: 'not valid UTF-8 (first bad byte at offset 24)' },
  // The stray byte (0xff) comes after valid multi-byte characters, at byte offset 47.
  { file: 'non-utf8-after-multibyte.yaml', path: '(root)', fragment: 'not valid UTF-8 (first bad byte at offset 47)' },
  { file: 'empty.yaml', path: '(root)', fragment: 'file is empty' },
  { file: 'array.json', path: '(root)', fragment: 'expected object, got array' },
];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The problem line `  <path> (line N): <message>` for `path` in a SpecError message (a file's errors name lines). */
function problemLine(message: string, p: string): string | undefined {
  return message.split('\n').find((l) => new RegExp(`^  ${escape(p)}(?: \\(line \\d+\\))?: `).test(l));
}

function expectSpecError(file: string, expected: [string, string | RegExp][]): SpecError {
  let error: unknown;
  try {
    loadEpicFile(file);
  } catch (e) {
    error = e;
  }
  assert.ok(error, `${path.basename(file)} was accepted`);
  assert.ok(
    error instanceof SpecError,
    `expected a SpecError, got ${(error as Error).name}: ${(error as Error).message}`,
  );
  assert.ok(error.message.startsWith(`${file}: `), `the error names the file: ${error.message}`);
  for (const [p, fragment] of expected) {
    const line = problemLine(error.message, p);
    assert.ok(line, `no problem reported at "${p}" in:\n${error.message}`);
    if (typeof fragment === 'string')
      assert.ok(line.includes(fragment), `"${line.trim()}" should contain "${fragment}"`);
    else assert.match(line, fragment);
  }
  assert.equal(error.problems.length, expected.length, `exactly the expected problems:\n${error.message}`);
  // A field path in a file is found by its line too (the file as a whole and YAML positions have none).
  for (const p of error.problems)
    if (p.path && !p.path.startsWith('line ')) assert.ok(p.line, `no line for ${p.path} in:\n${error.message}`);
  return error;
}

describe('bad epic specs', () => {
  it('has a fixture for every case and a case for every fixture', () => {
    const files = fs.readdirSync(FIXTURES).sort();
    assert.deepEqual(files, CASES.map((c) => c.file).sort());
  });

  for (const c of CASES) {
    it(`${c.file}: ${c.path} ${c.fragment}`, () => {
      const t0 = Date.now();
      expectSpecError(path.join(FIXTURES, c.file), [[c.path, c.fragment], ...(c.also ?? [])]);
      assert.ok(Date.now() - t0 < 2000, 'refused quickly');
    });
  }

  it(`refuses a file over ${MAX_SPEC_BYTES} bytes without parsing it`, () => {
    const file = path.join(tempWorkspace('phaseflow-spec-'), 'huge.yaml');
    const header = 'slug: huge\ntitle: Huge\nworkspace: ./ws\n';
    fs.writeFileSync(file, header + '#'.repeat(MAX_SPEC_BYTES - header.length) + '\n');
    assert.equal(fs.statSync(file).size, MAX_SPEC_BYTES + 1);
    expectSpecError(file, [
      ['(root)', `file is ${MAX_SPEC_BYTES + 1} bytes; an epic spec may be at most ${MAX_SPEC_BYTES} bytes`],
    ]);
  });

  // Nothing to judge: a usage error (SpecFileError, exit 1 in the CLI), not a bad spec.
  for (const [what, make, reason] of [
    ['does not exist', (dir: string) => path.join(dir, 'nope.yaml'), 'no such file'],
    ['is a directory', (dir: string) => dir, 'is a directory, expected a YAML or JSON spec file'],
    [
      'sits under a file',
      (dir: string) => (fs.writeFileSync(path.join(dir, 'f'), ''), path.join(dir, 'f', 'x.yaml')),
      'no such file (a part of the path is not a directory)',
    ],
  ] as const) {
    it(`refuses a path that ${what}, naming it`, () => {
      const file = make(tempWorkspace('phaseflow-spec-'));
      assert.throws(
        () => loadEpicFile(file),
        (e: unknown) => {
          assert.ok(e instanceof SpecFileError, `expected a SpecFileError, got ${e}`);
          assert.equal(e.message, `${file}: ${reason}`);
          return true;
        },
      );
    });
  }
});

describe('the epic workflow refuses invalid raw input (temporal workflow start --input)', function () {
  this.timeout(60_000);

  const raw = (slug: string, workspace: string) => ({
    slug,
    title: 'Raw input',
    workspace,
    agentMode: 'dry-run',
    roadmaps: [
      {
        slug: 'r',
        title: 'Roadmap',
        plans: [
          {
            slug: 'p',
            title: 'Plan',
            phases: [
              {
                slug: 'one',
                title: 'One',
                tasks: [
                  { id: 'a', description: 'first' },
                  { id: 'b', description: 'second', dependsOn: ['zz'] },
                ],
              },
            ],
          },
        ],
      },
    ],
  });

  const variants: { name: string; make: (slug: string, ws: string) => unknown; path: string; fragment: string }[] = [
    {
      name: 'dependsOn naming a missing task',
      make: raw,
      path: `${TASK}[1].dependsOn[0]`,
      fragment: 'no task "zz" in this phase',
    },
    {
      name: 'an unknown field',
      make: (slug, ws) => {
        const spec: any = raw(slug, ws);
        spec.roadmaps[0].plans[0].phases[0].tasks[1] = { id: 'b', description: 'second', dependsOn: ['a'], retries: 5 };
        return spec;
      },
      path: `${TASK}[1].retries`,
      fragment: 'unknown field "retries"',
    },
    {
      name: 'a wrong type',
      make: (slug, ws) => ({ ...raw(slug, ws), settings: { maxParallel: '3' } }),
      path: 'settings.maxParallel',
      fragment: 'expected number, got string "3"',
    },
  ];

  for (const v of variants) {
    it(`fails with InvalidSpec naming the field path (${v.name}); no child workflow, no mirror file`, async () => {
      const slug = uniqueName('raw');
      const taskQueue = uniqueName('tq-raw');
      const ws = path.join(tempWorkspace('phaseflow-raw-'), 'workspace');
      const err = await withWorker(taskQueue, async () => {
        const handle = await startEpic(taskQueue, v.make(slug, ws), slug);
        return handle.result().then(
          () => assert.fail('the epic accepted an invalid spec'),
          (e) => e,
        );
      });
      assert.ok(err instanceof WorkflowFailedError, `expected WorkflowFailedError, got ${err}`);
      assert.ok(err.cause instanceof ApplicationFailure, `expected an ApplicationFailure, got ${err.cause}`);
      assert.equal(err.cause.type, 'InvalidSpec');
      assert.equal(err.cause.nonRetryable, true);
      assert.ok(err.cause.message.startsWith('workflow input: '), err.cause.message);
      const line = problemLine(err.cause.message, v.path);
      assert.ok(line, `no problem at ${v.path} in: ${err.cause.message}`);
      assert.ok(line.includes(v.fragment), `"${line.trim()}" should contain "${v.fragment}"`);

      // Nothing started: no activity, no child workflow, nothing written.
      const events = (await fetchEvents(ids.epic(slug))).map(eventTypeName);
      assert.equal(
        events.filter((e) => /ACTIVITY_TASK_SCHEDULED|START_CHILD_WORKFLOW/.test(e)).length,
        0,
        events.join(', '),
      );
      assert.equal(events[events.length - 1], 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED');
      assert.equal(await workflowExists(ids.roadmap(slug, 'r')), false, 'no roadmap workflow');
      assert.equal(await workflowExists(ids.plan(slug, 'r', 'p')), false, 'no plan workflow');
      assert.equal(fs.existsSync(ws), false, 'the workspace was not even created (so no mirror file)');
    });
  }
});
