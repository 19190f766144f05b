/**
 * The real agent activity: one Temporal activity per task attempt, running a Claude tool-use
 * loop in the task's workspace. Only the Agent Output Protocol result (capped summary, details
 * file path, usage) is returned into workflow history; the conversation stays in the
 * transcript file and everything else in the details file.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import * as path from 'node:path';
import { modelInfo } from '../../domain/models';
import { detailsFilePath, transcriptPath } from '../../domain/paths';
import {
  addUsage,
  FailureTypes,
  totalTokens,
  ZERO_USAGE,
  type AgentStatus,
  type TaskResult,
  type TaskRunInput,
  type Usage,
} from '../../domain/types';
import {
  capSummary,
  detailsHead,
  parseAop,
  summarizeInput,
  taskResult,
  writeDetailsFile,
  type AgentDetails,
  type AopResult,
  type CompactionRecord,
  type ModelCallRecord,
  type ToolCallRecord,
} from './aop';
import { heartbeatEveryMs } from '../heartbeat';
import { abortableSleep, type ApiLimiter, weatherLabel, weatherWaitMs, workerApiLimiter } from './api-weather';
import { ApiWaitTracker } from './api-wait-tracker';
import { AttemptDeadline } from './attempt-deadline';
import { AttemptLedger } from './budget-ledger';
import { extractSummary, needsCompaction } from './compaction';
import { classifyModelError, describeAttempt, failureEnd, requireApiKey, type AbortCause } from './errors';
import {
  createClient,
  DEFAULT_BASE_URL,
  DEFAULT_REQUEST_TIMEOUT_MS,
  streamMessage,
  type CallResult,
} from './model-call';
import {
  attemptNotes,
  BLOCKED_RESUME_NOTE,
  COMPACTION_REQUEST,
  continuationMessage,
  systemPrompt,
  taskMessage,
} from './prompts';
import { planStart } from './resume';
import { noProgressReport, StuckDetector, stuckFailure, type StuckReport } from './stuck';
import { executeTool, toolDefinitions, toolsFor, type ToolContext } from './tools';
import type { AgentTool } from './tools/tool';
import { appendUserText, FINAL_STOP_REASONS, Transcript, type Outcome } from './transcript';
import { contextTokensOf, usageOf } from './usage';
import { realWorkspace, resolveInWorkspace, toRelative } from './workspace';
import { pathsSeenIn, recordSeen, type SeenFiles } from './tools/file-state';
import { promises as fs } from 'node:fs';

export interface RunClaudeAgentOptions {
  /** Defaults to env.ANTHROPIC_API_KEY. */
  apiKey?: string;
  /** Defaults to env.ANTHROPIC_BASE_URL, else the public API. */
  baseURL?: string;
  /** Model turns per attempt (default 50). */
  maxTurns?: number;
  /** Where the key and base URL are read from, and what the Bash tool filters (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Per-request limit: to response headers, then between stream events (default 10 min). */
  requestTimeoutMs?: number;
  /** max_tokens per call (default: the model's output limit, at most 32k). */
  maxTokens?: number;
  /** The limiter shared by the agents of this worker (default: the process's). */
  limiter?: ApiLimiter;
  /** First backoff after weather that named no wait (default 1 s, doubling up to 60 s). */
  weatherBackoffBaseMs?: number;
}

export const DEFAULT_MAX_TURNS = 50;
const MAX_TOKENS_CEILING = 32_000;
/** How the transcript's end record of a blocked attempt begins. */
const BLOCKED_END = 'agent reported blocked:';
/** Defaults when the workflow passes no `api` (older workflows): settings.ts's. */
const DEFAULT_API_OUTAGE_MS = 1_800_000;
const DEFAULT_API_MAX_CONCURRENT = 8;

export async function runClaudeAgent(input: TaskRunInput, opts: RunClaudeAgentOptions = {}): Promise<TaskResult> {
  return new AgentRun(input, opts).execute();
}

/**
 * One agent attempt. It owns the attempt's state (conversation, usage, records) and its stop
 * conditions: end_turn, the turn limit, the attempt deadline, cancellation, the budget, and the
 * stuck detector (stuck.ts).
 */
class AgentRun {
  private readonly activity = Context.current();
  private readonly startedAt = Date.now();
  private readonly who: string;
  private readonly model: string;
  private readonly apiKey: string;
  private readonly client: Anthropic;
  /** The API's base URL and where it came from, for connection failures. */
  private readonly endpoint: { url: string; from?: string };
  private readonly maxTurns: number;
  private readonly maxTokens: number;
  private readonly requestTimeoutMs: number;
  private readonly env: NodeJS.ProcessEnv;
  private readonly tools: readonly AgentTool[];
  private readonly detailsRel: string;
  private readonly transcriptRel: string;
  private readonly deadline: AttemptDeadline;
  private readonly limiter: ApiLimiter;
  private readonly weatherBackoffBaseMs: number | undefined;
  private readonly outageMs: number;
  private readonly maxConcurrent: number;
  private readonly apiWaits: ApiWaitTracker;
  /** The raw error of the last failed request (its headers say how long to wait). */
  private lastRequestError: unknown;

