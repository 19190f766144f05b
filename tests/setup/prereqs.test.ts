/**
 * The README promises that `npm install && npm test` passes on a fresh machine. npm packages come
 * from package.json; every program the tests need comes from scripts/test-prereqs.js (`pretest`).
 * This reads the sources the tests run (tests/, src/, bench/, scripts/, bin/) and fails, naming
 * the file and the dependency, when a program is run that the prerequisites do not list, or a
 * package is imported that package.json does not declare (src/ from `dependencies`, since the
 * production image installs no devDependencies).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { scanSource, shellPrograms } from './scan-deps';

const REPO = path.resolve(__dirname, '../..');
const SCANNED_DIRS = ['tests', 'src', 'bench', 'scripts', 'bin'];

// eslint-disable-next-line @typescript-eslint/no-require-imports
const prereqs = require('../../scripts/test-prereqs.js') as {
  APT_PACKAGES: Record<string, string[]>;
  STACK_PACKAGES: Record<string, string[]>;
  OTHER_PROGRAMS: Record<string, string>;
  BASE_SYSTEM: string[];
};
const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

const KNOWN_PROGRAMS = new Set([
  ...Object.values(prereqs.APT_PACKAGES).flat(),
  ...Object.values(prereqs.STACK_PACKAGES).flat(),
  ...Object.keys(prereqs.OTHER_PROGRAMS),
  ...prereqs.BASE_SYSTEM,
]);

function sourceFiles(): string[] {
  const files: string[] = [];
  for (const dir of SCANNED_DIRS) {
    for (const entry of fs.readdirSync(path.join(REPO, dir), { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && /\.(ts|js)$/.test(entry.name))
        files.push(path.relative(REPO, path.join(entry.parentPath, entry.name)));
    }
  }
  return files.sort();
}

/** The npm package an import specifier names, or undefined for node builtins and relative paths. */
function packageOf(spec: string): string | undefined {
  if (
    spec.startsWith('.') ||
    spec.startsWith('/') ||
    spec.startsWith('node:') ||
    builtinModules.includes(spec.split('/')[0])
  )
    return undefined;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** What in `files` (repo-relative name -> text) is not installed by `npm install && npm test`. */
function problems(files: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [file, text] of files) {
    const needs = scanSource(file, text);
    for (const p of needs.programs) {
      if (!KNOWN_PROGRAMS.has(p.name)) {
        out.push(
          `${file}:${p.line}: runs \`${p.name}\` (${p.how}), which scripts/test-prereqs.js does not list: add it to APT_PACKAGES (installed by \`npm test\`) or, if every system has it, to BASE_SYSTEM`,
        );
      }
    }
    const declared = file.startsWith('src/') ? pkg.dependencies : { ...pkg.dependencies, ...pkg.devDependencies };
    for (const i of needs.imports) {
      const name = packageOf(i.name);
      if (name && !(name in declared)) {
        const where = file.startsWith('src/')
          ? 'package.json dependencies (src/ runs in the production image, without devDependencies)'
          : 'package.json';
        out.push(`${file}:${i.line}: imports '${i.name}' (${i.how}), which is not declared in ${where}`);
      }
    }
  }
  return out;
}

describe('test prerequisites: `npm install && npm test` installs what the tests use', () => {
  it('every program run and every package imported by tests/, src/, bench/, scripts/ and bin/ is declared', () => {
    const files = new Map(sourceFiles().map((f) => [f, fs.readFileSync(path.join(REPO, f), 'utf8')]));
    assert.ok(files.size > 100, `scanned only ${files.size} files`);
    const found = problems(files);
    assert.deepEqual(found, [], `\n${found.join('\n')}\n`);
  });

  it('the check sees programs run by name, in shell command lines and imports, and fails on an unknown one', () => {
    const source = `
      import { spawnSync } from 'node:child_process';
      import leftPad from 'left-pad';
      import type { Thing } from 'types-only';
      spawnSync('jq', ['.']);
      execFileSync('/usr/bin/ffmpeg', []);
      spawn('/bin/sh', ['-c', \`cat x | yq \${f} && ./local-script\`]);
      const spec = { command: 'sleep 1 && curl -s x > out; sh -c "rsync a b"' };
      const args = ['-r', 'not-a-dep/register', 'tests/x.ts'];
      /re/.exec('literal text');
    `;
    assert.deepEqual(
      problems(new Map([['tests/example.test.ts', source]])).map((p) => p.replace(/,? ?which .*$/, '')),
      [
        'tests/example.test.ts:5: runs `jq` (spawnSync())',
        'tests/example.test.ts:6: runs `ffmpeg` (execFileSync())',
        'tests/example.test.ts:7: runs `yq` (sh -c)',
        'tests/example.test.ts:8: runs `curl` (command: (a shell command))',
        'tests/example.test.ts:8: runs `rsync` (command: (a shell command))',
        "tests/example.test.ts:3: imports 'left-pad' (import)",
        "tests/example.test.ts:9: imports 'not-a-dep/register' (node -r)",
      ],
    );
    // A devDependency is fine in tests, not in src/.
    assert.deepEqual(problems(new Map([['tests/a.ts', "import 'mocha';"]])), []);
    assert.match(
      problems(new Map([['src/a.ts', "import 'mocha';"]])).join(),
      /src\/a\.ts:1: imports 'mocha' .*dependencies/,
    );
  });

  it('reads shell command lines: each command, not its arguments, redirections or variables', () => {
    assert.deepEqual(shellPrograms('(sleep 2; touch m) & sleep 30'), ['sleep', 'touch', 'sleep']);
    assert.deepEqual(shellPrograms('echo "a\nb" > out.txt 2>&1 | tr a b\n# a comment\nFOO=1 env'), [
      'echo',
      'tr',
      'env',
    ]);
    assert.deepEqual(shellPrograms(`setsid sh -c 'sleep 1; pgrep x' & "$0" --require y; exit $?`), [
      'setsid',
      'sh',
      'sleep',
      'pgrep',
      'exit',
    ]);
    assert.deepEqual(shellPrograms('while :; do wait "$c"; done; if true; then /usr/bin/id; fi'), [
      'wait',
      'true',
      '/usr/bin/id',
    ]);
  });
});
