/**
 * The state of a plan reshape (expand or collapse) beside its workflow function: the input, what
 * the specialists returned and which failed, the questions desk, and the Web UI details.
 */
import { proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type * as activities from '../activities';
import type { OperationResult, PhaseInfo, PlanRef, ReshapeOp } from '../activities/plan-reshape';
import { DecisionDesk } from './decision-desk';
import { pendingQuery } from './messages';

export interface ReshapeInput {
  /** The plan: `…/NNN_name.md`, its directory, or the main file in it. */
  planPath: string;
  op: ReshapeOp;
  /** Phase numbers to reshape; with `auto`, the analysis picks them. */
  phases?: string[];
  auto?: boolean;
  thresholds?: { expandAt: number; collapseAt: number };
  /** Specialists running at once (default 4). */
  maxParallel?: number;
  decisionTimeoutSeconds?: number;
  reminderBeforeSeconds?: number;
  /** claude: each Level 0 ↔ 1 specialist is an agent (checked before it counts); default dry-run. */
  mode?: 'dry-run' | 'claude';
  /** auto: the staged diff is applied without asking (orchestrate's analysis with expand auto). */
  approve?: 'auto';
  /** Dry-run: these phases' specialists fail in the first round (to show partial failure). */
  simulateFailure?: string[];
}

export interface ReshapeOutcome {
  status: 'applied' | 'rejected' | 'restored' | 'nothing-to-do';
  op: ReshapeOp;
  phases: string[];
  checkpoint?: string;
  diffFile?: string;
  summary: string;
  operations: OperationResult[];
  failed: string[];
  /** Second-round analysis after applying: phases that now call for expanding or collapsing. */
  nextCandidates?: { number: string; title: string; complexity: number; recommendation: ReshapeOp }[];
}

export const reshapeActivities = proxyActivities<typeof activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 3, backoffCoefficient: 1.5 },
});

export class ReshapeRun {
  readonly thresholds: { expandAt: number; collapseAt: number };
  readonly desk: DecisionDesk;
  ref: PlanRef | undefined;
  checkpoint: string | undefined;
  targets: string[] = [];
  readonly done: OperationResult[] = [];
  failed: { phase: string; error: string }[] = [];
  round = 0;
  private status = 'analysing';

  constructor(readonly input: ReshapeInput) {
    this.thresholds = input.thresholds ?? { expandAt: 8, collapseAt: 4 };
    this.desk = new DecisionDesk(
      {
        workflowId: workflowInfo().workflowId,
        epicSlug: '',
        roadmapSlug: '',
        planSlug: input.planPath,
        phaseSlug: input.op,
        phaseTitle: `${input.op} ${input.planPath}`,
      },
      {
        timeoutMs: (input.decisionTimeoutSeconds ?? 86_400) * 1000,
        reminderBeforeMs: (input.reminderBeforeSeconds ?? 3600) * 1000,
      },
      () => this.render(),
    );
    setHandler(pendingQuery, () => (this.desk.pending ? [this.desk.pending] : []));
    this.render();
  }

  /** The phases to reshape: those named, or (auto) those the analysis recommends. */
  chooseTargets(phases: PhaseInfo[]): string[] {
    const { op } = this.input;
    const wanted = this.input.auto
      ? phases.filter((p) =>
          op === 'expand'
            ? !p.expanded && p.complexity >= this.thresholds.expandAt
            : p.expanded && p.complexity <= this.thresholds.collapseAt,
        )
      : phases.filter((p) => (this.input.phases ?? []).includes(p.number));
    this.targets = wanted.map((p) => p.number);
    this.set(`${op} of phases ${this.targets.join(', ') || '(none)'}`);
    return this.targets;
  }

  /** Runs the specialists for `phases`, at most maxParallel at once; records results and failures. */
  async runSpecialists(phases: string[]): Promise<void> {
    this.round++;
    this.failed = [];
    const queue = [...phases];
    const worker = async () => {
      for (let phase = queue.shift(); phase !== undefined; phase = queue.shift()) {
        try {
          this.done.push(
            await reshapeActivities.reshapeOperation({
              checkpoint: this.checkpoint!,
              ref: this.ref!,
              op: this.input.op,
              phase,
              simulateFailure: this.round === 1 && (this.input.simulateFailure ?? []).includes(phase),
              ...(this.input.mode ? { mode: this.input.mode } : {}),
            }),
          );
        } catch (err) {
          this.failed.push({ phase, error: (err as Error).cause ? String((err as any).cause.message) : String(err) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.input.maxParallel ?? 4, phases.length) }, worker));
    this.done.sort((a, b) => Number(a.phase) - Number(b.phase));
    this.set(`${this.done.length} done, ${this.failed.length} failed`);
  }

  /** Phases that call for expanding or collapsing now. */
  candidates(phases: PhaseInfo[]): NonNullable<ReshapeOutcome['nextCandidates']> {
    const { expandAt, collapseAt } = this.thresholds;
    return phases.flatMap((p) => {
      const recommendation: ReshapeOp | undefined =
        !p.expanded && p.complexity >= expandAt
          ? 'expand'
          : p.expanded && p.complexity <= collapseAt
            ? 'collapse'
            : undefined;
      return recommendation ? [{ number: p.number, title: p.title, complexity: p.complexity, recommendation }] : [];
    });
  }

  outcome(status: ReshapeOutcome['status'], extra: Partial<ReshapeOutcome> = {}): ReshapeOutcome {
    this.set(status);
    return {
      status,
      op: this.input.op,
      phases: this.targets,
      ...(this.checkpoint ? { checkpoint: this.checkpoint } : {}),
      summary: status,
      operations: this.done,
      failed: this.failed.map((f) => f.phase),
      ...extra,
    };
  }

  set(status: string): void {
    this.status = status;
    this.render();
  }

  private render(): void {
    setCurrentDetails(
      [
        `## ${this.input.op} ${this.input.planPath}`,
        `**${this.desk?.pending ? `waiting: ${this.desk.pending.question}` : this.status}**`,
        ...(this.checkpoint ? [`Checkpoint: \`${this.checkpoint}\``] : []),
        ...this.done.map((d) => `- ✔ phase ${d.phase}: ${d.summary}`),
        ...this.failed.map((f) => `- ✖ phase ${f.phase}: ${f.error}`),
      ].join('\n'),
    );
  }
}
