/**
 * The conversation of a task, kept as JSON lines in the workspace (never in Temporal history).
 * One line is appended per completed turn (the assistant message and the tool results that
 * answer it), so a worker that dies mid-task loses at most the turn in flight, and the next
 * attempt can replay the file to continue the conversation where it stopped.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { promises as fs } from 'node:fs';
import { addUsage, ZERO_USAGE, type Usage } from '../../domain/types';
import type { ToolCallRecord } from './aop';
import { appendLineDurable } from '../fs-atomic';

export type Outcome = 'completed' | 'failed' | 'interrupted';

export type TranscriptRecord =
  | {
      type: 'attempt';
      attempt: number;
      at: string;
      model: string;
      mode: 'fresh' | 'resumed';
      reason: string;
      carriedUsage?: Usage;
    }
  /** Replaces the conversation: a fresh start, or the summary after a compaction. */
  | {
      type: 'conversation';
      attempt: number;
      at: string;
      reason: 'start' | 'compaction';
      messages: Anthropic.MessageParam[];
      turn: number;
      usage?: Usage;
      tokensBefore?: number;
    }
  | {
      type: 'turn';
      attempt: number;
      turn: number;
      at: string;
      assistant: Anthropic.ContentBlockParam[];
      stopReason: string | null;
      /** The user message answering the turn (tool results, or a nudge), if any. */
      followUp: Anthropic.MessageParam | null;
      usage: Usage;
      contextTokens: number;
      toolCalls: ToolCallRecord[];
      filesChanged: string[];
    }
  /** A model call whose reply was not kept (e.g. the context window overflowed). */
  | { type: 'call'; attempt: number; turn: number; at: string; usage: Usage; stopReason: string | null }
  /** Text added to the last user message (e.g. why an interrupted attempt resumes). */
  | { type: 'note'; attempt: number; at: string; text: string }
  | { type: 'end'; attempt: number; at: string; outcome: Outcome; reason: string };

/** The replayed state of a transcript. */
export interface TranscriptState {
  messages: Anthropic.MessageParam[];
  /** Number of the last completed turn (turns count across attempts). */
  turn: number;
  lastAttempt?: number;
  /** How the last attempt ended; undefined if it never recorded an end (the worker died). */
  lastOutcome?: Outcome;
  lastEndReason?: string;
  lastStopReason: string | null;
  lastContextTokens: number;
  /** Usage recorded by the last attempt (reported nowhere if that attempt crashed). */
  lastAttemptUsage: Usage;
  /** Files changed since the conversation's fresh start (across resumed attempts). */
  filesChanged: string[];
}

export const FINAL_STOP_REASONS = new Set(['end_turn', 'stop_sequence', 'refusal']);

export class Transcript {
  constructor(readonly absPath: string) {}

  async append(record: TranscriptRecord): Promise<void> {
    await appendLineDurable(this.absPath, JSON.stringify(record));
  }

  /** Replays the file; undefined if there is none. A torn last line (crash mid-write) is ignored. */
  async load(): Promise<TranscriptState | undefined> {
    const text = await fs.readFile(this.absPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (text === undefined) return undefined;
    const records: TranscriptRecord[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        records.push(JSON.parse(line) as TranscriptRecord);
      } catch {
        /* torn write */
      }
    }
    return replay(records);
  }
}

export function replay(records: TranscriptRecord[]): TranscriptState {
  const s: TranscriptState = {
    messages: [],
    turn: 0,
    lastStopReason: null,
    lastContextTokens: 0,
    lastAttemptUsage: ZERO_USAGE,
    filesChanged: [],
  };
  let files = new Set<string>();
  for (const r of records) {
    switch (r.type) {
      case 'attempt':
        s.lastAttempt = r.attempt;
        s.lastOutcome = undefined;
        s.lastEndReason = undefined;
        // Usage carried from a crashed attempt stays unreported until an attempt reports it.
        s.lastAttemptUsage = r.carriedUsage ?? ZERO_USAGE;
        if (r.mode === 'fresh') files = new Set();
        break;
      case 'conversation':
        s.messages = structuredClone(r.messages);
        s.turn = Math.max(s.turn, r.turn);
        s.lastStopReason = null;
        s.lastContextTokens = 0;
        if (r.usage) s.lastAttemptUsage = addUsage(s.lastAttemptUsage, r.usage);
        break;
      case 'turn':
        s.messages.push({ role: 'assistant', content: structuredClone(r.assistant) });
        if (r.followUp) s.messages.push(structuredClone(r.followUp));
        s.turn = r.turn;
        s.lastStopReason = r.stopReason;
        s.lastContextTokens = r.contextTokens;
        s.lastAttemptUsage = addUsage(s.lastAttemptUsage, r.usage);
        r.filesChanged.forEach((f) => files.add(f));
        break;
      case 'call':
        s.lastAttemptUsage = addUsage(s.lastAttemptUsage, r.usage);
        break;
      case 'note':
        appendUserText(s.messages, r.text);
        break;
      case 'end':
        s.lastOutcome = r.outcome;
        s.lastEndReason = r.reason;
        break;
    }
  }
  s.filesChanged = [...files];
  return s;
}

/** Adds text to the trailing user message (after its tool results), or starts a user message. */
export function appendUserText(messages: Anthropic.MessageParam[], text: string): void {
  const last = messages[messages.length - 1];
  if (last?.role === 'user') {
    const content =
      typeof last.content === 'string' ? [{ type: 'text' as const, text: last.content }] : [...last.content];
    content.push({ type: 'text', text });
    last.content = content;
  } else {
    messages.push({ role: 'user', content: [{ type: 'text', text }] });
  }
}
