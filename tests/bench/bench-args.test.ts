/**
 * `npm run bench`'s command line: a bad one is refused in one line with exit status 2 before any
 * server starts (and before minutes of measuring), `--help` lists the options. Runs the real
 * bench/run.ts (what `npm run bench` runs after building).
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '../..');
const RESULTS = path.join(REPO, 'bench', 'results.json');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function bench(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    // A refusal takes ~2 s; the timeout stops a run that wrongly went on to measure long before
    // it could write results.
    execFile(
      process.execPath,
      ['-r', 'tsx/cjs', 'bench/run.ts', ...args],
      { cwd: REPO, env: { ...process.env, ...env }, timeout: 20_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
      },
    );
  });
}

describe('bench command line', function () {
  this.timeout(120_000);

  it('refuses bad options in one line, exit 2, writing nothing', async () => {
    const oldLayout = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-args-')), 'old.json');
    fs.writeFileSync(oldLayout, '{"machine": {}, "options": {}, "scenarios": {}}');
    const before = fs.statSync(RESULTS).mtimeMs;
    const cases: [string[], RegExp, NodeJS.ProcessEnv?][] = [
      [
        ['--only', 'bogus'],
        /^bench: --only: unknown scenario bogus; expected parallel, overhead, context, scale, many, turn, agents, cache, recovery, coordination; npm run bench -- --help lists the options$/,
      ],
      [['--scale', 'huge'], /^bench: --scale: expected "small", "full" or RxPxHxT such as 2x2x2x10, got "huge"/],
      [[], /got "huge" \(from PHASEFLOW_BENCH_SCALE\)/, { PHASEFLOW_BENCH_SCALE: 'huge' }],
      [['--repeat', '0'], /^bench: --repeat: expected a positive integer, got "0"/],
      [['--repeat=1.5'], /--repeat: expected a positive integer, got "1\.5"/],
      [['--bogus'], /^bench: Unknown option '--bogus'/],
      [['--only'], /^bench: Option '--only <value>' argument missing/],
      [['scale'], /^bench: Unexpected argument 'scale'/],
      [['--address', 'nowhere'], /^bench: --address: expected HOST:PORT such as 127\.0\.0\.1:7233, got "nowhere"/],
      [['--out', oldLayout], /^bench: --out .*old\.json: not a bench results file of this layout \(no "lastRun"\)/],
    ];
    // Two at a time: the machine has 2 cores.
    const runs: Run[] = [];
    for (let i = 0; i < cases.length; i += 2)
      runs.push(...(await Promise.all(cases.slice(i, i + 2).map(([args, , env]) => bench(args, env)))));
    cases.forEach(([args, message], i) => {
      const { code, stdout, stderr } = runs[i];
      const what = `bench ${args.join(' ')}`;
      assert.equal(code, 2, `${what}: exit status (stderr: ${stderr})`);
      assert.equal(stderr.trimEnd().split('\n').length, 1, `${what}: one line, no stack trace:\n${stderr}`);
      assert.match(stderr.trimEnd(), message, what);
      assert.equal(stdout, '', what);
    });
    assert.equal(fs.statSync(RESULTS).mtimeMs, before, 'bench/results.json untouched');
    assert.equal(fs.readFileSync(oldLayout, 'utf8'), '{"machine": {}, "options": {}, "scenarios": {}}');
  });

  it('--help lists every option, --scale full among them, and exits 0', async () => {
    const { code, stdout, stderr } = await bench(['--help']);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
    assert.match(stdout, /^usage: npm run bench \[-- options\]\n/);
    for (const option of [
      '--only NAME[,NAME]',
      '--scale SHAPE',
      'full = 10x10x10x10 (default), small = 2x2x2x10, or RxPxHxT',
      'PHASEFLOW_BENCH_SCALE',
      '"scale@RxPxHxT"',
      '--repeat N',
      '--out FILE',
      '--keep',
      '--address HOST:PORT',
      'PHASEFLOW_BENCH_ADDRESS',
      '-h, --help',
    ]) {
      assert.ok(stdout.includes(option), `--help mentions ${option}:\n${stdout}`);
    }
  });
});