  private workspace = '';
  private transcript!: Transcript;
  private messages: Anthropic.MessageParam[] = [];
  private turn = 0;
  private turnsThisAttempt = 0;
  private lastStopReason: string | null = null;
  private contextTokens = 0;
  private usage: Usage = ZERO_USAGE;
  private carriedUsage: Usage | undefined;
  /** What this attempt's own calls used (no carried usage): its entry in the phase budget ledger. */
  private ownUsage: Usage = ZERO_USAGE;
  private readonly ledger: AttemptLedger;
  private readonly calls: ModelCallRecord[] = [];
  private readonly toolCalls: ToolCallRecord[] = [];
  private readonly compactions: CompactionRecord[] = [];
  private filesChanged = new Set<string>();
  /** What this conversation has seen of each file: Write and Edit check it (tools/file-state.ts). */
  private readonly seenFiles: SeenFiles = new Map();
  private modelMs = 0;
  private lastCallMs = 0;
  private toolMs = 0;
  private conversation: AgentDetails['conversation'] = { mode: 'fresh', reason: '' };

  private readonly runAbort = new AbortController();
  private abortCause: AbortCause | undefined;
  /** Off unless the workflow passes `watchdog`. */
  private detector: StuckDetector | undefined;
  private stuck: StuckReport | undefined;
  /** The model call in flight: what for, when its last byte arrived, and how to end it as a stall. */
  private call:
    { purpose: ModelCallRecord['purpose']; lastDataAt: number; stall: (silentMs: number) => void } | undefined;

  constructor(
    private readonly input: TaskRunInput,
    opts: RunClaudeAgentOptions,
  ) {
    this.who = describeAttempt(input);
    this.model = input.model;
    this.env = opts.env ?? process.env;
    this.apiKey = requireApiKey(this.who, opts.apiKey ?? this.env.ANTHROPIC_API_KEY);
    this.maxTurns = opts.maxTurns ?? DEFAULT_MAX_TURNS;
    this.maxTokens = opts.maxTokens ?? Math.min(modelInfo(this.model).maxOutputTokens, MAX_TOKENS_CEILING);
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.endpoint = opts.baseURL
      ? { url: opts.baseURL }
      : this.env.ANTHROPIC_BASE_URL
        ? { url: this.env.ANTHROPIC_BASE_URL, from: 'ANTHROPIC_BASE_URL' }
        : { url: DEFAULT_BASE_URL, from: 'default' };
    this.client = createClient(this.apiKey, this.endpoint.url, this.requestTimeoutMs);
    this.tools = toolsFor(input.reducedTools);
    this.detailsRel = detailsFilePath(input.ctx.planSlug, input.task.id, input.attempt);
    this.transcriptRel = transcriptPath(input.ctx.planSlug, input.task.id);
    this.limiter = opts.limiter ?? workerApiLimiter;
    this.weatherBackoffBaseMs = opts.weatherBackoffBaseMs;
    this.outageMs = input.api?.outageMs ?? DEFAULT_API_OUTAGE_MS;
    this.maxConcurrent = input.api?.maxConcurrentRequests ?? DEFAULT_API_MAX_CONCURRENT;
    // The workflow gives start-to-close the ladder limit plus the ceiling (task-attempts.ts); an
    // attempt without `api` came from a workflow that did not, so its deadline never moves.
    this.deadline = new AttemptDeadline(
      input,
      this.startedAt,
      input.api ? this.outageMs : 0,
      () => this.stop('deadline'),
      () => this.abortCause !== undefined,
    );
    this.ledger = new AttemptLedger(this.activity, input);
    this.apiWaits = new ApiWaitTracker(this.activity, input, {
      heartbeat: () => this.heartbeat(),
      detector: () => this.detector,
    });
  }

  async execute(): Promise<TaskResult> {
    const onCancel = () => this.stop('cancelled');
    this.activity.cancellationSignal.addEventListener('abort', onCancel, { once: true });
    this.deadline.arm();
    const hbTimer = setInterval(() => this.heartbeat(), heartbeatEveryMs(this.activity));
    if (this.input.watchdog) this.detector = new StuckDetector(this.input.watchdog, (ms) => this.onSilence(ms));
    try {
      if (this.activity.cancellationSignal.aborted)
        throw new CancelledFailure(`${this.who}: cancelled before it started`);
      this.workspace = await realWorkspace(this.input.ctx.workspace);
      this.transcript = new Transcript(path.join(this.workspace, this.transcriptRel));
      await this.begin();
      return await this.loop();
    } catch (err) {
      throw await this.fail(err);
    } finally {
      this.activity.cancellationSignal.removeEventListener('abort', onCancel);
      this.deadline.clear();
      clearInterval(hbTimer);
      this.detector?.stop();
    }
  }

