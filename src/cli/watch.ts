/**
 * Live view of a run (`phaseflow watch ID`, `phaseflow start --watch`): the tree with bars, costs,
 * paused state and the questions it waits on, read by polling the workflows' `status` queries.
 * Nothing is held by the watcher, so it can attach to a run at any time and Ctrl-C leaves the run
 * alone. On a terminal the frame is redrawn in place; elsewhere (logs, CI) a line is printed per
 * change.
 */
import { CancelledFailure, type Client, TerminatedFailure, WorkflowFailedError } from '@temporalio/client';
import type { DecisionRecord, PendingDecision } from '../domain/decisions';
import type { StatusNode } from '../workflows/messages';
import { CliError } from './errors';
import { decisionLine, nodeLine, pendingLines, treeLines } from './render';
import {
  CHILD_QUERY_TIMEOUT_MS,
  CLOSED_QUERY_TIMEOUT_MS,
  NotStartedYet,
  NoWorker,
  queryStatus,
  resolveTarget,
  withClient,
} from './target';
import { CLOSED_STATUSES, decisionsIn, fetchTree, openWorkflows, pendingIn, type TreeQuery } from './tree';

/** How long a run may be "not started yet" before watch says so (a worker should pick it up well within). */
const QUIET_START_MS = 15_000;
/** How long the closing poll may take in all (closed workflows answer only through a replay). */
const FINAL_POLL_MS = 8_000;

/** `phaseflow watch ID`: attach to a run (running or not) and follow it until it closes. */
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

export interface WatchResult {
  ok: boolean;
  message: string;
}

export interface WatchOptions {
  intervalMs?: number;
  out?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
}

export async function watchEpic(client: Client, workflowId: string, opts: WatchOptions = {}): Promise<WatchResult> {
  const out = opts.out ?? process.stdout;
  const view = out.isTTY ? new Redraw(out) : new ChangeLog(out);
  const handle = client.workflow.getHandle(workflowId);
  const done = handle.result().then(
    (r: unknown) => ({ ok: true as const, r }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  // Attached to a closed run: no polling, just the outcome (and the last state, if a worker answers).
  let finished = (await handle.describe()).status.name !== 'RUNNING';
  void done.then(() => (finished = true));

  const attached = Date.now();
  let last: StatusNode | undefined;
  let asked: PendingDecision[] = [];
  // Each poll's number: a poll overtaken by a later one (left behind when the run closed) shows nothing.
  let polls = 0;
  const tick = async (q: TreeQuery = {}) => {
    const poll = ++polls;
    try {
      const tree = await fetchTree(client, workflowId, {
        childTimeoutMs: CHILD_QUERY_TIMEOUT_MS,
        ...q,
        wasOpen: last ? openWorkflows(last) : undefined,
      });
      // A settled question's record lives in its phase, which may have left the active chain.
      const open = new Set(pendingIn(tree).map((p) => p.id));
      const settled = asked.filter((p) => !open.has(p.id));
      const records = await Promise.all(
        settled.map((p) =>
          queryStatus(client, p.workflowId, CHILD_QUERY_TIMEOUT_MS).then(
            (n) => n.decisions ?? [],
            () => [],
          ),
        ),
      );
      if (poll !== polls) return;
      last = tree;
      asked = pendingIn(tree);
      view.show(tree, Date.now(), [...decisionsIn(tree), ...records.flat()]);
    } catch (err) {
      if (poll !== polls) return;
      // Attached before the workflow ran its first task: it is starting, not broken. Said only if
      // it stays that way (a worker that never picks the workflow up); so is one whose worker is
      // just starting (a run started, then its worker).
      if ((err instanceof NotStartedYet || err instanceof NoWorker) && Date.now() - attached < QUIET_START_MS) return;
      view.problem((err as Error).message);
    }
  };
  while (!finished) {
    // A query that does not come back (no worker, or one lost on the way) must not hold the
    // view once the run has closed: the closing poll below goes on without it.
    await Promise.race([tick(), done]);
    await Promise.race([done, new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000))]);
  }
  // The closing state of every level, if a worker still answers (children settled between two
  // polls are shown as they ended). One limit for the whole tree: asked level after level, a
  // limit per query would add up (4 levels × 4 s).
  await tick({ mode: 'started', timeoutMs: CLOSED_QUERY_TIMEOUT_MS, deadline: Date.now() + FINAL_POLL_MS });
  return outcome(workflowId, await done, last);
}

/**
 * Ctrl-C while watching: the run is not the watcher's to stop. Leaves with a line that says so
 * and how to come back, exit 130 (stopped by SIGINT, as shells report it). Returns the undo.
 */
export function leaveOnCtrlC(workflowId: string, out: NodeJS.WriteStream = process.stdout): () => void {
  const leave = () => {
    out.write(
      `${out.isTTY ? '\n' : ''}stopped watching; the run goes on (phaseflow watch ${workflowId} to reattach)\n`,
    );
    process.exit(130);
  };
  process.once('SIGINT', leave);
  return () => process.off('SIGINT', leave);
}

