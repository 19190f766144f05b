/**
 * The recorded histories of `phaseflow orchestrate` (orchestrateWorkflow), in dry-run: two
 * research agents, a first planner draft refused and corrected, the plan approved by the
 * recorder, the epic (whose build gate fails until the debug agent fixes it: the phase history
 * carries the `gate-debug-agent` patch), then the document agent. Records the orchestrate run and
 * the build phase.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import type { PendingDecision } from '../../src/domain/decisions';
import { decideUpdate, pendingQuery } from '../../src/workflows/messages';
import { orchestrateWorkflow } from '../../src/workflows/orchestrate';
import { tempWorkspace, waitFor } from '../support/worker-harness';
import type { HistoryEntry } from './history-files';

const EventType = temporal.api.enums.v1.EventType;

export async function recordOrchestrate(
  client: Client,
  taskQueue: string,
): Promise<{ entry: HistoryEntry; history: History }[]> {
  const ws = tempWorkspace('phaseflow-replay-');
  fs.writeFileSync(path.join(ws, 'README.md'), '# Replay\n');
  const slug = 'replay-orch';
  const workflowId = `orchestrate/${slug}`;
  const handle = await client.workflow.start(orchestrateWorkflow, {
    workflowId,
    taskQueue,
    args: [
      {
        goal: 'Add a greeting, then test it',
        workspace: ws,
        slug,
        agentMode: 'dry-run',
        research: 2,
        settings: { timeoutBaseSeconds: 10, retryBackoffSeconds: 0.2 },
        simulate: { invalidFirstDraft: true, failingGate: true },
        decisionTimeoutSeconds: 600,
      },
    ],
  });
  const q: PendingDecision = await waitFor(
    'the plan approval',
    async () => (await handle.query(pendingQuery)).find((p) => p.kind === 'approval'),
    60_000,
  );
  await handle.executeUpdate(decideUpdate, { args: [{ decisionId: q.id, action: 'approve', by: 'recorder' }] });
  const outcome = await handle.result();
  if (outcome.status !== 'completed') throw new Error(`orchestrate recording: ${outcome.status}, expected completed`);
  const entry = async (id: string, file: string, workflowType: string) => {
    const history = await client.workflow.getHandle(id).fetchHistory();
    const events = history.events ?? [];
    return {
      history,
      entry: {
        file,
        scenario: 'orchestrate',
        workflowId: id,
        workflowType,
        run: 1,
        closedBy: EventType[events[events.length - 1].eventType ?? 0] ?? '',
        events: events.length,
      },
    };
  };
  return [
    await entry(workflowId, 'orchestrate/orchestrate.json', 'orchestrateWorkflow'),
    await entry(`epic/${slug}/delivery/${slug}/build`, 'orchestrate/build-phase.json', 'phaseWorkflow'),
  ];
}