  /** Fresh conversation, or the transcript's, continued (see resume.ts for the rule). */
  private async begin(): Promise<void> {
    const state = await this.transcript.load();
    const plan = planStart(state);
    this.conversation = { mode: plan.mode, reason: plan.reason };
    const at = new Date().toISOString();
    await this.transcript.append({
      type: 'attempt',
      attempt: this.input.attempt,
      at,
      model: this.model,
      mode: plan.mode,
      reason: plan.reason,
      ...(plan.mode === 'resumed' && plan.carriedUsage ? { carriedUsage: plan.carriedUsage } : {}),
    });
    if (plan.mode === 'resumed' && state) {
      this.messages = state.messages;
      this.turn = state.turn;
      this.lastStopReason = state.lastStopReason;
      this.contextTokens = state.lastContextTokens;
      this.filesChanged = new Set(state.filesChanged);
      this.carriedUsage = plan.carriedUsage;
      if (plan.carriedUsage) this.usage = addUsage(this.usage, plan.carriedUsage);
      this.conversation.resumedAtTurn = state.turn;
      await this.recallSeenFiles();
      // Tell the model what happened between the last tool results and now; or, when its
      // last reply said it was blocked, that a person has seen it and it is to go on.
      const note = !this.hasFinalReply()
        ? [
            `[phaseflow] The task was interrupted and is resumed here: ${plan.reason}.`,
            ...attemptNotes(this.input),
          ].join(' ')
        : state.lastEndReason?.startsWith(BLOCKED_END)
          ? [BLOCKED_RESUME_NOTE, ...attemptNotes(this.input)].join(' ')
          : undefined;
      if (note) {
        appendUserText(this.messages, note);
        await this.transcript.append({ type: 'note', attempt: this.input.attempt, at, text: note });
      }
      this.activity.log.info('agent resumes from transcript', {
        taskId: this.input.task.id,
        turn: this.turn,
        reason: plan.reason,
      });
    } else {
      this.turn = state?.turn ?? 0;
      this.messages = [{ role: 'user', content: taskMessage(this.input) }];
      await this.transcript.append({
        type: 'conversation',
        attempt: this.input.attempt,
        at,
        reason: 'start',
        messages: this.messages,
        turn: this.turn,
      });
    }
  }

  /** A resumed conversation has seen the files it read or wrote, as they are now. */
  private async recallSeenFiles(): Promise<void> {
    for (const p of pathsSeenIn(this.messages)) {
      try {
        const abs = await resolveInWorkspace(this.workspace, p);
        recordSeen(this.seenFiles, toRelative(this.workspace, abs), await fs.readFile(abs));
      } catch {
        // Gone or outside: nothing seen to keep.
      }
    }
  }

  private async loop(): Promise<TaskResult> {
    let compactNext = needsCompaction(this.model, this.contextTokens);
    while (!this.hasFinalReply()) {
      if (this.turnsThisAttempt >= this.maxTurns) return this.finishAtTurnLimit();
      if (compactNext) {
        await this.compact();
        compactNext = false;
      }
      this.throwIfStopped();
      await this.checkBudget();
      this.turn++;
      this.turnsThisAttempt++;
      this.heartbeat();

      const call = await this.callModel(this.request(), 'turn');
      const msg = call.message;
      const usage = this.recordCall(call, 'turn');
      await this.recordSpend();
      if (msg.stop_reason === 'model_context_window_exceeded') {
        // The reply is unusable; shrink the conversation and ask again.
        await this.callInTranscript(usage, msg.stop_reason);
        this.turn--;
        compactNext = true;
        continue;
      }
      const assistant = toParams(msg.content);
      const turnFiles = new Set<string>();
      const followUp = await this.answer(msg, turnFiles);
      turnFiles.forEach((f) => this.filesChanged.add(f));
      this.contextTokens = contextTokensOf(usage);
      this.lastStopReason = msg.stop_reason;
      this.messages.push({ role: 'assistant', content: assistant });
      if (followUp) this.messages.push(followUp);
      await this.transcript.append({
        type: 'turn',
        attempt: this.input.attempt,
        turn: this.turn,
        at: now(),
        assistant,
        stopReason: msg.stop_reason,
        followUp,
        usage,
        contextTokens: this.contextTokens,
        toolCalls: this.toolCalls.filter((c) => c.turn === this.turn),
        filesChanged: [...turnFiles],
      });
      this.throwIfStopped();
      compactNext = needsCompaction(this.model, this.contextTokens);
    }
    return this.finish();
  }

