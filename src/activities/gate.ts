/** runGate: a phase's validation gate. Every command runs; its exit status and output are the evidence. */
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
  /** Which gate run this is (a retried phase runs its gate again). */
  run: number;
}

export async function runGate(input: GateInput): Promise<GateResult> {
  const ctx = Context.current();
  const checks: GateCheck[] = [];
  for (const [i, c] of input.commands.entries()) {
    const command = typeof c === 'string' ? c : c.run;
    const name = (typeof c === 'string' ? undefined : c.name) ?? `gate-${i + 1}`;
    const timeoutMs = typeof c === 'string' || !c.timeoutSeconds ? input.timeoutMs : c.timeoutSeconds * 1000;
    const logFile = logFilePath(input.ctx.planSlug, `${input.ctx.phaseSlug}-${name}`, input.run);
    const res = await runShell(command, {
      cwd: input.ctx.workspace,
      timeoutMs,
      logFile: inWorkspace(input.ctx.workspace, logFile),
      excerptChars: 500,
      signal: ctx.cancellationSignal,
      onProgress: () => ctx.heartbeat({ gate: name }),
      progressEveryMs: heartbeatEveryMs(ctx),
    });
    if (res.cancelled) throw new CancelledFailure(`gate of phase ${input.ctx.phaseSlug} (${input.ctx.planSlug}) cancelled`);
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
      ? { reason: failed.map((c) => `${c.name} (\`${c.command}\`) ${c.timedOut ? 'timed out' : `exited ${c.exitCode}`}`).join('; ') }
      : {}),
    checkedAt: new Date().toISOString(),
  };
}
