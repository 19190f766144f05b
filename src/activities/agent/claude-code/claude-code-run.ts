/**
 * The claude-code agent runtime: one Temporal activity per task attempt, as the tool loop, but
 * the agent is Claude Code itself, driven through the Claude Agent SDK. The contract is the tool
 * loop's: the result is the Agent Output Protocol block (capped summary, details file, usage);
 * the details file holds the final text, every tool call and model call; the ladder, the reduced
 * toolset on a retry, heartbeats, cancellation, the stuck detector, the budgets and API weather
 * work as there. The conversation lives in Claude Code's own session files, outside Temporal
 * history (session.ts), and an interrupted attempt resumes its session.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { costOf } from '../../../domain/models';
import { claudeCodeTaskDir, detailsFilePath } from '../../../domain/paths';
import {
  addUsage,
  FailureTypes,
  microUsd,
  totalTokens,
  ZERO_USAGE,
  type AgentStatus,
  type TaskResult,
  type TaskRunInput,
  type Usage,
} from '../../../domain/types';
import { heartbeatEveryMs } from '../../heartbeat';
import {
  capSummary,
  detailsHead,
  parseAop,
  summarizeInput,
  taskResult,
  writeDetailsFile,
  type AgentDetails,
  type DetailsEnd,
  type ApiWaitRecord,
  type AopResult,
  type ModelCallRecord,
  type ToolCallRecord,
} from '../aop';
import { abortableSleep, BACKOFF_BASE_MS, BACKOFF_CAP_MS, workerApiLimiter, type ApiLimiter } from '../api-weather';
import { ApiWaitTracker } from '../api-wait-tracker';
import { AttemptDeadline } from '../attempt-deadline';
import { AttemptLedger } from '../budget-ledger';
import { describeAttempt, failureEnd, redact, requireApiKey } from '../errors';
import { attemptNotes, BLOCKED_RESUME_NOTE, systemPrompt } from '../prompts';
import { noProgressReport, StuckDetector, stuckFailure, type StuckReport } from '../stuck';
import { usageOf } from '../usage';
import { realWorkspace } from '../workspace';
import { readAgentFile, type AgentFile } from './agent-file';
import { loadClaudeAgentSdk } from './install';
import { claudeCodeEnv, ClaudeCodeProcess } from './process';
import type {
  ClaudeAgentSdk,
  HookCallback,
  PostToolUseHookInput,
  PreToolUseHookInput,
  SDKMessage,
  SDKResultMessage,
} from './sdk-types';
import {
  BLOCKED_END,
  planSessionStart,
  readSession,
  writeSession,
  type SessionRecord,
  type SessionStart,
} from './session';
import { CLAUDE_CODE_TOOLS, guardToolCall, REDUCED_TOOLS } from './tool-guard';

export interface RunClaudeCodeOptions {
  /** Defaults to env.ANTHROPIC_API_KEY. */
  apiKey?: string;
  /** Defaults to env.ANTHROPIC_BASE_URL, else Claude Code's default (the public API). */
  baseURL?: string;
  /** Model turns per attempt (default 50, as the tool loop). */
  maxTurns?: number;
  env?: NodeJS.ProcessEnv;
  limiter?: ApiLimiter;
  /** First backoff after a session ended on API weather (default 1 s, doubling up to 60 s). */
  weatherBackoffBaseMs?: number;
  /** The SDK (default: loaded from the cache folder, install.ts). */
  sdk?: ClaudeAgentSdk;
}

const DEFAULT_MAX_TURNS = 50;
const DEFAULT_API_OUTAGE_MS = 1_800_000;
const DEFAULT_API_MAX_CONCURRENT = 8;
const WRITE_TOOLS = new Set(['Write', 'Edit', 'MultiEdit', 'NotebookEdit']);
/** Errors of an assistant message (after Claude Code's own retries) that are the API's weather. */
const WEATHER_ERRORS = new Set(['rate_limit', 'overloaded', 'server_error']);
/** ... and those no retry fixes. */
const PERMANENT_ERRORS = new Set([
  'authentication_failed',
  'oauth_org_not_allowed',
  'account_on_hold',
  'verification_required',
  'billing_error',
  'invalid_request',
  'model_not_found',
]);

type AbortCause = 'cancelled' | 'deadline' | 'stuck' | 'budget';