  /** The user message that answers an assistant turn: tool results, a nudge, or none. */
  private async answer(msg: Anthropic.Message, turnFiles: Set<string>): Promise<Anthropic.MessageParam | null> {
    const toolUses = msg.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    if (msg.stop_reason === 'max_tokens') {
      // A tool_use cut off by the output limit has incomplete input: do not run it.
      const content: Anthropic.ContentBlockParam[] = toolUses.map((b) => ({
        type: 'tool_result',
        tool_use_id: b.id,
        is_error: true,
        content:
          'Error: not run: your reply hit the output token limit, so this tool input may be incomplete. Send it again, smaller.',
      }));
      content.push({
        type: 'text',
        text: 'Your reply was cut off by the output token limit. Continue where you stopped; keep replies and file writes smaller.',
      });
      return { role: 'user', content };
    }
    if (toolUses.length > 0) return { role: 'user', content: await this.runTools(toolUses, turnFiles) };
    // pause_turn: the assistant turn goes back as it is; final replies need no answer.
    return null;
  }

  private async runTools(
    toolUses: Anthropic.ToolUseBlock[],
    turnFiles: Set<string>,
  ): Promise<Anthropic.ToolResultBlockParam[]> {
    const toolContext: ToolContext = {
      workspace: this.workspace,
      env: this.env,
      signal: this.runAbort.signal,
      remainingMs: () => Math.max(1, this.deadline.at - Date.now()),
      changedFiles: turnFiles,
      seenFiles: this.seenFiles,
    };
    const results: Anthropic.ToolResultBlockParam[] = [];
    for (const use of toolUses) {
      const t0 = Date.now();
      if (!this.stuck) this.stuck = this.detector?.toolCall(use.name, use.input, this.turn);
      // Tools run one at a time, in order: edits to the same file must not race.
      const out = this.runAbort.signal.aborted
        ? { isError: true, content: 'Error: not run: the task was cancelled or ran out of time' }
        : this.stuck
          ? {
              isError: true,
              content: `Error: not run: ${this.stuck.reason}. phaseflow stopped the task for a person to decide how to go on.`,
            }
          : await this.runTool(use, toolContext);
      const durationMs = Date.now() - t0;
      this.toolMs += durationMs;
      const { content } = out;
      results.push({ type: 'tool_result', tool_use_id: use.id, content, ...(out.isError ? { is_error: true } : {}) });
      this.toolCalls.push({
        turn: this.turn,
        id: use.id,
        name: use.name,
        input: summarizeInput(use.input),
        resultBytes: Buffer.byteLength(content),
        isError: out.isError,
        durationMs,
        ...(out.isError ? { error: content.slice(0, 300) } : {}),
      });
      this.heartbeat();
    }
    return results;
  }

  /** A tool in progress is not stuck: the detector's clock stands still until it returns. */
  private async runTool(use: Anthropic.ToolUseBlock, toolContext: ToolContext) {
    this.detector?.toolStarted();
    try {
      return await executeTool(this.tools, use.name, use.input, toolContext);
    } finally {
      this.detector?.toolFinished();
    }
  }

  /** Summarises the conversation (tool use disabled) and continues from [task + summary]. */
  private async compact(): Promise<void> {
    this.throwIfStopped();
    await this.checkBudget();
    const tokensBefore = this.contextTokens;
    this.activity.log.info('agent compacts its conversation', {
      taskId: this.input.task.id,
      turn: this.turn,
      tokensBefore,
    });
    const messages = structuredClone(this.messages);
    appendUserText(messages, COMPACTION_REQUEST);
    // Same tools and system as the turns (so the cached prefix still applies, and a history
    // with tool_use blocks stays valid), but tool_choice none: the model can only write.
    const call = await this.callModel({ ...this.request(messages), tool_choice: { type: 'none' } }, 'compaction');
    const msg = call.message;
    const usage = this.recordCall(call, 'compaction');
    await this.recordSpend();
    const summary = extractSummary(textOf(msg.content));
    if (!summary) {
      this.activity.log.warn('compaction returned no summary; continuing with the full conversation', {
        taskId: this.input.task.id,
      });
      await this.callInTranscript(usage, msg.stop_reason);
      return;
    }
    this.messages = [{ role: 'user', content: continuationMessage(this.input, summary) }];
    this.contextTokens = 0;
    this.lastStopReason = null;
    this.compactions.push({
      turn: this.turn,
      tokensBefore,
      contextWindow: modelInfo(this.model).contextWindow,
      at: now(),
    });
    await this.transcript.append({
      type: 'conversation',
      attempt: this.input.attempt,
      at: now(),
      reason: 'compaction',
      messages: this.messages,
      turn: this.turn,
      usage,
      tokensBefore,
    });
  }

  private request(messages = this.messages): Anthropic.MessageStreamParams {
    return {
      model: this.model,
      max_tokens: this.maxTokens,
      system: systemPrompt(this.input),
      tools: toolDefinitions(this.tools),
      messages: withCacheBreakpoint(messages),
    };
  }

