/**
 * A worker stand-in for the parent-death tests, killed with SIGKILL by the test:
 *   node -r tsx/cjs tests/security/orphan-child.ts shell|workspace <workspace> <command>
 * `shell` runs the command through runShell (command tasks and gates), `workspace` the way the
 * agent's Bash starts it (sandboxed(..., 'workspace') in its own process group). Prints
 * `pgid <n>` once the command runs, then waits.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sandboxed } from '../../src/activities/sandbox';
import { runShell } from '../../src/activities/shell';

const [how, workspace, command] = process.argv.slice(2);
if (how === 'shell') {
  const pidFile = path.join(workspace, 'cmd.pid');
  void runShell(command, { cwd: workspace, timeoutMs: 60_000, logFile: path.join(workspace, 'cmd.log'), pidFile });
  const poll = setInterval(() => {
    if (!existsSync(pidFile)) return;
    clearInterval(poll);
    console.log(`pgid ${JSON.parse(readFileSync(pidFile, 'utf8')).pgid}`);
  }, 20);
} else {
  const run = sandboxed('/bin/bash', ['-c', command], 'workspace', workspace);
  const child = spawn(run.file, run.args, { cwd: workspace, detached: true, stdio: 'ignore' });
  console.log(`pgid ${child.pid}`);
}
setInterval(() => undefined, 1000);
