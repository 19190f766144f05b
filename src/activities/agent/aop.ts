/**
 * The Agent Output Protocol: what the agent's final message must end with, and the details
 * file that keeps everything that must not travel up through Temporal history.
 */
import * as path from 'node:path';
import {
  CHANGED_PATHS_CAP,
  type AgentStatus,
  type OutputType,
  type TaskResult,
  type TaskRunInput,
  type Usage,
} from '../../domain/types';
import { writeFileAtomic } from '../fs-atomic';
import { capSummary } from '../summaries';
import type { StuckReport } from './stuck';

export { capSummary } from '../summaries';

/** Used when the agent left out the summary marker: the tail of its final text. */
export const FALLBACK_SUMMARY_CHARS = 200;

export interface AopResult {
  status: AgentStatus;
  /** Capped by output type. */
  summary: string;
  /** The agent's summary before capping. */
  fullSummary: string;
  /** What the agent put in [AOP:DETAILS_FILE] (informational; phaseflow's path wins). */
  agentDetailsFile?: string;
  /** Which markers were found; a missing one means the fallback was used. */
  markers: { summary: boolean; detailsFile: boolean; status: boolean };
}

const MARKER = /\[AOP:([A-Z_]+)\]/gi;
const STATUSES: readonly AgentStatus[] = ['success', 'failure', 'partial', 'blocked'];
/**
 * Ways an agent says it needs a person, read as `blocked` (after lower-casing and turning
 * punctuation into spaces): "blocked", "needs human", "needs-human", "need a person",
 * "needs input", "needs decision", "human needed", "human input required", "waiting for human",
 * "awaiting a person", "escalate".
 */
const BLOCKED =
  /^(blocked|escalate|needs? (a )?(human|person|people|input|decision|help|approval)|(human|person) (needed|required|input|decision)|(waiting|awaiting) (for |on )?(a )?(human|person|input|decision|approval))\b/;

/**
 * Tolerant parse: markers may sit anywhere (the last occurrence wins), may be wrapped in
 * markdown emphasis or code fences, and a marker's value runs to the next marker. A missing
 * summary falls back to the last 200 characters of the text; a missing or unknown status is
 * `partial` (an agent's silence is never taken as success). `blocked` (the agent needs a
 * person; its summary says what for) is also read from the phrasings in BLOCKED.
 */