  /**
   * A model call that rides out API weather: on a 429, 529, 5xx, dropped connection or cut stream
   * it waits (retry-after, else the rate limit's reset, else backoff) and sends the same request
   * again: same conversation, same tools, same attempt. The wait moves the attempt's deadline on,
   * so it does not count against the ladder's limit. Past apiOutageSeconds of waiting it escalates.
   */
  private async callModel(
    params: Anthropic.MessageStreamParams,
    purpose: ModelCallRecord['purpose'],
  ): Promise<CallResult> {
    for (;;) {
      const queuedAt = Date.now();
      let release: () => void;
      try {
        release = await this.limiter.acquire(this.maxConcurrent, this.runAbort.signal, (until) => this.noteHeld(until));
      } catch (err) {
        this.apiWaits.end();
        this.throwIfStopped();
        throw err;
      }
      this.apiWaits.end();
      // Queued behind the worker's cap or held by a rate limit: waiting on the API, not working.
      this.deadline.extend(Date.now() - queuedAt);
      const t0 = Date.now();
      try {
        return await this.requestOnce(params, purpose);
      } catch (err) {
        // Without `api` the workflow left no room for waits: the failure goes to it as before.
        if (!isWeather(err) || !this.input.api) throw err;
        await this.waitOutWeather(err, Date.now() - t0, release);
      } finally {
        release();
      }
    }
  }

  private async waitOutWeather(failure: ApplicationFailure, requestMs: number, release: () => void): Promise<void> {
    const what = weatherLabel(this.lastRequestError, failure.message);
    this.apiWaits.retries++;
    this.apiWaits.waitedMs += requestMs;
    this.deadline.extend(requestMs);
    if (this.apiWaits.waitedMs >= this.outageMs) throw this.apiUnavailable(what);
    // Hold first, then free the slot: an agent queued for it must not slip in before the hold.
    const wait = weatherWaitMs(
      this.lastRequestError,
      this.apiWaits.retries,
      Date.now(),
      Math.random,
      this.weatherBackoffBaseMs,
    );
    // A retry-after binds the whole key: every agent of this worker holds until then.
    if (wait.from !== 'backoff') this.limiter.hold(Date.now() + wait.ms);
    release();
    const left = this.outageMs - this.apiWaits.waitedMs;
    // The server's own time is kept, never cut short: past the ceiling, escalate now instead.
    if (wait.from !== 'backoff' && wait.ms > left)
      throw this.apiUnavailable(what, `the API asks to wait ${Math.ceil(wait.ms / 1000)} s more`);
    const ms = Math.min(wait.ms, left);
    this.apiWaits.record({ turn: this.turn, what, waitMs: ms, from: wait.from });
    this.activity.log.warn('agent waits out API weather', {
      taskId: this.input.task.id,
      attempt: this.input.attempt,
      turn: this.turn,
      what,
      waitMs: ms,
      from: wait.from,
      retries: this.apiWaits.retries,
      waitedMs: this.apiWaits.waitedMs,
    });
    await this.sleepOnApi(what, ms);
  }

  /** Another agent's rate limit holds this one's next request. */
  private noteHeld(until: number): void {
    const ms = Math.max(0, until - Date.now());
    const what = 'held by a rate limit on this worker';
    if (!this.apiWaits.waiting) this.apiWaits.record({ turn: this.turn, what, waitMs: ms, from: 'held' });
    this.apiWaits.begin(what, until);
    this.apiWaits.waitedMs += ms;
    this.heartbeat();
    this.apiWaits.tellPhase();
  }

  private async sleepOnApi(what: string, ms: number): Promise<void> {
    this.apiWaits.begin(what, Date.now() + ms);
    this.apiWaits.tellPhase();
    this.deadline.extend(ms);
    this.apiWaits.waitedMs += ms;
    this.heartbeat();
    try {
      await abortableSleep(ms, this.runAbort.signal);
    } catch {
      this.throwIfStopped();
    } finally {
      this.apiWaits.end();
    }
    this.throwIfStopped();
  }

  private apiUnavailable(what: string, more?: string): ApplicationFailure {
    const s = Math.round(this.apiWaits.waitedMs / 1000);
    return ApplicationFailure.create({
      type: FailureTypes.ApiUnavailable,
      nonRetryable: true,
      message: `${this.who}: Anthropic API unavailable for ${s} s (last: ${what}); ${more ? `${more}, ` : ''}${this.apiWaits.retries} request(s) retried, the ceiling is apiOutageSeconds ${Math.round(this.outageMs / 1000)} s`,
      details: [
        {
          waitedMs: this.apiWaits.waitedMs,
          retries: this.apiWaits.retries,
          last: what,
          usage: this.usage,
          turn: this.turn,
          detailsFile: this.detailsRel,
        },
      ],
    });
  }

