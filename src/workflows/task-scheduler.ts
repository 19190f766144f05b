/**
 * Which task of a phase runs when: at most `maxParallel` at once, each as soon as the tasks it
 * depends on have completed, and never beside a running task that declares one of its `files`
 * (parallel agents would overwrite each other's work). Nothing new starts once a task is in trouble, while the phase is
 * paused, or when its history should start afresh; agent tasks wait while a budget is spent,
 * and the phase asks for more.
 */
import { condition, patched } from '@temporalio/workflow';
import { tasksSharingFiles } from '../domain/shared-files';
import type { BudgetLine } from '../domain/budget';
import { mergeSettings } from '../domain/settings';
import type { TaskSpec } from '../domain/spec';
import { shouldContinueAsNew } from './lifecycle';
import type { PhaseInput, PhaseRun } from './phase-run';
import { runTaskAttempts } from './task-attempts';

export class TaskScheduler {
  /** The tasks running now. */
  readonly running = new Map<string, Promise<void>>();
  /** A task's promise that rejects is not awaited directly; its error surfaces in run(). */
  private crash: unknown;
  /** For each task, the tasks that declare one of its files. */
  private readonly sharing: Map<string, Set<string>>;
  /** Whether the rule applies: decided (and recorded) once, only in phases where tasks share files. */
  private sharedFilesRule: boolean | undefined;

  constructor(
    private readonly phase: PhaseRun,
    private readonly input: PhaseInput,
    /** Asks a person to raise a spent budget; false when they (or the default) abort. */
    private readonly askForBudget: (line: BudgetLine) => Promise<boolean>,
  ) {
    this.sharing = tasksSharingFiles(phase.spec.tasks);
  }

  /** Starts what can start and waits; returns when nothing more can start now. */
  async run(): Promise<'settled' | 'continue-as-new'> {
    const { phase } = this;
    for (;;) {
      const troubled = phase.troubled().length > 0;
      const exhausted = phase.budgetLeft().exhausted;
      if (!troubled && !phase.paused && !this.historyFull()) this.startReady(exhausted !== undefined);
      if (this.running.size > 0) {
        const seen = phase.wake;
        await condition(() => phase.wake !== seen);
        if (this.crash) throw this.crash;
        continue;
      }
      if (troubled || !phase.spec.tasks.some((t) => phase.task(t.id).status === 'pending')) return 'settled';
      if (this.historyFull()) return 'continue-as-new';
      if (phase.paused) {
        await condition(() => !phase.paused);
        continue;
      }
      if (exhausted) {
        if (!(await this.askForBudget(exhausted))) return 'settled';
        continue;
      }
      return 'settled';
    }
  }

  private historyFull(): boolean {
    return shouldContinueAsNew(this.phase.settings.historyEventsLimit);
  }

  /** Starts pending tasks whose dependencies completed, in spec order, up to the cap. */
  private startReady(budgetSpent: boolean): void {
    const { phase } = this;
    for (const task of phase.spec.tasks) {
      if (this.running.size >= phase.settings.maxParallel) break;
      const s = phase.task(task.id);
      if (s.status !== 'pending' || this.running.has(task.id)) continue;
      if (budgetSpent && task.kind === 'agent') continue;
      if (!task.dependsOn.every((d) => phase.tasks.get(d)?.status === 'completed')) continue;
      if (this.waitsForSharedFile(task.id)) continue;
      s.status = 'running';
      this.running.set(
        task.id,
        this.runTask(task)
          .catch((err) => {
            this.crash ??= err;
          })
          .finally(() => {
            this.running.delete(task.id);
            phase.wake++;
          }),
      );
    }
  }

  /** A task that declares a file a running task declares waits for it, as if it depended on it. */
  private waitsForSharedFile(id: string): boolean {
    const others = this.sharing.get(id);
    if (!others || ![...others].some((o) => this.running.has(o))) return false;
    // Runs started before this rule let such tasks overlap; they replay as they ran.
    this.sharedFilesRule ??= patched('tasks-sharing-files-never-overlap');
    return this.sharedFilesRule;
  }

  private async runTask(task: TaskSpec): Promise<void> {
    const { phase, input } = this;
    const outcome = await runTaskAttempts({
      ctx: phase.ctx,
      task,
      settings: mergeSettings(...input.inherited, input.phase.settings, task.settings),
      agentMode: input.agentMode,
      attemptsBefore: phase.task(task.id).attempts,
      personNote: phase.personNotes.get(task.id),
      budget: () => phase.taskBudget(),
      report: (r) => phase.attemptReported(task, r),
    });
    phase.taskEnded(task, outcome);
  }
}
