/**
 * Debug before escalation (`settings.gateDebugAttempts`, orchestrate turns it on): when a phase's
 * gate fails, a debug agent reads the gate's evidence (each failed command, its exit, the end of
 * its output and its log file) and fixes the code; then the gate runs again. Only when the rounds
 * are used up does the phase ask a person. Each round is one agent attempt through the usual
 * ladder code (its own activity, time limit and details file); its spend counts in the phase.
 */
import { log, patched } from '@temporalio/workflow';
import type { TaskSpec } from '../domain/spec';
import { addUsage, type GateResult } from '../domain/types';
import type { PhaseRun } from './phase-run';
import { runTaskAttempts } from './task-attempts';

/** patched() id: runs recorded before the debug agent existed never had it (their setting is 0 anyway). */
export const GATE_DEBUG_PATCH = 'gate-debug-agent';

/** True when a debug round made the failed gate pass; false when there are no rounds or none helped. */
export async function gateFixedByDebugAgent(phase: PhaseRun): Promise<boolean> {
  const rounds = phase.settings.gateDebugAttempts;
  if (!(rounds > 0) || !patched(GATE_DEBUG_PATCH)) return false;
  for (let round = 1; round <= rounds; round++) {
    const task = debugTask(phase, round, phase.gate!);
    const outcome = await runTaskAttempts({
      ctx: phase.ctx,
      task,
      settings: { ...phase.settings, attempts: 1 },
      agentMode: phase.agentMode,
      budget: () => phase.taskBudget(),
      report: (r) => {
        if (r.result) phase.debugUsage = addUsage(phase.debugUsage, r.result.usage);
        if (r.usage) phase.debugUsage = addUsage(phase.debugUsage, r.usage);
      },
    });
    const passed = (await phase.runGate()).passed;
    phase.debugRounds.push({
      round,
      taskId: task.id,
      status: outcome.status,
      ...(outcome.result?.summary ? { summary: outcome.result.summary } : {}),
      gatePassed: passed,
    });
    log.info(
      `phaseflow: gate debug round ${round}/${rounds} of phase ${phase.spec.slug}: gate ${passed ? 'passed' : 'failed'}`,
      {
        plan: phase.ctx.planSlug,
        phase: phase.spec.slug,
        task: task.id,
        agent: outcome.status,
      },
    );
    phase.render();
    if (passed) return true;
  }
  return false;
}

/** The debug agent's task: the gate's evidence in its description, the phase's files as its hint. */
function debugTask(phase: PhaseRun, round: number, gate: GateResult): TaskSpec {
  const failed = gate.checks.filter((c) => !c.passed);
  const evidence = failed
    .map(
      (c) =>
        `- ${c.name}: \`${c.command}\` ${c.timedOut ? 'timed out' : `exited ${c.exitCode}`}; full log: ${c.logFile}\n  last output:\n${c.outputExcerpt
          .split('\n')
          .map((l) => `    ${l}`)
          .join('\n')}`,
    )
    .join('\n');
  return {
    id: `debug-${phase.spec.slug}-${round}`,
    description: [
      `Debug round ${round}: the validation gate of phase "${phase.spec.title}" failed. Read the evidence below (and the log files with Read),`,
      `find the cause in the workspace and fix the code so that the gate's commands pass. Do not edit the gate's commands or weaken the tests.`,
      `Gate evidence:`,
      evidence,
      ...(gate.successCriteria.length ? [`Success criteria: ${gate.successCriteria.join('; ')}`] : []),
    ].join('\n'),
    kind: 'agent',
    domain: 'testing',
    outputType: 'code',
    complexity: 'default',
    files: [...new Set(phase.spec.tasks.flatMap((t) => t.files))],
    dependsOn: [],
    ...(phase.spec.gate.dryRunDebug ? { dryRun: phase.spec.gate.dryRunDebug } : {}),
  };
}