export async function runClaudeCodeAgent(input: TaskRunInput, opts: RunClaudeCodeOptions = {}): Promise<TaskResult> {
  return new ClaudeCodeRun(input, opts).execute();
}

/** How one Claude Code session (one query()) ended. */
type SessionEnd =
  | { kind: 'result'; result: SDKResultMessage }
  | { kind: 'weather'; what: string }
  | { kind: 'no-result'; what: string };

class ClaudeCodeRun {
  private readonly activity = Context.current();
  private readonly startedAt = Date.now();
  private readonly who: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly apiKey: string;
  private readonly baseURL: string | undefined;
  private readonly maxTurns: number;
  private readonly tools: readonly string[];
  private readonly detailsRel: string;
  private readonly limiter: ApiLimiter;
  private readonly outageMs: number;
  private readonly deadline: AttemptDeadline;

  private workspace = '';
  private taskDir = '';
  private agent: AgentFile | undefined;
  private model: string;
  private session: SessionRecord | undefined;
  private start: SessionStart = { mode: 'fresh', reason: '', turns: 0 };
  private turn = 0;
  private turnsThisAttempt = 0;
  private finalText = '';
  private readonly abort = new AbortController();
  private abortCause: AbortCause | undefined;
  private budgetReason: string | undefined;
  private detector: StuckDetector | undefined;
  private stuck: StuckReport | undefined;
  /** Usage per model message id (the last report of each), for this attempt's sessions. */
  private readonly messageUsage = new Map<string, Usage>();
  /** Usage of the sessions of this attempt that ended with a result (the result's figures). */
  private settledUsage: Usage = ZERO_USAGE;
  private carriedUsage: Usage | undefined;
  private readonly calls: ModelCallRecord[] = [];
  private readonly toolCalls: ToolCallRecord[] = [];
  private readonly toolStarted = new Map<string, { at: number; record: ToolCallRecord; path?: string }>();
  private readonly filesChanged = new Set<string>();
  private readonly apiWaits: ApiWaitTracker;
  private readonly proc = new ClaudeCodeProcess();
  private claudeCode: { version?: string; firstMessageMs?: number; firstReplyMs?: number } = {};
  private readonly ledger: AttemptLedger;

