/**
 * A phase: its tasks run as parallel activities, at most `maxParallel` at once, each starting as
 * soon as the tasks it depends on have completed (TaskScheduler); then the validation gate.
 *
 * When a task fails after its last attempt, is blocked, or is stopped by the stuck detector, no
 * new task starts, and once the running ones are done the phase asks a person: retry (the failed
 * tasks, or the whole phase), skip or abort. A failed gate asks the same. With
 * `require_phase_approval` a passed phase waits for approve/reject. A spent budget holds new agent
 * tasks and asks for a raise. Every question has a time limit and a default (PhaseQuestions,
 * DecisionDesk). Pause holds new tasks; cancellation stops running agents and ends the phase
 * `cancelled`. The run's state lives in PhaseRun.
 */
import { gateFixedByDebugAgent } from './gate-debug';
import { onCancel } from './lifecycle';
import { type PhaseInput, type PhaseOutcome, PhaseRun } from './phase-run';
import { PhaseQuestions } from './phase-questions';
import { TaskScheduler } from './task-scheduler';
import { pinToHost } from './workspace-host';

export async function phaseWorkflow(input: PhaseInput): Promise<PhaseOutcome> {
  pinToHost(input.ctx.host);
  const phase = new PhaseRun(input);
  const ask = new PhaseQuestions(phase);
  const tasks = new TaskScheduler(phase, input, (line) => ask.budgetSpent(line));

  await onCancel(
    async () => {
      if (phase.git.on) await phase.git.begin();
      for (;;) {
        if ((await tasks.run()) === 'continue-as-new') await phase.continueAsNew();
        if (phase.failureReason) break; // aborted while asking for more budget
        phase.endRound();
        const failed = phase.troubled();
        if (failed.length > 0) {
          if (await ask.failedTasks(failed)) {
            if (phase.git.on && ask.retriedPhase) await phase.git.resetForRetry();
            continue;
          }
          break;
        }
        // A failed gate first gets the debug agent's rounds (gateDebugAttempts, default none).
        if (phase.gateDue() && !(await phase.runGate()).passed && !(await gateFixedByDebugAgent(phase))) {
          if (await ask.failedGate()) {
            if (phase.git.on && ask.retriedPhase) await phase.git.resetForRetry();
            continue;
          }
          break;
        }
        if (phase.git.on) await phase.git.commitPassed(phase.summaries());
        if (input.requireApproval) await ask.approval(input.phasesTotal);
        break;
      }
      phase.settle();
    },
    () => phase.cancelled(tasks.running.values()),
  );
  return phase.outcome();
}