  private async requestOnce(
    params: Anthropic.MessageStreamParams,
    purpose: ModelCallRecord['purpose'],
  ): Promise<CallResult> {
    this.lastRequestError = undefined;
    const callAbort = new AbortController();
    let stalledMs: number | undefined;
    let partial: Anthropic.Message | undefined;
    const onRunAbort = () => callAbort.abort();
    this.runAbort.signal.addEventListener('abort', onRunAbort, { once: true });
    const t0 = Date.now();
    // The request never outlives the attempt: near the deadline its own timeout is shorter.
    const timeoutMs = Math.max(1, Math.floor(Math.min(this.requestTimeoutMs, this.deadline.at - t0)));
    const boundedByDeadline = timeoutMs < this.requestTimeoutMs;
    const stall = (silentMs: number) => {
      stalledMs ??= silentMs;
      callAbort.abort();
    };
    const call = { purpose, lastDataAt: t0, stall };
    this.call = call;
    try {
      const result = await streamMessage(this.client, params, {
        signal: callAbort.signal,
        timeoutMs,
        onStall: () => stall(timeoutMs),
        onData: () => (call.lastDataAt = Date.now()),
        onContent: () => this.detector?.progress(),
        onPartial: (m) => (partial = m),
      });
      this.detector?.progress();
      return result;
    } catch (err) {
      this.lastRequestError = err;
      this.lastCallMs = Date.now() - t0;
      // A call that ended after its response started was billed for what it got through.
      if (partial) await this.recordPartial(partial, purpose);
      if (this.stuck && this.abortCause === 'stuck') throw this.stuckFailure();
      const pastDeadline = boundedByDeadline && Date.now() >= this.deadline.at - 100;
      throw classifyModelError(err, this.input, {
        apiKey: this.apiKey,
        endpoint: this.endpoint,
        abortCause: this.abortCause ?? (pastDeadline ? 'deadline' : stalledMs !== undefined ? 'stall' : undefined),
        requestTimeoutMs: stalledMs ?? timeoutMs,
        details: { purpose, turn: this.turn, usage: this.usage, detailsFile: this.detailsRel },
      });
    } finally {
      this.call = undefined;
      this.lastCallMs = Date.now() - t0;
      this.modelMs += this.lastCallMs;
      this.runAbort.signal.removeEventListener('abort', onRunAbort);
    }
  }

  /**
   * The detector's no-progress limit passed. If not even a keep-alive byte came in the last half
   * of that time, the connection is dead rather than the model stuck: that is a stall (transient,
   * retried without asking anyone). Otherwise the agent is stuck.
   */
  private onSilence(silentMs: number): void {
    const call = this.call;
    const deadForMs = call ? Date.now() - call.lastDataAt : 0;
    if (call && deadForMs >= this.detector!.limits.noProgressMs / 2) return call.stall(deadForMs);
    this.stuck ??= noProgressReport(
      silentMs,
      this.turn,
      call?.purpose === 'compaction' ? `the compaction after turn ${this.turn}` : `turn ${this.turn}`,
    );
    this.stop('stuck');
  }

  private stuckFailure(): ApplicationFailure {
    return stuckFailure(this.who, { ...this.stuck!, usage: this.usage, detailsFile: this.detailsRel });
  }

  /** Usage of a call that broke off after message_start: counted, and kept in the transcript. */
  private async recordPartial(msg: Anthropic.Message, purpose: ModelCallRecord['purpose']): Promise<void> {
    const usage = this.recordCall({ message: msg }, purpose, true);
    await this.recordSpend();
    await this.callInTranscript(usage, null).catch(() => undefined);
  }

  /** A call whose reply does not join the conversation: only its usage is kept, so a resumed run counts it. */
  private callInTranscript(usage: Usage, stopReason: string | null): Promise<void> {
    return this.transcript.append({
      type: 'call',
      attempt: this.input.attempt,
      turn: this.turn,
      at: now(),
      usage,
      stopReason,
    });
  }

  private recordCall(
    { message: msg, requestId }: CallResult,
    purpose: ModelCallRecord['purpose'],
    brokenOff = false,
  ): Usage {
    const usage = usageOf(this.model, msg.usage);
    this.usage = addUsage(this.usage, usage);
    this.ownUsage = addUsage(this.ownUsage, usage);
    this.calls.push({
      turn: this.turn,
      purpose,
      stopReason: brokenOff ? null : msg.stop_reason,
      usage,
      durationMs: this.lastCallMs,
      requestId,
      attempt: this.input.attempt,
      ...(brokenOff ? { brokenOff } : {}),
    });
    return usage;
  }

