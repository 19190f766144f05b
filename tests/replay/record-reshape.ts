/**
 * The recorded history of `phaseflow expand` (planReshapeWorkflow): a Level-0 plan whose phase 2
 * specialist fails in the first round, a person retries it, then approves the diff; the plan is
 * applied and analysed again. Covers checkpoint, parallel specialists, escalation, approval,
 * apply and the second-round analysis.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import type { PendingDecision } from '../../src/domain/decisions';
import { decideUpdate, pendingQuery } from '../../src/workflows/messages';
import { planReshapeWorkflow } from '../../src/workflows/plan-reshape';
import { tempWorkspace, waitFor } from '../support/worker-harness';
import type { HistoryEntry } from './history-files';

const EventType = temporal.api.enums.v1.EventType;

export async function recordReshape(
  client: Client,
  taskQueue: string,
): Promise<{ entry: HistoryEntry; history: History }[]> {
  const ws = tempWorkspace('phaseflow-replay-');
  fs.mkdirSync(path.join(ws, '.claude'));
  const plan = path.join(ws, '001_replay_plan.md');
  fs.writeFileSync(
    plan,
    [
      '# Replay Plan',
      '',
      '## Metadata',
      '- **Structure Level**: 0',
      '',
      '### Phase 1: One',
      '- [ ] a',
      '',
      '### Phase 2: Two',
      '- [ ] b',
      '',
    ].join('\n'),
  );
  const workflowId = 'reshape/replay-plan';
  const handle = await client.workflow.start(planReshapeWorkflow, {
    workflowId,
    taskQueue,
    args: [{ planPath: plan, op: 'expand', phases: ['1', '2'], simulateFailure: ['2'], decisionTimeoutSeconds: 600 }],
  });
  for (const [kind, action] of [
    ['escalation', 'retry'],
    ['approval', 'approve'],
  ] as const) {
    const q: PendingDecision = await waitFor(
      `a ${kind} question`,
      async () => (await handle.query(pendingQuery)).find((p) => p.kind === kind),
      60_000,
    );
    await handle.executeUpdate(decideUpdate, { args: [{ decisionId: q.id, action, by: 'recorder' }] });
  }
  const outcome = await handle.result();
  if (outcome.status !== 'applied') throw new Error(`reshape recording: ${outcome.status}, expected applied`);
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  return [
    {
      history,
      entry: {
        file: 'plan-reshape/reshape.json',
        scenario: 'plan-reshape',
        workflowId,
        workflowType: 'planReshapeWorkflow',
        run: 1,
        closedBy: EventType[events[events.length - 1].eventType ?? 0] ?? '',
        events: events.length,
      },
    },
  ];
}
