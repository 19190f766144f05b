/**
 * Children die with phaseflow (src/parent-death.ts): after a kill -9 of a worker, the commands it
 * ran (sandboxed or not, with their own children) are gone within a second; after a kill -9 of
 * `phaseflow server`, its Temporal dev server shuts down and frees its port. And killLeftover
 * acts only on a pid file that verifiably names the group it recorded. Real processes throughout.
 */
import { strict as assert } from 'node:assert';
import { ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import * as net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sandboxStatus } from '../../src/activities/sandbox';
import { killLeftover, processRecord } from '../../src/activities/shell';
import { freePort, isServerReachable } from '../../src/temporal/dev-server';

const ROOT = path.resolve(__dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Live (not zombie) processes whose /proc/<pid>/stat matches: [pid, state, ppid, pgid]. */
function processes(match: (f: { pid: number; state: string; ppid: number; pgid: number }) => boolean): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const [state, ppid, pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const f = { pid: Number(name), state, ppid: Number(ppid), pgid: Number(pgid) };
    // A zombie is dead; it only waits for a parent (here maybe an init that does not reap) to collect it.
    if (state !== 'Z' && state !== 'X' && match(f)) out.push(f.pid);
  }
  return out;
}
const alive = (pid: number) => processes((f) => f.pid === pid).length > 0;

async function waitFor(what: string, ok: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
  return Date.now() - t0;
}