  /**
   * The next call is refused once what this attempt spent reaches its snapshot of what the budget
   * had left (attempts that had ended), or once what the whole phase spent, by the ledger (every
   * attempt of this phase run, this one included, running or not), reaches what the phase had left
   * when it started. Either refuses, so a missing or unreadable ledger is never looser than the snapshot.
   */
  private async checkBudget(): Promise<void> {
    const b = this.input.budget;
    if (!b) return;
    const tokens = totalTokens(this.usage);
    const overTokens = b.tokensLeft !== undefined && tokens >= b.tokensLeft;
    const overUsd = b.usdLeft !== undefined && this.usage.costUsd >= b.usdLeft;
    if (overTokens || overUsd) {
      throw this.budgetExhausted(
        overTokens
          ? `${tokens} tokens spent of ${b.tokensLeft} left`
          : `$${this.usage.costUsd} spent of $${b.usdLeft} left`,
      );
    }
    const phase = b.phase;
    if (!phase) return;
    const spent = await this.phaseSpent(phase.ledger);
    if (!spent) return;
    const phaseOverTokens = phase.tokensLeft !== undefined && spent.tokens >= phase.tokensLeft;
    const phaseOverUsd = phase.usdLeft !== undefined && spent.costUsd >= phase.usdLeft;
    if (!phaseOverTokens && !phaseOverUsd) return;
    const of = `by the ${spent.attempts} agent attempt(s) of phase ${this.input.ctx.phaseSlug} so far (this one included)`;
    throw this.budgetExhausted(
      phaseOverTokens
        ? `the phase's parallel spend: ${spent.tokens} tokens spent ${of}, of ${phase.tokensLeft} left when the phase started`
        : `the phase's parallel spend: $${spent.costUsd} spent ${of}, of $${phase.usdLeft} left when the phase started`,
      { tokens: spent.tokens, costUsd: spent.costUsd, attempts: spent.attempts },
    );
  }

  private budgetExhausted(
    what: string,
    phaseSpent?: { tokens: number; costUsd: number; attempts: number },
  ): ApplicationFailure {
    return ApplicationFailure.create({
      type: FailureTypes.BudgetExhausted,
      nonRetryable: true,
      message: `${this.who}: budget exhausted (${what}); the next model call was refused. Raise the budget or stop the run.`,
      details: [
        {
          usage: this.usage,
          budget: this.input.budget,
          turn: this.turn,
          detailsFile: this.detailsRel,
          ...(phaseSpent ? { phaseSpent } : {}),
        },
      ],
    });
  }

  /** The phase's spend by the ledger: the other attempts' files, plus this attempt from memory. */
  private phaseSpent(key: string): Promise<{ tokens: number; costUsd: number; attempts: number } | undefined> {
    return this.ledger.phaseSpent(this.workspace, key, () => this.ownUsage);
  }

  private recordSpend(): Promise<void> {
    return this.ledger.recordSpend(this.workspace, this.ownUsage);
  }

  private stop(cause: AbortCause): void {
    this.abortCause ??= cause;
    this.runAbort.abort();
  }

  private throwIfStopped(): void {
    if (this.abortCause === 'cancelled') throw new CancelledFailure(`${this.who}: cancelled`);
    if (this.stuck) throw this.stuckFailure();
    if (this.abortCause) {
      throw ApplicationFailure.create({
        type: FailureTypes.Transient,
        message: `${this.who}: attempt time limit (${this.input.timeoutMs} ms) reached after turn ${this.turn}`,
        details: [{ timeout: true, turn: this.turn, usage: this.usage, detailsFile: this.detailsRel }],
      });
    }
  }

  private heartbeat(): void {
    this.activity.heartbeat({ turn: this.turn, ...this.apiWaits.heartbeatDetails() });
  }

  private hasFinalReply(): boolean {
    const last = this.messages[this.messages.length - 1];
    return last?.role === 'assistant' && this.lastStopReason !== null && FINAL_STOP_REASONS.has(this.lastStopReason);
  }

  private async finish(): Promise<TaskResult> {
    const last = this.messages[this.messages.length - 1];
    const finalText = textOf(last.content);
    let aop: AopResult = parseAop(finalText, this.input.task.outputType);
    if (this.lastStopReason === 'refusal') {
      const summary = `The model declined the task (refusal). ${aop.fullSummary}`;
      aop = {
        ...aop,
        status: 'failure',
        fullSummary: summary,
        summary: capSummary(summary, this.input.task.outputType),
      };
    }
    return this.complete('completed', `agent finished (${this.lastStopReason})`, finalText, aop.status, aop);
  }

  private async finishAtTurnLimit(): Promise<TaskResult> {
    const lastAssistant = [...this.messages].reverse().find((m) => m.role === 'assistant');
    const finalText = lastAssistant ? textOf(lastAssistant.content) : '';
    const summary = `Stopped at the turn limit (${this.maxTurns} turns) before the agent finished.`;
    const aop: AopResult = {
      status: 'failure',
      fullSummary: summary,
      summary: capSummary(summary, this.input.task.outputType),
      markers: { summary: false, detailsFile: false, status: false },
    };
    return this.complete('failed', `turn limit (${this.maxTurns}) reached`, finalText, 'failure', aop);
  }

