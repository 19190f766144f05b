/**
 * Every workflow run an epic started, read back from the server: the epic's runs, then its
 * children's (from ChildWorkflowExecutionStarted events), each followed along its
 * continue-as-new chain (WorkflowExecutionContinuedAsNew events). Used to record histories for
 * replay and by the fault tests to read all task executions of a run.
 */
import type { Client } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';

export interface WorkflowRunHistory {
  workflowId: string;
  runId: string;
  /** 1 for the first run of the id, 2, 3, … for runs continued-as-new from it. */
  run: number;
  workflowType: string;
  history: History;
}

export async function walkWorkflowTree(
  client: Client,
  root: { workflowId: string; runId: string },
): Promise<WorkflowRunHistory[]> {
  const out: WorkflowRunHistory[] = [];
  const queue = [{ ...root, run: 1 }];
  for (let next = queue.shift(); next; next = queue.shift()) {
    const history = await client.workflow.getHandle(next.workflowId, next.runId).fetchHistory();
    const events = history.events ?? [];
    const workflowType = events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
    if (!workflowType)
      throw new Error(`${next.workflowId} (run ${next.runId}): history does not start with WorkflowExecutionStarted`);
    for (const e of events) {
      const child = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
      if (child?.workflowId && child.runId) queue.push({ workflowId: child.workflowId, runId: child.runId, run: 1 });
    }
    const continued = events[events.length - 1]?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    if (continued) queue.push({ workflowId: next.workflowId, runId: continued, run: next.run + 1 });
    out.push({ workflowId: next.workflowId, runId: next.runId, run: next.run, workflowType, history });
  }
  return out;
}
