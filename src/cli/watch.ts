/**
 * Live progress of a running epic: a bar per level (epic, roadmap, plan, phase), read from the
 * workflows' `status` queries. On a terminal the bars redraw in place; elsewhere a line is
 * printed whenever something changes.
 */
import { type Client, WorkflowFailedError } from '@temporalio/client';
import cliProgress from 'cli-progress';
import { workflowIds } from '../domain/ids';
import type { StatusNode } from '../workflows/messages';

const LEVELS = ['epic', 'roadmap', 'plan', 'phase'] as const;

async function queryStatus(client: Client, workflowId: string): Promise<StatusNode | undefined> {
  try {
    return await client.workflow.getHandle(workflowId).query<StatusNode>('status');
  } catch {
    return undefined; // not started yet, or closed and not queryable
  }
}

/** The chain of active nodes from the epic down to the phase running now. */
export async function activeChain(client: Client, epicId: string): Promise<{ node: StatusNode; id: string }[]> {
  const chain: { node: StatusNode; id: string }[] = [];
  let id = epicId;
  for (let depth = 0; depth < LEVELS.length; depth++) {
    const node = await queryStatus(client, id);
    if (!node) break;
    chain.push({ node, id });
    const active = node.children?.find((c) => c.status === 'active');
    if (!active) break;
    id = workflowIds.child(id, active.slug);
  }
  return chain;
}

export interface WatchResult {
  ok: boolean;
  message: string;
}

export async function watchEpic(client: Client, epicId: string, opts: { intervalMs?: number; out?: NodeJS.WriteStream } = {}): Promise<WatchResult> {
  const out = opts.out ?? process.stdout;
  const tty = Boolean(out.isTTY);
  const multibar = tty
    ? new cliProgress.MultiBar(
        { format: '{level} |{bar}| {value}/{total} {label}', barsize: 24, hideCursor: true, clearOnComplete: false, stream: out, fps: 5 },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const bars = new Map<string, cliProgress.SingleBar>();
  let lastLine = '';
  const handle = client.workflow.getHandle(epicId);
  const done = handle.result().then(
    (r) => ({ ok: true as const, r }),
    (e) => ({ ok: false as const, e }),
  );
  let finished = false;
  void done.then(() => (finished = true));

  const draw = async () => {
    const chain = await activeChain(client, epicId);
    for (const [i, { node }] of chain.entries()) {
      const level = LEVELS[i].padEnd(7);
      const label = `${node.title} (${node.status})`;
      if (multibar) {
        let bar = bars.get(LEVELS[i]);
        if (!bar) {
          bar = multibar.create(node.tasksTotal, node.tasksCompleted, { level, label });
          bars.set(LEVELS[i], bar);
        }
        bar.setTotal(node.tasksTotal);
        bar.update(node.tasksCompleted, { level, label });
      }
    }
    if (!multibar) {
      const line = chain.map(({ node }, i) => `${LEVELS[i]} ${node.slug} ${node.tasksCompleted}/${node.tasksTotal}`).join(' › ');
      if (line && line !== lastLine) out.write(`${line}\n`);
      lastLine = line;
    }
  };

  while (!finished) {
    await draw().catch(() => undefined);
    await Promise.race([done, new Promise((r) => setTimeout(r, opts.intervalMs ?? 500))]);
  }
  await draw().catch(() => undefined);
  multibar?.stop();
  const res = await done;
  if (res.ok) return { ok: true, message: `Epic ${epicId} completed: ${res.r.tasksCompleted}/${res.r.tasksTotal} tasks, $${res.r.usage.costUsd.toFixed(4)}` };
  return { ok: false, message: `Epic ${epicId} failed: ${failureReason(res.e)}` };
}

/** The innermost failure message: the one that says which task or gate failed, and why. */
export function failureReason(err: unknown): string {
  let e: any = err instanceof WorkflowFailedError ? err.cause : err;
  const messages: string[] = [];
  while (e) {
    if (e.message) messages.push(e.message);
    e = e.cause;
  }
  return messages[0] ?? String(err);
}