/** The final line: how the run ended, with its figures. */
function outcome(
  workflowId: string,
  res: { ok: true; r: unknown } | { ok: false; e: unknown },
  last: StatusNode | undefined,
): WatchResult {
  const level = capitalize(last?.level ?? 'epic');
  const figures = (n: { tasksCompleted: number; tasksTotal: number; usage: StatusNode['usage'] } | undefined) =>
    n
      ? `${n.tasksCompleted}/${n.tasksTotal} tasks, $${n.usage.costUsd.toFixed(4)}${n.usage.simulated ? ' (simulated)' : ''}`
      : '';
  if (res.ok) {
    const r = res.r as Partial<StatusNode>;
    const n = r && typeof r.tasksTotal === 'number' && r.usage ? (r as StatusNode) : last;
    return { ok: true, message: `${level} ${workflowId} completed: ${figures(n)}` };
  }
  const cause = res.e instanceof WorkflowFailedError ? res.e.cause : undefined;
  if (cause instanceof CancelledFailure)
    return { ok: false, message: `${level} ${workflowId} cancelled${last ? ` at ${figures(last)}` : ''}` };
  if (cause instanceof TerminatedFailure)
    return { ok: false, message: `${level} ${workflowId} terminated: ${cause.message}` };
  return { ok: false, message: `${level} ${workflowId} failed: ${failureReason(res.e)}` };
}

const capitalize = (s: string) => s[0].toUpperCase() + s.slice(1);

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

interface View {
  /** `records`: the decisions known, to say how a question that is gone was settled. */
  show(tree: StatusNode, now: number, records: DecisionRecord[]): void;
  problem(message: string): void;
}

/** Terminal: the whole frame, redrawn in place, cut to the screen so the redraw stays exact. */
class Redraw implements View {
  private height = 0;
  private note = '';

  constructor(private readonly out: NonNullable<WatchOptions['out']>) {}

  show(tree: StatusNode, now: number, records: DecisionRecord[]): void {
    this.note = '';
    this.draw(frame(tree, now, { columns: this.out.columns || 120, rows: this.out.rows || 40 }, records));
  }

  problem(message: string): void {
    if (this.note === message) return;
    this.note = message;
    this.out.write(`\n${message}\n`);
    this.height = 0; // keep the message on screen: the next frame starts below it
  }

  private draw(lines: string[]): void {
    const up = this.height > 0 ? `\x1b[${this.height}F` : '';
    this.out.write(`${up}\x1b[0J${lines.join('\n')}\n`);
    this.height = lines.length;
  }
}

/** One frame: the tree (trimmed to fit), what the run waits on, the last decisions, a footer. */
export function frame(
  tree: StatusNode,
  now: number,
  screen: { columns: number; rows: number },
  records: DecisionRecord[] = [],
): string[] {
  const recent = [...new Map(records.map((d) => [d.id, d])).values()]
    .sort((a, b) => a.decidedAt.localeCompare(b.decidedAt))
    .slice(-2);
  const pending = [
    ...pendingIn(tree).flatMap((p) => pendingLines(p, now)),
    ...recent.map((d) => `✔ decided: ${decisionLine(d)}`),
  ];
  const footer = [
    `${new Date(now).toISOString().slice(11, 19)} UTC${tree.paused ? ' · ⏸ PAUSED (phaseflow resume to go on)' : ''} · Ctrl-C stops watching, not the run`,
  ];
  // The frame must fit the screen or the redraw goes wrong: the tree gives way first, then the rest.
  const limit = Math.max(2, screen.rows - 1);
  let body = treeLines(tree);
  const room = Math.max(2, limit - pending.length - footer.length);
  if (body.length > room) body = [...body.slice(0, room - 1), `  … ${body.length - room + 1} more`];
  const lines = [...[...body, ...pending].slice(0, limit - footer.length), ...footer];
  // A wrapped line would break the redraw; icons such as ⏳ take two columns, hence the margin.
  const width = Math.max(20, screen.columns - 4);
  const cut = (l: string) => ([...l].length > width ? `${[...l].slice(0, width - 1).join('')}…` : l);
  return lines.map(cut);
}

/** Not a terminal: a timestamped line for each node that changed and each question asked or settled. */
export class ChangeLog implements View {
  private lines = new Map<string, string>();
  private asked = new Set<string>();
  private note = '';

  constructor(private readonly out: NodeJS.WritableStream) {}

  show(tree: StatusNode, now: number, records: DecisionRecord[]): void {
    this.note = '';
    const stamp = new Date(now).toISOString().slice(11, 19);
    // A node that closed is printed after its children: what happened inside it (seen in the
    // same poll) comes before "epic … completed", as it happened.
    const walk = (node: StatusNode, parent: string) => {
      const key = parent ? `${parent}/${node.slug}` : node.slug;
      // Questions get lines of their own below; the slug is spelled as its path to be unambiguous.
      const line = nodeLine({ ...node, slug: key, pending: undefined }, { bars: false });
      // A countdown to the next API try is not a change of its own.
      const seen = line.replace(/next try in \d+ s/g, 'next try in … s');
      const changed = this.lines.get(key) !== seen;
      this.lines.set(key, seen);
      const closing = CLOSED_STATUSES.has(node.status);
      if (changed && !closing) this.out.write(`${stamp} ${line}\n`);
      for (const c of node.children ?? []) walk(c, key);
      if (changed && closing) this.out.write(`${stamp} ${line}\n`);
    };
    walk(tree, '');
    const pending = pendingIn(tree);
    for (const p of pending) {
      if (!this.asked.has(p.id)) for (const l of pendingLines(p, now)) this.out.write(`${stamp} ${l}\n`);
    }
    const open = new Set(pending.map((p) => p.id));
    for (const id of [...this.asked].filter((k) => !open.has(k))) {
      const r = records.find((d) => d.id === id);
      this.out.write(`${stamp} ✔ decided: ${r ? decisionLine(r) : id}\n`);
    }
    this.asked = open;
  }

  problem(message: string): void {
    if (message !== this.note) this.out.write(`${message}\n`);
    this.note = message;
  }
}
