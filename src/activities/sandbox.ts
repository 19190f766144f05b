/**
 * A cheap OS sandbox for what phaseflow runs in a shell, built from Linux namespaces with
 * util-linux `unshare` (no setuid helper, no daemon). Two profiles:
 *
 * - `processes` (command tasks and gates): a new PID namespace with its own /proc. The command
 *   sees only its own processes: not the worker, not the shell that started it, not any other
 *   process of the user, so it cannot read their /proc/<pid>/environ (readable by every process
 *   of the same user), command lines or open files, nor signal them. When the command exits,
 *   the namespace's init (INIT) exits with it and the kernel kills whatever is left, daemons
 *   that left the process group included.
 * - `workspace` (the agent's Bash): the same, plus a private mount namespace in which every
 *   existing mount is read-only except the workspace, and /home, /root, the worker's home, /tmp,
 *   /var/tmp, /dev/shm and /run/user/<uid> are empty scratch tmpfs (dotfiles, SSH and cloud
 *   credentials, other processes' temp files, agent sockets are out of sight), and the Docker
 *   socket is /dev/null.
 *
 * Neither confines the network. Both need Linux and either root or unprivileged user
 * namespaces (on by default on Debian, Fedora, Arch; Ubuntu 24.04 restricts them through
 * AppArmor); where the probe fails commands run unsandboxed and `sandboxStatus()` says why.
 * PHASEFLOW_SANDBOX=off turns it off; =require makes a missing sandbox an error.
 *
 * Sandboxed or not, what runs dies with the worker (parent-death.ts): unshare gets SIGKILL when
 * the worker dies and takes the namespace down with --kill-child; an unsandboxed command runs
 * under a guard that kills its process group.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findOnPath, groupDiesWithParent, parentDeathStatus, RUN_AND_WAIT, withParentDeath } from '../parent-death';
import { isInside } from './workspace';

export type SandboxProfile = 'processes' | 'workspace';
export type SandboxKind = 'none' | SandboxProfile;

export interface Sandboxed {
  file: string;
  args: string[];
  /** What the command actually got. */
  sandbox: SandboxKind;
}

const NS_FLAGS = ['--mount', '--pid', '--fork', '--mount-proc', '--kill-child'];

/**
 * PID 1 of the namespace, around the command. The kernel gives a namespace's init only the
 * signals it has a handler for, so a command that was PID 1 itself would ignore the SIGTERM of a
 * timeout or cancel and die only by SIGKILL, without its grace period. This one passes SIGTERM
 * on to everything in the namespace and exits with the command's status.
 */
const INIT = `trap 'kill -TERM -1 2>/dev/null' TERM INT HUP
${RUN_AND_WAIT}`;

/**
 * Runs as root of the new namespaces, before the command: read-only mounts, hidden places, the
 * workspace mounted back writable (bound from the current directory, which still is the real
 * workspace whatever now covers its path; --no-canonicalize keeps mount from looking it up
 * again), then the command under INIT. Arguments: workspace, hide specs (d:<dir> | f:<file>), --,
 * command.
 */
const SETUP = `
set -e
ws=$1; shift
cd "$ws"
while read -r _ _ _ _ mnt _; do
  case "$mnt" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*) continue ;; esac
  mount -o remount,bind,ro "$mnt" 2>/dev/null || true
done < /proc/self/mountinfo
while [ "$1" != -- ]; do
  case "$1" in
    d:*) mount -t tmpfs -o mode=1777,size=512m phaseflow-sandbox "\${1#d:}" ;;
    f:*) mount --bind /dev/null "\${1#f:}" ;;
  esac
  shift
done
shift
mkdir -p "$ws"
mount --no-canonicalize --bind . "$ws"
mount -o remount,bind,rw "$ws"
cd "$ws"
# phaseflow's own records stay read-only to the agent's shell, as to its file tools: transcripts,
# details files, logs, the budget ledger, the orchestrator state and the mirror files.
mkdir -p .claude/cache .claude/orchestrator
for p in .claude/cache .claude/orchestrator .claude/epics/*/EPIC.json .claude/roadmaps/*/ROADMAP.json .claude/phase-plans/*/PROGRESS.json; do
  if [ -e "$p" ]; then mount --bind "$p" "$p"; mount -o remount,bind,ro "$p"; fi
done
set +e
${INIT}`;

interface Launcher {
  /** unshare and its flags, up to the program. */
  outer: string[];
  /** Between the set-up and the command: back to the worker's own uid in a user namespace. */
  inner: string[];
  how: string;
}

interface Probed {
  processes?: Launcher;
  workspace?: Launcher;
  reason?: string;
}

let probed: Probed | undefined;

function mode(env: NodeJS.ProcessEnv): 'auto' | 'off' | 'require' {
  const m = (env.PHASEFLOW_SANDBOX ?? 'auto').toLowerCase();
  return m === 'off' || m === '0' || m === 'false' || m === 'none' ? 'off' : m === 'require' ? 'require' : 'auto';
}

/** What each profile gets on this machine, and why not, for logs and the docs. */
export function sandboxStatus(env: NodeJS.ProcessEnv = process.env): {
  processes: string;
  workspace: string;
  reason?: string;
  diesWithWorker: string;
} {
  const diesWithWorker = parentDeathStatus();
  if (mode(env) === 'off')
    return { processes: 'none', workspace: 'none', reason: 'PHASEFLOW_SANDBOX=off', diesWithWorker };
  probed ??= probe();
  return {
    processes: probed.processes?.how ?? 'none',
    workspace: probed.workspace?.how ?? 'none',
    reason: probed.reason,
    diesWithWorker,
  };
}