  private async complete(
    outcome: Outcome,
    reason: string,
    finalText: string,
    status: AgentStatus,
    aop: AopResult,
  ): Promise<TaskResult> {
    await this.writeDetails({ outcome, status, finalText, aop });
    // A blocked agent waits for a person: its conversation stays open, so that the attempt a
    // person asks for continues it (with a note) instead of starting over.
    const end =
      status === 'blocked'
        ? { outcome: 'interrupted' as const, reason: `${BLOCKED_END} ${aop.fullSummary}`.slice(0, 500) }
        : { outcome, reason };
    await this.transcript.append({ type: 'end', attempt: this.input.attempt, at: now(), ...end });
    return taskResult(this.input, {
      status,
      summary: aop.summary,
      detailsFile: this.detailsRel,
      startedAt: this.startedAt,
      usage: this.usage,
      model: this.model,
      filesChanged: this.filesChanged,
      api: this.apiWaits.resultFields(),
    });
  }

  /** Records how the attempt ended (best effort) and returns the failure to throw. */
  private async fail(err: unknown): Promise<unknown> {
    const failure =
      err instanceof ApplicationFailure || err instanceof CancelledFailure
        ? err
        : classifyModelError(err, this.input, { apiKey: this.apiKey, endpoint: this.endpoint });
    if (!this.transcript) return failure;
    // A conversation that failed on its own terms is closed; any other stays resumable (see resume.ts).
    const { outcome, reason } = failureEnd(failure, this.apiKey);
    await this.writeDetails({ outcome, finalText: '', error: reason, stuck: this.stuck }).catch(() => undefined);
    await this.transcript
      .append({ type: 'end', attempt: this.input.attempt, at: now(), outcome, reason })
      .catch(() => undefined);
    return failure;
  }

  private async writeDetails(d: {
    outcome: Outcome;
    status?: AgentStatus;
    finalText: string;
    aop?: AopResult;
    error?: string;
    stuck?: StuckReport;
  }): Promise<void> {
    const endedAt = Date.now();
    await writeDetailsFile(this.workspace, this.detailsRel, {
      ...detailsHead(this.input, this.model, d),
      finalText: d.finalText,
      conversation: this.conversation,
      turns: this.turnsThisAttempt,
      toolCalls: this.toolCalls,
      filesChanged: [...this.filesChanged].sort(),
      calls: this.calls,
      usage: this.usage,
      carriedUsage: this.carriedUsage,
      compactions: this.compactions,
      ...this.apiWaits.detailsFields(),
      timings: {
        startedAt: new Date(this.startedAt).toISOString(),
        endedAt: new Date(endedAt).toISOString(),
        durationMs: endedAt - this.startedAt,
        modelMs: this.modelMs,
        toolMs: this.toolMs,
      },
      transcript: this.transcriptRel,
    });
  }
}

/** A model call failure that is the API's weather, not the agent's doing (errors.ts marks it). */
function isWeather(err: unknown): err is ApplicationFailure {
  return (
    err instanceof ApplicationFailure &&
    err.type === FailureTypes.Transient &&
    (err.details?.[0] as { weather?: boolean } | undefined)?.weather === true
  );
}

function now(): string {
  return new Date().toISOString();
}

/** Response blocks → request blocks, dropping response-only fields and empty text. */
function toParams(content: Anthropic.ContentBlock[]): Anthropic.ContentBlockParam[] {
  const out: Anthropic.ContentBlockParam[] = [];
  for (const b of content) {
    switch (b.type) {
      case 'text':
        if (b.text) out.push({ type: 'text', text: b.text });
        break;
      case 'tool_use':
        out.push({ type: 'tool_use', id: b.id, name: b.name, input: b.input });
        break;
      case 'thinking':
        out.push({ type: 'thinking', thinking: b.thinking, signature: b.signature });
        break;
      case 'redacted_thinking':
        out.push({ type: 'redacted_thinking', data: b.data });
        break;
      default:
        out.push(b as unknown as Anthropic.ContentBlockParam);
    }
  }
  return out.length ? out : [{ type: 'text', text: '(empty reply)' }];
}

function textOf(content: Anthropic.MessageParam['content'] | Anthropic.ContentBlock[]): string {
  if (typeof content === 'string') return content;
  return content
    .filter((b): b is Anthropic.TextBlockParam => b.type === 'text')
    .map((b) => b.text)
    .join('\n');
}

/**
 * A copy of the conversation with a cache breakpoint on the last block, so each turn's prefix
 * is cached for the next (tools, system and this make three of the API's four breakpoints).
 */
function withCacheBreakpoint(messages: Anthropic.MessageParam[]): Anthropic.MessageParam[] {
  if (messages.length === 0) return messages;
  const copy = messages.slice(0, -1);
  const last = messages[messages.length - 1];
  const blocks: Anthropic.ContentBlockParam[] =
    typeof last.content === 'string'
      ? [{ type: 'text', text: last.content }]
      : [...(last.content as Anthropic.ContentBlockParam[])];
  const i = blocks.length - 1;
  const tail = blocks[i];
  if (tail && tail.type !== 'thinking' && tail.type !== 'redacted_thinking') {
    blocks[i] = { ...tail, cache_control: { type: 'ephemeral' } } as Anthropic.ContentBlockParam;
  }
  copy.push({ ...last, content: blocks } as Anthropic.MessageParam);
  return copy;
}
