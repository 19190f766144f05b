/**
 * The stack's Go programs (Temporal server, its SQL tool, the Web UI server), built once with
 * `go install` into the same cache as the temporal CLI (temporal/binary.ts) and reused. A build
 * runs in a staging directory and is renamed into place, so a killed build leaves nothing half
 * written; a lock file keeps two `stack up`s from building the same program at once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findOnPath } from '../parent-death';
import { runGoInstall, temporalCacheDir } from '../temporal/binary';
import { GO_BUILDS } from './config';
import { sleep } from './processes';

export type GoProgram = keyof typeof GO_BUILDS;

export function cachedPath(program: GoProgram): string {
  const b = GO_BUILDS[program];
  return path.join(temporalCacheDir(), `${b.name}-${b.version}`);
}

function goBinary(): string | undefined {
  return findOnPath('go') ?? (fs.existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
}

/** The program's path, built first if the cache lacks it. */
export async function ensureGoProgram(program: GoProgram, log: (m: string) => void): Promise<string> {
  const target = cachedPath(program);
  if (fs.existsSync(target)) return target;
  const b = GO_BUILDS[program];
  const go = goBinary();
  if (!go)
    throw new Error(
      `${b.name} is not built and there is no Go here to build it: install Go >= 1.24 (https://go.dev/dl), ` +
        `or build it elsewhere with \`go install ${b.pkg}@${b.version}\` and copy the binary to ${target}`,
    );
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const lock = `${target}.lock`;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(fs.readFileSync(lock, 'utf8'));
      if (owner && !alive(owner)) fs.rmSync(lock, { force: true });
      else await sleep(2000);
      if (fs.existsSync(target)) return target;
    }
  }
  try {
    if (fs.existsSync(target)) return target;
    const staging = fs.mkdtempSync(path.join(path.dirname(target), '.staging-'));
    try {
      const started = Date.now();
      log(`building ${b.pkg}@${b.version} with Go into ${path.dirname(target)} (once; minutes)`);
      await goInstall(go, `${b.pkg}@${b.version}`, staging, log);
      // `go install` names the binary after the package's directory.
      fs.renameSync(path.join(staging, path.basename(b.pkg)), target);
      log(`built ${target} in ${Math.round((Date.now() - started) / 1000)} s`);
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
    return target;
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function goInstall(go: string, spec: string, gobin: string, log: (m: string) => void): Promise<void> {
  return runGoInstall(go, ['install', '-trimpath', '-ldflags', '-s -w', spec], gobin, {
    stillBuilding: () => log(`still building ${spec}`),
    failure: (exit, tail) => `go install ${spec} exited ${exit}:\n${tail.slice(-10).join('\n')}`,
  });
}
