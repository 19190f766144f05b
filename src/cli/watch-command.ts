/** `phaseflow watch ID`: attach to a run (running or not) and follow it until it closes. */
import { CliError } from './errors';
import { resolveTarget, withClient } from './target';
import { leaveOnCtrlC, watchEpic } from './watch';

export async function watchCommand(id: string, opts: { intervalMs: number }): Promise<void> {
  await withClient(async (client) => {
    const target = await resolveTarget(client, id);
    if (target.status === 'RUNNING') console.log(`Watching ${target.workflowId} (every ${opts.intervalMs / 1000} s)`);
    const unhook = leaveOnCtrlC(target.workflowId);
    const result = await watchEpic(client, target.workflowId, { intervalMs: opts.intervalMs }).finally(unhook);
    console.log(result.message);
    if (!result.ok) throw new CliError('', 1);
  });
}
