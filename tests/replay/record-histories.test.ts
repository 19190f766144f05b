/**
 * `npm run record:histories` refuses a bad command line before it starts anything: a typo or a
 * bad archive name must not re-record (and so replace) the replay set without archiving it.
 * Runs the real script; each refusal is one line on stderr, exit status 2, and the recorded set
 * and the archive are left exactly as they were.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ARCHIVE_DIR, HISTORY_DIR } from './history-files';

const REPO = path.resolve(__dirname, '../..');
const SCRIPT = path.join(__dirname, 'record-histories.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function record(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    // A refusal takes ~2 s; the timeout stops a run that wrongly went on to record (~1 min) long
    // before it could replace anything.
    execFile(
      process.execPath,
      ['-r', 'tsx/cjs', SCRIPT, ...args],
      { cwd: REPO, timeout: 20_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
      },
    );
  });
}

/** Every file under `dir` with its size, mtime and content hash: any write shows. */
function snapshot(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = fs.statSync(p);
        h.update(`${path.relative(dir, p)} ${st.size} ${st.mtimeMs}\n`).update(fs.readFileSync(p));
      }
    }
  };
  walk(dir);
  return h.digest('hex');
}

const existingArchive = () => fs.readdirSync(ARCHIVE_DIR).sort()[0];

const REFUSED: [string[], RegExp][] = [
  [
    ['--archiv', 'old'],
    /^record-histories: Unknown option '--archiv'; usage: npm run record:histories \[-- --archive <name>\]$/,
  ],
  [['--bogus'], /Unknown option '--bogus'/],
  [['old'], /Unexpected argument 'old'/],
  [
    ['--archive='],
    /^record-histories: --archive "": expected a directory name of letters, digits, \. _ - starting with a letter or digit/,
  ],
  [['--archive'], /--archive needs a directory name after it/],
  [['--archive', '-foo'], /--archive needs a directory name after it \(starting with a letter or digit\)/],
  [['--archive=-foo'], /--archive "-foo": expected a directory name/],
  [['--archive', '.hidden'], /--archive "\.hidden": expected a directory name/],
  [['--archive', '.'], /--archive "\.": expected a directory name/],
  [['--archive', '..'], /--archive "\.\.": expected a directory name/],
  [['--archive', 'a/b'], /--archive "a\/b": expected a directory name/],
  [['--archive', 'a', '--archive', 'b'], /--archive given 2 times \("a", "b"\); give it once/],
];

describe('record-histories command line', function () {
  // Each run loads the script (~2 s on 2 cores) and stops at its arguments: no server starts.
  this.timeout(120_000);

  it('refuses typos, unknown arguments, bad and existing archive names in one line, exit 2, changing nothing', async () => {
    const before = {
      histories: snapshot(HISTORY_DIR),
      archive: snapshot(ARCHIVE_DIR),
      archives: fs.readdirSync(ARCHIVE_DIR).sort(),
    };
    const cases: [string[], RegExp][] = [
      ...REFUSED,
      [
        ['--archive', existingArchive()],
        new RegExp(
          `^record-histories: --archive ${existingArchive()}: tests/replay/archive/${existingArchive()} exists already; choose another name$`,
        ),
      ],
    ];
    // Two at a time: the machine has 2 cores.
    const runs: Run[] = [];
    for (let i = 0; i < cases.length; i += 2)
      runs.push(...(await Promise.all(cases.slice(i, i + 2).map(([args]) => record(args)))));
    cases.forEach(([args, message], i) => {
      const { code, stdout, stderr } = runs[i];
      const what = `record-histories ${args.join(' ')}`;
      assert.equal(code, 2, `${what}: exit status (stderr: ${stderr})`);
      const lines = stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `${what}: one line, no stack trace:\n${stderr}`);
      assert.match(lines[0], /^record-histories: /, what);
      assert.match(lines[0], message, what);
      assert.equal(stdout, '', `${what}: nothing recorded`);
    });
    assert.equal(snapshot(HISTORY_DIR), before.histories, 'tests/replay/histories untouched');
    assert.equal(snapshot(ARCHIVE_DIR), before.archive, 'tests/replay/archive untouched');
    assert.deepEqual(fs.readdirSync(ARCHIVE_DIR).sort(), before.archives);
  });

  it('--help prints the usage and exits 0 without recording', async () => {
    const { code, stdout, stderr } = await record(['--help']);
    assert.equal(code, 0, stderr);
    assert.match(
      stdout,
      /^usage: npm run record:histories \[-- --archive <name>\]\n {2}--archive <name> {2}first keep the set being replaced in tests\/replay\/archive\/<name>\n$/,
    );
    assert.equal(stderr, '');
  });
});