  constructor(
    private readonly input: TaskRunInput,
    private readonly opts: RunClaudeCodeOptions,
  ) {
    this.who = `${describeAttempt(input)} [claude-code]`;
    this.env = opts.env ?? process.env;
    this.apiKey = requireApiKey(this.who, opts.apiKey ?? this.env.ANTHROPIC_API_KEY);
    this.baseURL = opts.baseURL ?? this.env.ANTHROPIC_BASE_URL;
    this.maxTurns = opts.maxTurns ?? DEFAULT_MAX_TURNS;
    this.tools = input.reducedTools ? REDUCED_TOOLS : CLAUDE_CODE_TOOLS;
    this.model = input.model;
    this.detailsRel = detailsFilePath(input.ctx.planSlug, input.task.id, input.attempt);
    this.limiter = opts.limiter ?? workerApiLimiter;
    this.outageMs = input.api?.outageMs ?? DEFAULT_API_OUTAGE_MS;
    this.deadline = new AttemptDeadline(input, this.startedAt, input.api ? this.outageMs : 0, () =>
      this.stop('deadline'),
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
    const hbTimer = setInterval(() => {
      this.proc.sampleMemory();
      this.heartbeat();
    }, heartbeatEveryMs(this.activity));
    if (this.input.watchdog) this.detector = new StuckDetector(this.input.watchdog, (ms) => this.onSilence(ms));
    let release: (() => void) | undefined;
    try {
      if (this.activity.cancellationSignal.aborted)
        throw new CancelledFailure(`${this.who}: cancelled before it started`);
      await this.prepare();
      await this.checkBudget();
      const sdk = await this.sdk();
      // A session makes one request at a time: it holds one of the worker's request slots throughout.
      release = await this.limiter.acquire(
        this.input.api?.maxConcurrentRequests ?? DEFAULT_API_MAX_CONCURRENT,
        this.abort.signal,
      );
      let resume = this.start.resume;
      let prompt = this.firstPrompt();
      for (;;) {
        const end = await this.runSession(sdk, prompt, resume);
        this.throwIfStopped();
        if (end.kind === 'result') return await this.finish(end.result);
        if (end.kind === 'no-result') throw this.transient(`Claude Code ended without a result: ${end.what}`);
        // API weather after Claude Code's own retries: wait, then resume the same session.
        await this.waitOutWeather(end.what);
        resume = this.session?.sessionId;
        prompt = `[phaseflow] The API was unavailable (${end.what}); continue the task where you left off.`;
      }
    } catch (err) {
      throw await this.fail(err);
    } finally {
      release?.();
      this.activity.cancellationSignal.removeEventListener('abort', onCancel);
      this.deadline.clear();
      clearInterval(hbTimer);
      this.detector?.stop();
      this.proc.sampleMemory();
    }
  }

  private async sdk(): Promise<ClaudeAgentSdk> {
    if (this.opts.sdk) return this.opts.sdk;
    try {
      return await loadClaudeAgentSdk(this.env);
    } catch (err) {
      throw ApplicationFailure.create({
        type: FailureTypes.Permanent,
        nonRetryable: true,
        message: `${this.who}: ${(err as Error).message}`,
      });
    }
  }

  /** The workspace, the agent file, the task's Claude Code folder, and whether to resume. */
  private async prepare(): Promise<void> {
    this.workspace = await realWorkspace(this.input.ctx.workspace);
    const name = this.input.task.agent;
    if (name) {
      try {
        this.agent = await readAgentFile(this.workspace, name);
      } catch (err) {
        throw ApplicationFailure.create({
          type: FailureTypes.Permanent,
          nonRetryable: true,
          message: `${this.who}: task ${this.input.task.id} field agent: ${(err as Error).message}`,
        });
      }
      if (this.agent.model) this.model = this.agent.model;
    }
    this.taskDir = path.join(this.workspace, claudeCodeTaskDir(this.input.ctx.planSlug, this.input.task.id));
    for (const sub of ['home', 'config', 'tmp']) await fs.mkdir(path.join(this.taskDir, sub), { recursive: true });
    this.start = planSessionStart(await readSession(this.taskDir));
    this.turn = this.start.turns;
    if (this.start.carriedUsage) this.carriedUsage = this.start.carriedUsage;
    this.activity.log.info('claude-code agent starts', {
      taskId: this.input.task.id,
      mode: this.start.mode,
      reason: this.start.reason,
      agent: name,
    });
  }

  private firstPrompt(): string {
    const task = systemPrompt(this.input)
      .map((b) => b.text)
      .join('\n\n');
    if (this.start.mode === 'resumed')
      return [
        // An agent that reported blocked goes on after a person looked; any other was cut off.
        this.start.blocked
          ? BLOCKED_RESUME_NOTE
          : `[phaseflow] The task was interrupted and is resumed here: ${this.start.reason}.`,
        ...attemptNotes(this.input),
      ].join(' ');
    return [
      task,
      `Carry out task ${this.input.task.id} as described above: ${this.input.task.description}`,
      ...attemptNotes(this.input),
    ].join('\n\n');
  }

  /** One query(): Claude Code runs until it has a result, is stopped, or the API fails it. */
  private async runSession(sdk: ClaudeAgentSdk, prompt: string, resume: string | undefined): Promise<SessionEnd> {
    // A session before this one that ended with no result keeps what its messages reported.
    this.settledUsage = addUsage(this.settledUsage, this.estimate());
    this.messageUsage.clear();
    const maxBudgetUsd = await this.usdLeft();
    const preToolUse: HookCallback = async (raw) => {
      const h = raw as PreToolUseHookInput;
      return this.beforeTool(h.tool_name, h.tool_input, h.tool_use_id);
    };
    const postToolUse: HookCallback = async (raw) => {
      this.afterTool(raw.tool_use_id, raw.hook_event_name === 'PostToolUseFailure', raw as PostToolUseHookInput);
      return {};
    };
    // Its own controller, stopped with the run, and at the end of the session if Claude Code still runs.
    const sessionAbort = new AbortController();
    const onStop = () => sessionAbort.abort();
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    const q = sdk.query({
      prompt,
      options: {
        cwd: this.workspace,
        abortController: sessionAbort,
        ...(resume ? { resume } : {}),
        ...(this.agent ? { agent: this.input.task.agent } : {}),
        // An agent file that names a model keeps it; otherwise the task's model.
        ...(this.agent?.model ? {} : { model: this.input.model }),
        tools: [...this.tools],
        permissionMode: 'default',
        // The PreToolUse hook decides every call (tool-guard.ts); anything that still asks for a person is
        // refused: nobody answers a permission prompt in an unattended run.
        canUseTool: async (name) => ({
          behavior: 'deny',
          message: `${name} needs a person's permission, and nobody answers in an unattended phaseflow run`,
        }),
        // The project's CLAUDE.md, agents, skills and settings; not the worker user's (HOME is the task's).
        settingSources: ['project', 'local'],
        systemPrompt: this.agent
          ? undefined
          : { type: 'preset', preset: 'claude_code', append: systemPrompt(this.input)[0].text },
        maxTurns: Math.max(1, this.maxTurns - this.turnsThisAttempt),
        ...(maxBudgetUsd !== undefined ? { maxBudgetUsd } : {}),
        env: claudeCodeEnv({ source: this.env, apiKey: this.apiKey, baseURL: this.baseURL, taskDir: this.taskDir }),
        hooks: {
          PreToolUse: [{ hooks: [preToolUse] }],
          PostToolUse: [{ hooks: [postToolUse] }],
          PostToolUseFailure: [{ hooks: [postToolUse] }],
        },
        spawnClaudeCodeProcess: this.proc.spawn,
        // Stream events: each token is progress for the stuck detector and a heartbeat.
        includePartialMessages: true,
      },
    });
    let lastError: string | undefined;
    try {
      for await (const m of q) {
        if (isProgress(m)) this.detector?.progress();
        const end = await this.onMessage(m);
        if (m.type === 'assistant' && 'error' in m && typeof m.error === 'string') lastError = m.error;
        if (end) {
          if (end.result.is_error && end.result.subtype === 'error_during_execution' && lastError) {
            if (WEATHER_ERRORS.has(lastError)) return { kind: 'weather', what: lastError };
          }
          return end;
        }
      }
    } catch (err) {
      if (err instanceof ApplicationFailure || err instanceof CancelledFailure) throw err;
      if (this.abortCause) return { kind: 'no-result', what: this.abortCause };
      const what = redact(
        `${(err as Error).message}${this.proc.stderr() ? `; stderr: ${this.proc.stderr().slice(-1000)}` : ''}`,
        this.apiKey,
      );
      if (lastError && WEATHER_ERRORS.has(lastError)) return { kind: 'weather', what: lastError };
      if (lastError && PERMANENT_ERRORS.has(lastError))
        throw this.permanent(`the API refused the request (${lastError}): ${what}`);
      return { kind: 'no-result', what };
    } finally {
      this.abort.signal.removeEventListener('abort', onStop);
      if (this.proc.running()) sessionAbort.abort();
    }
    if (lastError && WEATHER_ERRORS.has(lastError)) return { kind: 'weather', what: lastError };
    return {
      kind: 'no-result',
      what: `the message stream ended${this.proc.stderr() ? `; stderr: ${redact(this.proc.stderr().slice(-1000), this.apiKey)}` : ''}`,
    };
  }

  private async onMessage(m: SDKMessage): Promise<{ kind: 'result'; result: SDKResultMessage } | undefined> {
    this.heartbeat();
    if (m.type === 'stream_event') {
      if (isProgress(m)) this.apiWaits.end();
      return undefined;
    }
    // Its peak memory, read while it runs (a short task has ended before the heartbeat timer fires).
    this.proc.sampleMemory();
    if (m.type === 'system') {
      const s = m as Extract<SDKMessage, { type: 'system' }> & { subtype: string };
      if (s.subtype === 'init') {
        this.claudeCode.version ??= s.claude_code_version as string | undefined;
        this.claudeCode.firstMessageMs ??= Date.now() - this.startedAt;
        if (typeof s.model === 'string') this.model = s.model;
        await this.saveSession({ sessionId: s.session_id, outcome: 'running' });
      } else if (s.subtype === 'api_retry') {
        this.onApiRetry(s as { retry_delay_ms?: number; error?: string; error_status?: number | null });
      }
      return undefined;
    }
    if (m.type === 'assistant') {
      const a = m as Extract<SDKMessage, { type: 'assistant' }>;
      this.apiWaits.end();
      const id = a.message.id;
      const isNew = !this.messageUsage.has(id);
      this.messageUsage.set(id, usageOf(a.message.model || this.model, a.message.usage as never));
      if (isNew && a.parent_tool_use_id === null && a.message.model !== '<synthetic>') {
        this.turn++;
        this.turnsThisAttempt++;
        this.claudeCode.firstReplyMs ??= Date.now() - this.startedAt;
        this.calls.push({
          turn: this.turn,
          purpose: 'turn',
          stopReason: a.message.stop_reason,
          usage: this.messageUsage.get(id)!,
          durationMs: 0,
          attempt: this.input.attempt,
        });
      }
      const text = a.message.content
        .filter((b) => b.type === 'text' && b.text)
        .map((b) => b.text)
        .join('\n');
      if (text && a.parent_tool_use_id === null) this.finalText = text;
      await this.recordSpend();
      await this.saveSession({});
      await this.checkBudget();
      return undefined;
    }
    if (m.type === 'result') {
      const r = m as SDKResultMessage;
      this.settle(r);
      await this.saveSession({});
      return { kind: 'result', result: r };
    }
    return undefined;
  }

  /** A session ended with a result: its figures replace the estimate from its messages. */
  private settle(r: SDKResultMessage): void {
    let usage = ZERO_USAGE;
    for (const [model, u] of Object.entries(r.modelUsage ?? {})) {
      const tokens = {
        inputTokens: u.inputTokens ?? 0,
        outputTokens: u.outputTokens ?? 0,
        cacheWriteTokens: u.cacheCreationInputTokens ?? 0,
        cacheReadTokens: u.cacheReadInputTokens ?? 0,
      };
      usage = addUsage(usage, { ...tokens, costUsd: costOf(model, tokens) });
    }
    // A session with no model usage in its result (a crash at start-up) keeps its estimate.
    if (totalTokens(usage) === 0) usage = this.estimate();
    this.settledUsage = addUsage(this.settledUsage, usage);
    this.messageUsage.clear();
  }

  /** This attempt's own usage so far: settled sessions plus the running one's messages. */
  private ownUsage(): Usage {
    let u = this.settledUsage;
    for (const m of this.messageUsage.values()) u = addUsage(u, m);
    return u;
  }

  private estimate(): Usage {
    let u = ZERO_USAGE;
    for (const m of this.messageUsage.values()) u = addUsage(u, m);
    return u;
  }

  private usage(): Usage {
    return this.carriedUsage ? addUsage(this.ownUsage(), this.carriedUsage) : this.ownUsage();
  }

  private async beforeTool(name: string, input: unknown, id: string) {
    const deny = (reason: string) => ({
      hookSpecificOutput: {
        hookEventName: 'PreToolUse' as const,
        permissionDecision: 'deny' as const,
        permissionDecisionReason: reason,
      },
    });
    const record: ToolCallRecord = {
      turn: this.turn,
      id,
      name,
      input: summarizeInput(input),
      resultBytes: 0,
      isError: false,
      durationMs: 0,
    };
    this.toolCalls.push(record);
    const looping = this.detector?.toolCall(name, input, this.turn);
    if (looping) {
      this.stuck ??= looping;
      record.isError = true;
      record.error = 'not run: the stuck detector stopped the attempt';
      this.stop('stuck');
      // The call is not run, and the process is gone (stop()).
      return { ...deny(`stopped: ${looping.reason}`), continue: false, stopReason: looping.reason };
    }
    const decision = await guardToolCall({ workspace: this.workspace, tools: this.tools, env: this.env }, name, input);
    if (!decision.allow) {
      record.isError = true;
      record.error = decision.reason.slice(0, 300);
      return deny(decision.reason);
    }
    this.detector?.toolStarted();
    this.toolStarted.set(id, { at: Date.now(), record, path: decision.path });
    return {
      hookSpecificOutput: {
        hookEventName: 'PreToolUse' as const,
        permissionDecision: 'allow' as const,
        ...(decision.updatedInput ? { updatedInput: decision.updatedInput } : {}),
      },
    };
  }

  private afterTool(id: string, failed: boolean, raw: { tool_response?: unknown; error?: string }): void {
    const started = this.toolStarted.get(id);
    if (!started) return;
    this.toolStarted.delete(id);
    this.detector?.toolFinished();
    const r = started.record;
    r.durationMs = Date.now() - started.at;
    const response = raw.tool_response ?? raw.error;
    r.resultBytes = Buffer.byteLength(typeof response === 'string' ? response : (JSON.stringify(response) ?? ''));
    if (failed) {
      r.isError = true;
      r.error = String(raw.error ?? '').slice(0, 300);
    } else if (WRITE_TOOLS.has(r.name) && started.path) this.filesChanged.add(started.path);
  }

  private onApiRetry(s: { retry_delay_ms?: number; error?: string; error_status?: number | null }): void {
    const waitMs = s.retry_delay_ms ?? 0;
    const what = `${s.error_status ?? ''} ${s.error ?? 'api error'}`.trim();
    this.noteWait(what, waitMs, 'backoff');
  }

  private noteWait(what: string, waitMs: number, from: ApiWaitRecord['from']): void {
    this.apiWaits.retries++;
    this.apiWaits.waitedMs += waitMs;
    this.apiWaits.record({ turn: this.turn, what, waitMs, from });
    this.apiWaits.begin(what, Date.now() + waitMs);
    this.deadline.extend(waitMs);
    this.heartbeat();
    this.apiWaits.tellPhase();
    if (this.apiWaits.waitedMs > this.outageMs) throw this.apiUnavailable(what);
  }

  private async waitOutWeather(what: string): Promise<void> {
    const retry = this.apiWaits.waits.filter((w) => w.from === 'held').length + 1;
    const base = this.opts.weatherBackoffBaseMs ?? BACKOFF_BASE_MS;
    const ms = Math.min(BACKOFF_CAP_MS, base * 2 ** (retry - 1));
    if (this.apiWaits.waitedMs + ms > this.outageMs) throw this.apiUnavailable(what);
    this.noteWait(what, ms, 'held');
    await this.saveSession({ outcome: 'interrupted', reason: `API weather: ${what}` });
    try {
      await abortableSleep(ms, this.abort.signal);
    } catch {
      this.throwIfStopped();
    }
    this.apiWaits.end();
  }

  private apiUnavailable(what: string): ApplicationFailure {
    return ApplicationFailure.create({
      type: FailureTypes.ApiUnavailable,
      nonRetryable: true,
      message: `${this.who}: the Anthropic API stayed unavailable (${what}) for ${Math.round(this.apiWaits.waitedMs / 1000)} s, past apiOutageSeconds (${Math.round(this.outageMs / 1000)} s)`,
      details: [{ waitedMs: this.apiWaits.waitedMs, last: what, usage: this.usage(), detailsFile: this.detailsRel }],
    });
  }

  /** What is left in dollars for this attempt (the tightest of its snapshot and the phase ledger). */
  private async usdLeft(): Promise<number | undefined> {
    const b = this.input.budget;
    if (!b) return undefined;
    const left: number[] = [];
    if (b.usdLeft !== undefined) left.push(b.usdLeft - this.usage().costUsd);
    if (b.phase?.usdLeft !== undefined) {
      const spent = await this.phaseSpent(b.phase.ledger);
      if (spent) left.push(b.phase.usdLeft - spent.costUsd);
    }
    return left.length ? Math.max(0, microUsd(Math.min(...left))) : undefined;
  }

  /** Refuses to go on once a budget is spent (before the session, and after each model message). */
  private async checkBudget(): Promise<void> {
    const b = this.input.budget;
    if (!b) return;
    const usage = this.usage();
    const tokens = totalTokens(usage);
    let what: string | undefined;
    if (b.tokensLeft !== undefined && tokens >= b.tokensLeft) what = `${tokens} tokens spent of ${b.tokensLeft} left`;
    else if (b.usdLeft !== undefined && usage.costUsd >= b.usdLeft)
      what = `$${usage.costUsd} spent of $${b.usdLeft} left`;
    else if (b.phase) {
      const spent = await this.phaseSpent(b.phase.ledger);
      const of = `by the ${spent?.attempts ?? 0} agent attempt(s) of phase ${this.input.ctx.phaseSlug} so far (this one included)`;
      if (spent && b.phase.tokensLeft !== undefined && spent.tokens >= b.phase.tokensLeft)
        what = `the phase's parallel spend: ${spent.tokens} tokens spent ${of}, of ${b.phase.tokensLeft} left when the phase started`;
      else if (spent && b.phase.usdLeft !== undefined && spent.costUsd >= b.phase.usdLeft)
        what = `the phase's parallel spend: $${spent.costUsd} spent ${of}, of $${b.phase.usdLeft} left when the phase started`;
    }
    if (!what) return;
    this.budgetReason = what;
    this.stop('budget');
    throw this.budgetExhausted();
  }

  private budgetExhausted(): ApplicationFailure {
    return ApplicationFailure.create({
      type: FailureTypes.BudgetExhausted,
      nonRetryable: true,
      message: `${this.who}: budget exhausted (${this.budgetReason ?? 'Claude Code reached maxBudgetUsd'}); the session was stopped. Raise the budget or stop the run.`,
      details: [{ usage: this.usage(), budget: this.input.budget, turn: this.turn, detailsFile: this.detailsRel }],
    });
  }

  private phaseSpent(key: string): Promise<{ tokens: number; costUsd: number; attempts: number } | undefined> {
    return this.ledger.phaseSpent(this.workspace, key, () => this.ownUsage());
  }

  private recordSpend(): Promise<void> {
    return this.ledger.recordSpend(this.workspace, this.ownUsage());
  }

  private async saveSession(change: Partial<SessionRecord>): Promise<void> {
    const sessionId = change.sessionId ?? this.session?.sessionId;
    if (!sessionId) return;
    this.session = {
      ...(this.session ?? { outcome: 'running' }),
      ...change,
      sessionId,
      attempt: this.input.attempt,
      turns: this.turn,
      attemptUsage: this.ownUsage(),
      updatedAt: new Date().toISOString(),
    } as SessionRecord;
    await writeSession(this.taskDir, this.session);
  }

  private async finish(r: SDKResultMessage): Promise<TaskResult> {
    if (r.subtype === 'error_max_budget_usd') {
      this.budgetReason = `Claude Code reached maxBudgetUsd: $${this.usage().costUsd} spent`;
      throw this.budgetExhausted();
    }
    if (r.subtype === 'error_max_turns') {
      const summary = `Stopped at the turn limit (${this.maxTurns} turns) before the agent finished.`;
      return this.complete('failed', `turn limit (${this.maxTurns}) reached`, 'failure', {
        status: 'failure',
        fullSummary: summary,
        summary: capSummary(summary, this.input.task.outputType),
        markers: { summary: false, detailsFile: false, status: false },
      });
    }
    if (r.subtype !== 'success') {
      const errors = redact((r.errors ?? []).join('; ') || r.subtype, this.apiKey);
      throw this.transient(`Claude Code ended with ${r.subtype}: ${errors.slice(0, 500)}`);
    }
    const text = r.result ?? this.finalText;
    this.finalText = text;
    return this.complete(
      'completed',
      `agent finished (${r.stop_reason ?? 'end_turn'})`,
      undefined,
      parseAop(text, this.input.task.outputType),
    );
  }

  private async complete(
    outcome: 'completed' | 'failed',
    reason: string,
    statusOverride: AgentStatus | undefined,
    aop: AopResult,
  ): Promise<TaskResult> {
    const status = statusOverride ?? aop.status;
    await this.writeDetails({ outcome, status, aop });
    await this.saveSession(
      status === 'blocked'
        ? { outcome: 'interrupted', reason: `${BLOCKED_END} ${aop.fullSummary}`.slice(0, 500) }
        : { outcome, reason },
    );
    return taskResult(this.input, {
      status,
      summary: aop.summary,
      detailsFile: this.detailsRel,
      startedAt: this.startedAt,
      usage: this.usage(),
      model: this.model,
      filesChanged: this.filesChanged,
      api: this.apiWaits.resultFields(),
    });
  }

  private async fail(err: unknown): Promise<unknown> {
    const failure =
      err instanceof ApplicationFailure || err instanceof CancelledFailure
        ? err
        : this.transient(redact((err as Error)?.message ?? String(err), this.apiKey));
    if (!this.workspace || !this.taskDir) return failure;
    const { outcome, reason } = failureEnd(failure, this.apiKey);
    await this.writeDetails({ outcome, error: reason, stuck: this.stuck }).catch(() => undefined);
    await this.saveSession({ outcome, reason }).catch(() => undefined);
    return failure;
  }

  private async writeDetails(d: DetailsEnd): Promise<void> {
    const endedAt = Date.now();
    this.proc.sampleMemory();
    const details: AgentDetails & { runtime: Record<string, unknown> } = {
      ...detailsHead(this.input, this.model, d),
      finalText: this.finalText,
      conversation: {
        mode: this.start.mode,
        reason: this.start.reason,
        ...(this.start.mode === 'resumed' ? { resumedAtTurn: this.start.turns } : {}),
      },
      turns: this.turnsThisAttempt,
      toolCalls: this.toolCalls,
      filesChanged: [...this.filesChanged].sort(),
      calls: this.calls,
      usage: this.usage(),
      carriedUsage: this.carriedUsage,
      compactions: [],
      ...this.apiWaits.detailsFields(),
      timings: {
        startedAt: new Date(this.startedAt).toISOString(),
        endedAt: new Date(endedAt).toISOString(),
        durationMs: endedAt - this.startedAt,
        modelMs: 0,
        toolMs: this.toolCalls.reduce((n, t) => n + t.durationMs, 0),
      },
      // Claude Code keeps the conversation: the session's JSONL under the task's CLAUDE_CONFIG_DIR.
      transcript: path
        .relative(this.workspace, path.join(this.taskDir, 'config', 'projects'))
        .split(path.sep)
        .join('/'),
      runtime: {
        name: 'claude-code',
        claudeCodeVersion: this.claudeCode.version,
        agent: this.agent,
        sessionId: this.session?.sessionId,
        tools: this.tools,
        startupMs: this.claudeCode.firstMessageMs,
        firstReplyMs: this.claudeCode.firstReplyMs,
        peakRssBytes: this.proc.peakRssBytes,
      },
    };
    await writeDetailsFile(this.workspace, this.detailsRel, details);
  }

  private transient(message: string): ApplicationFailure {
    return ApplicationFailure.create({
      type: FailureTypes.Transient,
      message: `${this.who}: ${message}`,
      details: [{ turn: this.turn, usage: this.usage(), detailsFile: this.detailsRel }],
    });
  }

  private permanent(message: string): ApplicationFailure {
    return ApplicationFailure.create({
      type: FailureTypes.Permanent,
      nonRetryable: true,
      message: `${this.who}: ${message}`,
    });
  }

  private stop(cause: AbortCause): void {
    this.abortCause ??= cause;
    this.abort.abort();
    // The SDK's abort interrupts the turn, and Claude Code may still send one more request before
    // it exits: a stopped attempt makes no further model call, so it ends now. Its session files
    // stay resumable (as after a worker's death).
    this.proc.kill();
  }

  private throwIfStopped(): void {
    if (!this.abortCause) return;
    if (this.abortCause === 'cancelled') throw new CancelledFailure(`${this.who}: cancelled`);
    if (this.abortCause === 'stuck')
      throw stuckFailure(this.who, { ...this.stuck!, usage: this.usage(), detailsFile: this.detailsRel });
    if (this.abortCause === 'budget') throw this.budgetExhausted();
    throw ApplicationFailure.create({
      type: FailureTypes.Transient,
      message: `${this.who}: attempt time limit (${this.input.timeoutMs} ms) reached after turn ${this.turn}`,
      details: [{ timeout: true, turn: this.turn, usage: this.usage(), detailsFile: this.detailsRel }],
    });
  }

  private onSilence(silentMs: number): void {
    this.stuck ??= noProgressReport(silentMs, this.turn, `turn ${this.turn + 1}`);
    this.stop('stuck');
  }

  private heartbeat(): void {
    this.activity.heartbeat({ turn: this.turn, runtime: 'claude-code', ...this.apiWaits.heartbeatDetails() });
  }
}

/** Anything but a keep-alive or the start of a reply is progress (a token, a tool call, a finished message). */
function isProgress(m: SDKMessage): boolean {
  if (m.type !== 'stream_event') return true;
  const type = (m as { event?: { type?: string } }).event?.type;
  return type !== 'ping' && type !== 'message_start';
}
