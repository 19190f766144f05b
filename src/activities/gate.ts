/** runGate: a phase's validation gate. Every command runs; its exit status and output are the evidence. */
import { existsSync } from 'node:fs';
import { CancelledFailure, Context } from '@temporalio/activity';
import { logFilePath } from '../domain/paths';
import type { GateCommand } from '../domain/spec';
import type { GateCheck, GateResult, TaskContext } from '../domain/types';
import { heartbeatEveryMs } from './heartbeat';
import { runShell } from './shell';
import { inWorkspace } from './workspace';

export interface GateInput {
  ctx: TaskContext;
  commands: GateCommand[];
  successCriteria: string[];
  /** Default time limit per command. */
  timeoutMs: number;
  /**
   * The lowest gate run number to use in log names. The phase passes the same number on every
   * run of its gate (a person's retry runs it again), so the activity moves on to the first
   * number with no log yet: a re-run never overwrites the evidence of the run before.
   */
  run: number;
}

export async function runGate(input: GateInput): Promise<GateResult> {
  const activity = Context.current();
  const checks: GateCheck[] = [];
  const names = input.commands.map((c, i) => (typeof c === 'string' ? undefined : c.name) ?? `gate-${i + 1}`);
  const logOf = (name: string, run: number) => logFilePath(input.ctx.planSlug, `${input.ctx.phaseSlug}-${name}`, run);
  let run = input.run;
  while (names.some((n) => existsSync(inWorkspace(input.ctx.workspace, logOf(n, run))))) run++;
  for (const [i, c] of input.commands.entries()) {
    const command = typeof c === 'string' ? c : c.run;
    const name = names[i];
    const timeoutMs = typeof c === 'string' || !c.timeoutSeconds ? input.timeoutMs : c.timeoutSeconds * 1000;
    const logFile = logOf(name, run);
    const res = await runShell(command, {
      cwd: input.ctx.workspace,
      timeoutMs,
      logFile: inWorkspace(input.ctx.workspace, logFile),
      excerptChars: 500,
      signal: activity.cancellationSignal,
      onProgress: () => activity.heartbeat({ gate: name }),
      progressEveryMs: heartbeatEveryMs(activity),
    });
    if (res.cancelled)
      throw new CancelledFailure(`gate of phase ${input.ctx.phaseSlug} (${input.ctx.planSlug}) cancelled`);
    checks.push({
      name,
      command,
      exitCode: res.exitCode,
      passed: res.exitCode === 0 && !res.timedOut,
      durationMs: res.durationMs,
      outputExcerpt: res.excerpt,
      logFile,
      ...(res.timedOut ? { timedOut: true } : {}),
    });
  }
  const failed = checks.filter((c) => !c.passed);
  return {
    passed: failed.length === 0,
    checks,
    successCriteria: input.successCriteria,
    ...(failed.length
      ? {
          // Where to look and what it said, so `status`, `pending`, `watch` and the Web UI show it.
          reason: failed.map(failedCheckText).join('; '),
        }
      : {}),
    checkedAt: new Date().toISOString(),
  };
}

/** "gate-1 (`make test`) exited 2 (log .claude/cache/logs/…): make: *** No rule to make target 'test'.  Stop." */
export function failedCheckText(c: GateCheck): string {
  // The command in full is in PROGRESS.json and the log; here it only names the check.
  const command = c.command.length > 60 ? `${c.command.slice(0, 59)}…` : c.command;
  const what = `${c.name} (\`${command}\`) ${c.timedOut ? 'timed out' : `exited ${c.exitCode}`} (log ${c.logFile})`;
  const tail = c.outputExcerpt
    .split('\n')
    .filter((l) => l.trim())
    .slice(-2)
    .join(' | ');
  return tail ? `${what}: ${tail.length > 240 ? `…${tail.slice(-239)}` : tail}` : what;
}