function line(child: ChildProcess, re: RegExp, ms: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no ${re} within ${ms} ms; stdout: ${out} stderr: ${err}`)), ms);
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = re.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
  });
}

describe('security: children die with phaseflow', function () {
  this.timeout(90_000);
  let dir: string;
  beforeEach(() => {
    dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'phaseflow-orphans-')));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  // The command ticks a marker file and keeps a background child: the whole group must go.
  const COMMAND = 'sleep 30 & while :; do date +%s%N > tick; sleep 0.1; done';
  const cases: { how: 'shell' | 'workspace'; sandbox: string }[] = [
    { how: 'shell', sandbox: 'auto' },
    { how: 'shell', sandbox: 'off' },
    { how: 'workspace', sandbox: 'auto' },
    { how: 'workspace', sandbox: 'off' },
  ];
  for (const c of cases) {
    it(`${c.how === 'shell' ? 'a command task / gate' : "an agent's Bash"} command (PHASEFLOW_SANDBOX=${c.sandbox}) is gone within 1 s of a kill -9 of its worker`, async function () {
      if (c.sandbox === 'auto' && sandboxStatus()[c.how === 'shell' ? 'processes' : 'workspace'] === 'none')
        this.skip();
      const worker = spawn(process.execPath, ['-r', 'tsx/cjs', 'tests/security/orphan-child.ts', c.how, dir, COMMAND], {
        cwd: ROOT,
        env: { ...process.env, PHASEFLOW_SANDBOX: c.sandbox },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const pgid = Number((await line(worker, /pgid (\d+)/, 30_000))[1]);
      const tick = path.join(dir, 'tick');
      await waitFor('the command ticks', () => existsSync(tick), 10_000);
      const group = processes((f) => f.pgid === pgid);
      assert.ok(group.length >= 3, `leader, shell and sleep in group ${pgid}: ${group}`);
      worker.kill('SIGKILL');
      const ms = await waitFor(
        `group ${pgid} gone after kill -9 of the worker`,
        () => processes((f) => f.pgid === pgid).length === 0,
        1_000,
      );
      const last = statSync(tick).mtimeMs;
      await sleep(500);
      assert.equal(statSync(tick).mtimeMs, last, 'the command still writes after its worker died');
      console.log(`      group of ${group.length} gone ${ms} ms after the kill`);
    });
  }

  describe('killLeftover kills only the group its pid file verifiably names', () => {
    let victim: ChildProcess;
    beforeEach(() => {
      victim = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    });
    afterEach(() => {
      try {
        process.kill(-victim.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    });

    const forged: [string, (pgid: number) => string, RegExp][] = [
      [
        'another boot id',
        (p) => JSON.stringify({ ...processRecord(p), bootId: '00000000-0000-0000-0000-000000000000' }),
        /reboot/,
      ],
      ['another host', (p) => JSON.stringify({ ...processRecord(p), host: 'elsewhere' }), /host elsewhere/],
      [
        'another start time (pid reused)',
        (p) => JSON.stringify({ ...processRecord(p), startTime: '1' }),
        /another process now/,
      ],
      ['the old bare-number format', (p) => String(p), /old format/],
      ['garbage', () => 'not a pid', /not a process record/],
    ];
    for (const [what, text, reason] of forged) {
      it(`a pid file with ${what} is removed, the process is left alone`, async () => {
        const file = path.join(dir, 'x.pid');
        writeFileSync(file, text(victim.pid!));
        const r = await killLeftover(file);
        assert.equal(r.killed, false);
        assert.match(String(r.skipped), reason);
        assert.equal(existsSync(file), false, 'stale pid file removed');
        await sleep(100);
        assert.ok(alive(victim.pid!), `unrelated sleep ${victim.pid} was killed`);
      });
    }

    it('a pid file of a group that is gone is removed quietly', async () => {
      const file = path.join(dir, 'x.pid');
      writeFileSync(file, JSON.stringify(processRecord(victim.pid!)));
      process.kill(-victim.pid!, 'SIGKILL');
      await new Promise((r) => victim.once('exit', r));
      assert.deepEqual(await killLeftover(file), { killed: false });
      assert.equal(existsSync(file), false);
    });

    it('a pid file written for that group kills it', async () => {
      const file = path.join(dir, 'x.pid');
      writeFileSync(file, JSON.stringify(processRecord(victim.pid!)));
      assert.deepEqual(await killLeftover(file), { killed: true });
      await waitFor(`sleep ${victim.pid} killed`, () => !alive(victim.pid!), 1_000);
      assert.equal(existsSync(file), false);
    });
  });

  it('phaseflow server: its temporal dev server exits and frees the port within a few seconds of a kill -9', async function () {
    this.timeout(120_000);
    const [port, uiPort] = [await freePort(), await freePort()];
    const server = spawn(
      process.execPath,
      [
        'bin/phaseflow.js',
        'server',
        '--port',
        String(port),
        '--ui-port',
        String(uiPort),
        '--db',
        path.join(dir, 'db.sqlite'),
      ],
      {
        cwd: ROOT,
        env: { ...process.env, PHASEFLOW_DATA_DIR: dir },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let temporal: number[] = [];
    try {
      const t0 = Date.now();
      while (!(await isServerReachable(`127.0.0.1:${port}`, 'default', 1000))) {
        assert.ok(Date.now() - t0 < 60_000, 'server did not answer within 60 s');
        await sleep(300);
      }
      temporal = processes((f) => f.ppid === server.pid);
      assert.equal(temporal.length, 1, `one child of phaseflow server: ${temporal}`);
      // Once its start-up output is done: a server still writing dies of the broken pipe anyway.
      await sleep(3_000);
      server.kill('SIGKILL');
      const ms = await waitFor(`temporal ${temporal[0]} exits`, () => !alive(temporal[0]), 10_000);
      // A Go server's leader thread can show as exited while its other threads still hold the
      // file table (closed with the last thread): a busy machine stretches that, so allow 5 s.
      const t1 = Date.now();
      while (!(await canListen(port))) {
        assert.ok(Date.now() - t1 < 5_000, `port ${port} still bound 5 s after the server exited`);
        await sleep(100);
      }
      console.log(`      temporal dev server gone ${ms} ms after the kill`);
    } finally {
      server.kill('SIGKILL');
      for (const pid of temporal.filter(alive)) process.kill(pid, 'SIGKILL');
    }
  });
});

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}
