/**
 * Children that die with phaseflow. A process started with spawn() outlives its parent: after a
 * `kill -9` of the worker (or of `phaseflow server`) a command, an agent's Bash or the Temporal
 * dev server is reparented to init and keeps running, holding ports and writing to the workspace.
 *
 * Linux's parent-death signal (PR_SET_PDEATHSIG) fixes that without a supervisor: util-linux
 * `setpriv --pdeathsig SIG -- prog` sets it and execs prog (it survives execve of a program that
 * is not setuid, and unshare's user namespace does not clear it). The kernel sends SIG when the
 * *thread* that forked the child exits; Node's spawn() runs on the main thread, so that is when
 * the process dies. It covers the direct child only (fork clears it), so whoever needs a whole
 * tree gone puts a guard in between: sandbox.ts's namespace init dies through unshare
 * --kill-child, and an unsandboxed command runs under GROUP_GUARD below.
 *
 * Where setpriv is missing (not Linux, util-linux older than 2.33) children are spawned as
 * before, and `parentDeathStatus()` says so for the worker's start-up log.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

let setprivPath: string | null | undefined;
let missingReason = '';

/** The setpriv binary if it takes --pdeathsig here, probed once. */
function setpriv(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  if (process.platform !== 'linux') missingReason = `parent-death signals need Linux (this is ${process.platform})`;
  else {
    const bin = findOnPath('setpriv');
    if (!bin) missingReason = 'no setpriv (util-linux) on PATH';
    else {
      const r = spawnSync(bin, ['--pdeathsig', 'KILL', '--', '/bin/sh', '-c', 'exit 0'], {
        encoding: 'utf8',
        timeout: 5_000,
      });
      if (r.status === 0) setprivPath = bin;
      else
        missingReason = `${bin} --pdeathsig does not work here: ${r.error?.message ?? (String(r.stderr).trim() || `exit ${r.status}`)}`;
    }
  }
  return setprivPath;
}

/** For logs: how children are tied to this process's life, or why they are not. */
export function parentDeathStatus(): string {
  return setpriv() ? 'setpriv --pdeathsig' : `none: children can outlive a killed process (${missingReason})`;
}

/**
 * `file args...` with `signal` sent to it when this process dies, or as is where that is not
 * available. Only the direct child gets the signal.
 */
export function withParentDeath(
  file: string,
  args: string[],
  signal: 'KILL' | 'TERM' | 'HUP',
): { file: string; args: string[] } {
  const bin = setpriv();
  return bin ? { file: bin, args: ['--pdeathsig', signal, '--', file, ...args] } : { file, args };
}

/**
 * The tail of a shell that stands between us and a command ("$@"): runs it in the background and
 * waits, through trapped signals (a trap ends `wait` early), until it has exited; then exits with
 * its status. Used by this guard and by the sandbox's namespace init.
 */
export const RUN_AND_WAIT = `"$@" &
c=$!
while :; do wait "$c"; s=$?; kill -0 "$c" 2>/dev/null || exit "$s"; done
`;

/**
 * Leader of an unsandboxed command's process group (spawned detached): on SIGHUP, its parent-death
 * signal, it SIGKILLs the whole group, the command's own children included. SIGTERM/SIGINT sent
 * to the group (a cancel's grace period) reach the command directly; the guard only keeps
 * waiting, and exits with the command's status.
 */
const GROUP_GUARD = `trap 'kill -KILL 0' HUP
trap : TERM INT
${RUN_AND_WAIT}`;

/** `file args...` in a group guard that kills its process group when this process dies. */
export function groupDiesWithParent(file: string, args: string[]): { file: string; args: string[] } {
  if (!setpriv()) return { file, args };
  return withParentDeath('/bin/sh', ['-c', GROUP_GUARD, 'phaseflow-guard', file, ...args], 'HUP');
}

export function findOnPath(name: string): string | undefined {
  const dirs = `${process.env.PATH ?? ''}:/usr/bin:/bin:/usr/sbin:/sbin`
    .split(path.delimiter)
    .filter((d) => path.isAbsolute(d));
  return dirs
    .map((d) => path.join(d, name))
    .find((p) => {
      try {
        accessSync(p, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}
