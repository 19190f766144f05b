/**
 * Finds the `temporal` CLI binary (which carries the dev server): PHASEFLOW_TEMPORAL_BIN, else
 * PATH, else the user-level cache, else builds it once into that cache from the Go module proxy.
 * v1.5.1 is the newest stable tag `go install` accepts (later tags carry a `replace` directive).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const TEMPORAL_CLI_VERSION = '1.5.1';
const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
const BIN_ENV = 'PHASEFLOW_TEMPORAL_BIN';

export interface FindTemporalBinaryOptions {
  /** Build with `go install` when nothing is found (default true). */
  build?: boolean;
  /** Progress lines (default: stderr). */
  log?: (msg: string) => void;
}

/** `${XDG_CACHE_HOME:-~/.cache}/phaseflow/bin`: outside any repo, shared by all checkouts. */
export function temporalCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'phaseflow', 'bin');
}

export async function findTemporalBinary(opts: FindTemporalBinaryOptions = {}): Promise<string> {
  const log = opts.log ?? ((msg: string) => process.stderr.write(`${msg}\n`));
  const tried: string[] = [];

  const fromEnv = process.env[BIN_ENV];
  if (fromEnv) {
    // An explicit choice that does not work is an error, not something to silently skip.
    if (!isExecutableFile(fromEnv)) {
      throw new Error(`${BIN_ENV}=${fromEnv} is not an executable file; fix or unset ${BIN_ENV}`);
    }
    return fromEnv;
  }
  tried.push(`${BIN_ENV}: not set`);

  const onPath = whichSync('temporal');
  if (onPath) return onPath;
  tried.push('PATH: no temporal');

  const cached = path.join(temporalCacheDir(), 'temporal');
  if (isExecutableFile(cached)) return cached;
  tried.push(`cache ${cached}: missing`);

  if (opts.build === false) {
    tried.push('go build: disabled');
  } else {
    const goBin = whichSync('go');
    if (!goBin) {
      tried.push('go build: `go` not found on PATH');
    } else {
      try {
        return await buildIntoCache(goBin, cached, log);
      } catch (err) {
        tried.push(`go build: failed: ${(err as Error).message}`);
      }
    }
  }

  throw new Error(
    `No temporal CLI binary found. Tried: ${tried.join('; ')}. ` +
      `Provide one: install the temporal CLI (https://docs.temporal.io/cli) on PATH, ` +
      `or set ${BIN_ENV}=/path/to/temporal, ` +
      `or install Go >= 1.25 so phaseflow can build it (go install ${TEMPORAL_CLI_MODULE}@v${TEMPORAL_CLI_VERSION}).`,
  );
}

function isExecutableFile(p: string): boolean {
  try {
    if (!fs.statSync(p).isFile()) return false;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function whichSync(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** Builds once even with concurrent callers: one holds the lock, the others wait for its result. */
async function buildIntoCache(goBin: string, target: string, log: (m: string) => void): Promise<string> {
  const dir = path.dirname(target);
  fs.mkdirSync(dir, { recursive: true });
  const lockFile = path.join(dir, '.temporal-build.lock');
  await acquireLock(lockFile, target, log);
  try {
    // Another process may have finished the build while we waited.
    if (isExecutableFile(target)) return target;
    await goInstall(goBin, target, log);
    return target;
  } finally {
    fs.rmSync(lockFile, { force: true });
  }
}

const LOCK_MAX_AGE_MS = 60 * 60_000;

async function acquireLock(lockFile: string, target: string, log: (m: string) => void): Promise<void> {
  let announced = false;
  for (;;) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (isStaleLock(lockFile)) {
      fs.rmSync(lockFile, { force: true });
      continue;
    }
    if (isExecutableFile(target)) return; // the other builder is done; proceed to the re-check
    if (!announced) {
      log(`temporal: another process is building the temporal CLI (lock ${lockFile}); waiting for it`);
      announced = true;
    }
    await sleep(2000);
  }
}

/**
 * Runs `go install` with a static build into gobin; rejects with failure(exit, its last 20 lines).
 * Compiling prints nothing for minutes: stillBuilding is called every 30 s to show it is alive.
 */
export function runGoInstall(
  go: string,
  args: string[],
  gobin: string,
  o: {
    onLine?: (line: string) => void;
    stillBuilding: () => void;
    failure: (exit: string | number | null, tail: string[]) => string;
  },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(go, args, {
      env: { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'auto', GOBIN: gobin },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail: string[] = [];
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 20) tail.shift();
        o.onLine?.(line);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const ticker = setInterval(o.stillBuilding, 30_000);
    child.on('error', (err) => {
      clearInterval(ticker);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearInterval(ticker);
      if (code === 0) resolve();
      else reject(new Error(o.failure(signal ?? code, tail)));
    });
  });
}

/** A lock whose owner has died (or that is implausibly old) is left over from a crash. */
function isStaleLock(lockFile: string): boolean {
  try {
    const pid = Number(fs.readFileSync(lockFile, 'utf8').trim());
    if (Date.now() - fs.statSync(lockFile).mtimeMs > LOCK_MAX_AGE_MS) return true;
    if (!Number.isInteger(pid) || pid <= 0) return false; // being written right now
    process.kill(pid, 0);
    return false;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ESRCH';
  }
}

async function goInstall(goBin: string, target: string, log: (m: string) => void): Promise<void> {
  // Install into a private staging dir and rename, so a killed build never leaves a half-written
  // binary at the cached path.
  const staging = fs.mkdtempSync(path.join(path.dirname(target), '.staging-'));
  const args = [
    'install',
    '-trimpath',
    '-ldflags',
    `-s -w -X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`,
    `${TEMPORAL_CLI_MODULE}@v${TEMPORAL_CLI_VERSION}`,
  ];
  log(
    `temporal: no temporal CLI found; building ${TEMPORAL_CLI_MODULE}@v${TEMPORAL_CLI_VERSION} with Go ` +
      `into ${path.dirname(target)} (one time only; this takes several minutes)`,
  );
  const started = Date.now();
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)}s`;
  try {
    await runGoInstall(goBin, args, staging, {
      onLine: (line) => log(`temporal build: ${line}`),
      stillBuilding: () => log(`temporal build: still building (${elapsed()})`),
      failure: (exit, tail) => `go install exited with ${exit}: ${tail.slice(-5).join(' | ')}`,
    });
    fs.renameSync(path.join(staging, 'temporal'), target);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  const version = spawnSync(target, ['--version'], { encoding: 'utf8' }).stdout?.trim();
  log(`temporal: built ${target} in ${elapsed()}${version ? ` (${version})` : ''}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