export function parseAop(text: string, outputType: OutputType): AopResult {
  const values = new Map<string, string>();
  const hits = [...text.matchAll(MARKER)];
  hits.forEach((m, i) => {
    const end = i + 1 < hits.length ? hits[i + 1].index! : text.length;
    values.set(m[1].toUpperCase(), text.slice(m.index! + m[0].length, end));
  });
  const clean = (v: string | undefined) =>
    v
      ?.replace(/```/g, '')
      .replace(/^[\s*_`:]+|[\s*_`]+$/g, '')
      .trim();

  const summaryValue = clean(values.get('SUMMARY'));
  const detailsValue = clean(values.get('DETAILS_FILE'))?.split(/\s/)[0];
  const status = statusOf(clean(values.get('STATUS')));
  const fullSummary = summaryValue || tail(text.trim(), FALLBACK_SUMMARY_CHARS);
  return {
    status: status ?? 'partial',
    summary: capSummary(fullSummary, outputType),
    fullSummary,
    agentDetailsFile: detailsValue || undefined,
    markers: { summary: !!summaryValue, detailsFile: !!detailsValue, status: !!status },
  };
}

/** The first word, exactly one of STATUSES; or a phrase saying the agent needs a person. */
function statusOf(value: string | undefined): AgentStatus | undefined {
  if (!value) return undefined;
  const firstLine = value.split('\n')[0].toLowerCase();
  const word = firstLine.split(/\s/)[0].replace(/[^a-z]/g, '');
  const exact = STATUSES.find((s) => s === word);
  if (exact) return exact;
  const words = firstLine.replace(/[^a-z]+/g, ' ').trim();
  return BLOCKED.test(words) ? 'blocked' : undefined;
}

function tail(text: string, n: number): string {
  const chars = [...text];
  return chars.length <= n ? text : chars.slice(chars.length - n).join('');
}

export interface ToolCallRecord {
  turn: number;
  id: string;
  name: string;
  /** Input with long strings shortened (file contents are not repeated here). */
  input: unknown;
  resultBytes: number;
  isError: boolean;
  durationMs: number;
  /** First part of an error result, to see at a glance what went wrong. */
  error?: string;
}

export interface ModelCallRecord {
  turn: number;
  purpose: 'turn' | 'compaction';
  stopReason: string | null;
  usage: Usage;
  durationMs: number;
  requestId?: string;
  attempt: number;
  /** The response broke off (cancelled, stalled, stuck, cut): usage is what message_start reported. */
  brokenOff?: boolean;
}

export interface CompactionRecord {
  turn: number;
  tokensBefore: number;
  contextWindow: number;
  at: string;
}

/** The details file of one attempt (`detailsFilePath`). */
export interface ApiWaitRecord {
  at: string;
  turn: number;
  /** "429 rate_limit_error", "ECONNREFUSED" … */
  what: string;
  waitMs: number;
  from: 'retry-after' | 'ratelimit-reset' | 'backoff' | 'held';
}

export interface AgentDetails {
  taskId: string;
  epicSlug: string;
  roadmapSlug: string;
  planSlug: string;
  phaseSlug: string;
  attempt: number;
  model: string;
  outcome: 'completed' | 'failed' | 'interrupted';
  status?: AgentStatus;
  summary?: string;
  fullSummary?: string;
  agentDetailsFile?: string;
  aopMarkers?: AopResult['markers'];
  error?: string;
  /** Set when the stuck detector stopped the attempt. */
  stuck?: StuckReport;
  finalText: string;
  /** How the conversation started: fresh, or resumed from the transcript (and from which turn). */
  conversation: { mode: 'fresh' | 'resumed'; reason: string; resumedAtTurn?: number };
  turns: number;
  toolCalls: ToolCallRecord[];
  filesChanged: string[];
  calls: ModelCallRecord[];
  usage: Usage;
  /** Usage of an earlier, crashed attempt that never reported it, included in `usage`. */
  carriedUsage?: Usage;
  compactions: CompactionRecord[];
  /** API weather this attempt waited out: how many requests were retried, for how long in all, and each wait. */
  api?: { retries: number; waitedMs: number; waits: ApiWaitRecord[] };
  timings: { startedAt: string; endedAt: string; durationMs: number; modelMs: number; toolMs: number };
  transcript: string;
}

/** How an attempt ended, as both runtimes put it at the head of the details file. */
export interface DetailsEnd {
  outcome: AgentDetails['outcome'];
  status?: AgentStatus;
  aop?: AopResult;
  error?: string;
  stuck?: StuckReport;
}

/** The details file's fields up to finalText: the attempt, and how it ended. */
export function detailsHead(input: TaskRunInput, model: string, d: DetailsEnd) {
  const c = input.ctx;
  return {
    taskId: input.task.id,
    epicSlug: c.epicSlug,
    roadmapSlug: c.roadmapSlug,
    planSlug: c.planSlug,
    phaseSlug: c.phaseSlug,
    attempt: input.attempt,
    model,
    outcome: d.outcome,
    status: d.status,
    summary: d.aop?.summary,
    fullSummary: d.aop?.fullSummary,
    agentDetailsFile: d.aop?.agentDetailsFile,
    aopMarkers: d.aop?.markers,
    error: d.error,
    stuck: d.stuck,
  } satisfies Partial<AgentDetails>;
}

/** What an attempt that ended on its own terms returns into workflow history. */
export function taskResult(
  input: TaskRunInput,
  r: {
    status: AgentStatus;
    summary: string;
    detailsFile: string;
    startedAt: number;
    usage: Usage;
    model: string;
    filesChanged: ReadonlySet<string>;
    api: Pick<TaskResult, 'apiRetries' | 'apiWaitMs'>;
  },
): TaskResult {
  return {
    taskId: input.task.id,
    kind: input.task.kind,
    status: r.status,
    summary: r.summary,
    detailsFile: r.detailsFile,
    attempt: input.attempt,
    durationMs: Date.now() - r.startedAt,
    usage: r.usage,
    model: r.model,
    filesChanged: r.filesChanged.size,
    ...(r.filesChanged.size ? { changedPaths: [...r.filesChanged].sort().slice(0, CHANGED_PATHS_CAP) } : {}),
    ...r.api,
  };
}

export async function writeDetailsFile(workspace: string, relPath: string, details: AgentDetails): Promise<void> {
  await writeFileAtomic(path.join(workspace, relPath), `${JSON.stringify(details, null, 2)}\n`);
}

/** Shortens long strings inside a tool input for the records (Write content, Edit strings). */
export function summarizeInput(input: unknown, maxString = 200): unknown {
  if (typeof input === 'string') {
    return input.length > maxString ? `${input.slice(0, maxString)}… [${Buffer.byteLength(input)} bytes]` : input;
  }
  if (Array.isArray(input)) return input.slice(0, 20).map((v) => summarizeInput(v, maxString));
  if (input && typeof input === 'object') {
    return Object.fromEntries(
      Object.entries(input)
        .slice(0, 20)
        .map(([k, v]) => [k, summarizeInput(v, maxString)]),
    );
  }
  return input;
}