/**
 * `file args...` wrapped for spawn() in the profile's sandbox, or as is where there is none.
 * `workspace` (canonical) is the directory the command works in.
 */
export function sandboxed(
  file: string,
  args: string[],
  profile: SandboxProfile,
  workspace: string,
  env: NodeJS.ProcessEnv = process.env,
): Sandboxed {
  const m = mode(env);
  if (m === 'off') return { ...groupDiesWithParent(file, args), sandbox: 'none' };
  probed ??= probe();
  const launcher = probed[profile];
  if (!launcher) {
    if (m === 'require')
      throw new Error(`PHASEFLOW_SANDBOX=require, but the ${profile} sandbox is not available here: ${probed.reason}`);
    return { ...groupDiesWithParent(file, args), sandbox: 'none' };
  }
  const run = wrap(launcher, profile, workspace, file, args);
  // unshare dies with the worker; --kill-child then kills the namespace's init, and with it the namespace.
  return { ...withParentDeath(run.file, run.args, 'KILL'), sandbox: run.sandbox };
}

function wrap(launcher: Launcher, profile: SandboxProfile, workspace: string, file: string, args: string[]): Sandboxed {
  const [bin, ...flags] = launcher.outer;
  if (profile === 'processes')
    return {
      file: bin,
      args: [...flags, ...launcher.inner, '/bin/sh', '-c', INIT, 'phaseflow-sandbox', file, ...args],
      sandbox: profile,
    };
  return { file: bin, args: [...flags, ...setupArgs(workspace), ...launcher.inner, file, ...args], sandbox: profile };
}

function setupArgs(workspace: string): string[] {
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  const dirs = ['/home', '/root', os.homedir(), '/tmp', os.tmpdir(), '/var/tmp', '/dev/shm', `/run/user/${uid}`];
  const hide = [...new Set(dirs.map((d) => path.resolve(d)))]
    // Hiding the workspace itself, or a directory inside it, would hide the work.
    .filter((d) => d !== '/' && existsSync(d) && !isInside(workspace, d))
    .map((d) => `d:${d}`);
  for (const f of ['/run/docker.sock', '/var/run/docker.sock']) if (existsSync(f)) hide.push(`f:${f}`);
  return ['/bin/sh', '-c', SETUP, 'phaseflow-sandbox', workspace, ...hide, '--'];
}

function probe(): Probed {
  if (process.platform !== 'linux') return { reason: `namespaces need Linux (this is ${process.platform})` };
  // An absolute path: children get a filtered PATH, which must not pick another unshare.
  const unshare = findOnPath('unshare');
  if (!unshare) return { reason: 'no unshare (util-linux) on PATH' };
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const candidates: Launcher[] = [
    { outer: [unshare, ...NS_FLAGS, '--'], inner: [], how: 'namespaces (as root)' },
    {
      outer: [unshare, '--user', '--map-root-user', ...NS_FLAGS, '--'],
      inner: uid === 0 ? [] : [unshare, '--user', `--map-user=${uid}`, `--map-group=${gid}`, '--'],
      how: 'user namespaces',
    },
    // util-linux before 2.38 has no --map-user: the command then runs as root of its namespace.
    {
      outer: [unshare, '--user', '--map-root-user', ...NS_FLAGS, '--'],
      inner: [],
      how: 'user namespaces (uid 0 inside)',
    },
  ];
  const failures: string[] = [];
  const out: Probed = {};
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'phaseflow-sandbox-probe-'));
  try {
    for (const c of candidates) {
      // What matters, checked the way commands will run: our parent is the namespace's init (a
      // fresh /proc), we have our uid; in the workspace profile the workspace is writable and
      // the rest is not (/proc/1/root is read-only there even for root).
      const expectedUid = c.how.includes('uid 0 inside') ? 0 : uid;
      const checks: Record<SandboxProfile, string> = {
        processes: `[ "$PPID" = 1 ] && [ "$(id -u)" = "${expectedUid}" ]`,
        workspace: `[ "$PPID" = 1 ] && [ "$(id -u)" = "${expectedUid}" ] && touch ./probe && ! touch /usr/phaseflow-sandbox-probe 2>/dev/null`,
      };
      for (const profile of ['processes', 'workspace'] as const) {
        if (out[profile]) continue;
        const run = wrap(c, profile, scratch, '/bin/sh', ['-c', checks[profile]]);
        const r = spawnSync(run.file, run.args, { cwd: scratch, encoding: 'utf8', timeout: 5_000 });
        if (r.status === 0 && (profile === 'processes' || existsSync(path.join(scratch, 'probe')))) out[profile] = c;
        else failures.push(`${c.how} (${profile}): ${describe(r)}`);
      }
      if (out.processes && out.workspace) break;
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return { ...out, ...(out.processes && out.workspace ? {} : { reason: failures.join('; ') }) };
}

function describe(r: ReturnType<typeof spawnSync>): string {
  return (
    r.error?.message ??
    (String(r.stderr ?? '')
      .trim()
      .split('\n')[0] ||
      `exit ${r.status}`)
  );
}
