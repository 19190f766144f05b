/**
 * The bench's fake Messages API: it plays every agent's side of a conversation by itself, applies
 * Anthropic's prompt-caching rules (prompt-cache.ts) and reports usage as the real API does.
 * Unlike tests/fake-anthropic (a script of replies for one test), it serves any number of
 * agents at once, each by the same rule: `turns - 1` turns of one small tool call, then the final
 * Agent Output Protocol answer. It answers at once (zero latency) or streams at a given number of
 * tokens per second, and records when each request arrived and when its response ended, so the
 * agent loop's own time between two requests can be read off.
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type CacheUsage, estimateTokens, PromptCache, PromptCacheError } from './prompt-cache';

export interface ConversationRule {
  /** Model turns per conversation, the last one the final answer (default 50). */
  turns: number;
  /** The tool call of turn n (1-based); it must differ from the previous ones (the stuck detector stops repeats). */
  toolCall: (turn: number) => { name: string; input: unknown };
  /** Text before each tool call: its length sets the tokens streamed per turn. */
  turnText: string;
  /**
   * Turns (numbered as the fake counts them: model requests of one conversation) whose reported
   * usage is raised to this many input tokens, so the agent compacts before its next call.
   */
  compactAfterTurn?: { turn: number; reportTokens: number };
}

export interface ServedRequest {
  /** The conversation: the task id as the system prompt names it. */
  task: string;
  /** Model requests of this conversation so far, this one included. */
  request: number;
  purpose: 'turn' | 'compaction' | 'final';
  /** performance.now() in the fake's process. */
  receivedAt: number;
  respondedAt?: number;
  /** What the caching rules give (the truth), before any reporting trick. */
  usage: CacheUsage & { output_tokens: number };
}

export interface FakeApiOptions {
  rule: ConversationRule;
  /** 0: the whole answer at once. Otherwise the answer's tokens at this rate, in chunks every 100 ms. */
  tokensPerSecond?: number;
}

const CHUNK_MS = 100;

export class FakeMessagesApi {
  readonly served: ServedRequest[] = [];
  readonly cache = new PromptCache();
  private readonly sockets = new Set<Socket>();
  private readonly perTask = new Map<string, number>();
  private ids = 0;

  private constructor(
    private readonly server: http.Server,
    readonly baseURL: string,
    readonly opts: FakeApiOptions,
  ) {}

  static async start(opts: FakeApiOptions): Promise<FakeMessagesApi> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const fake = new FakeMessagesApi(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, opts);
    server.on('connection', (s) => {
      fake.sockets.add(s);
      s.on('close', () => fake.sockets.delete(s));
    });
    server.on('request', (req, res) => void fake.handle(req, res));
    return fake;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const receivedAt = performance.now();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST' || !req.url?.startsWith('/v1/messages'))
      return json(
        res,
        404,
        apiError('not_found_error', `the bench fake serves POST /v1/messages, not ${req.method} ${req.url}`),
      );
    let body: any;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return json(res, 400, apiError('invalid_request_error', 'body is not JSON'));
    }
    let usage: CacheUsage;
    try {
      usage = this.cache.apply(body);
    } catch (err) {
      if (err instanceof PromptCacheError) return json(res, 400, apiError('invalid_request_error', err.message));
      throw err;
    }
    const task = taskOf(body);
    const n = (this.perTask.get(task) ?? 0) + 1;
    this.perTask.set(task, n);
    const { rule } = this.opts;
    const compaction = body.tool_choice?.type === 'none';
    const answered = turnsAnswered(task, this.served) + 1;
    const final = !compaction && answered >= rule.turns;
    const content = compaction
      ? [
          {
            type: 'text',
            text: `<summary>Task ${task}: ${answered - 1} tool turns done; nothing left but the final answer.</summary>`,
          },
        ]
      : final
        ? [
            {
              type: 'text',
              text: `Done.\n\n[AOP:SUMMARY] task ${task} done in ${answered} turns\n[AOP:DETAILS_FILE] .claude/cache/agent-outputs/x.json\n[AOP:STATUS] success`,
            },
          ]
        : [
            { type: 'text', text: rule.turnText },
            { type: 'tool_use', id: `toolu_bench${++this.ids}`, ...rule.toolCall(answered) },
          ];
    const output_tokens = content.reduce((t, b: any) => t + estimateTokens(b.text ?? JSON.stringify(b.input)), 0);
    const record: ServedRequest = {
      task,
      request: n,
      purpose: compaction ? 'compaction' : final ? 'final' : 'turn',
      receivedAt,
      usage: { ...usage, output_tokens },
    };
    this.served.push(record);
    const reported =
      rule.compactAfterTurn && !compaction && answered === rule.compactAfterTurn.turn
        ? {
            ...usage,
            input_tokens:
              rule.compactAfterTurn.reportTokens - usage.cache_read_input_tokens - usage.cache_creation_input_tokens,
          }
        : usage;
    const message = {
      id: `msg_bench${++this.ids}`,
      type: 'message',
      role: 'assistant',
      model: body.model,
      content: content.map((b: any) => (b.type === 'text' ? { ...b, citations: null } : b)),
      stop_reason: final || compaction ? 'end_turn' : 'tool_use',
      stop_sequence: null,
      usage: { ...reported, output_tokens, cache_creation: null, server_tool_use: null, service_tier: 'standard' },
    };
    res.on('finish', () => (record.respondedAt = performance.now()));
    if (body.stream !== true) return json(res, 200, message);
    await this.stream(res, message);
  }

  private async stream(res: http.ServerResponse, message: any): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'request-id': `req_bench${++this.ids}`,
    });
    const { content, usage, stop_reason, ...rest } = message;
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('message_start', {
      type: 'message_start',
      message: { ...rest, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } },
    });
    // Pieces of ~4 characters (a token each), sent `perChunk` at a time every CHUNK_MS.
    const tps = this.opts.tokensPerSecond ?? 0;
    const perChunk = tps > 0 ? Math.max(1, Math.round((tps * CHUNK_MS) / 1000)) : Infinity;
    let sentInChunk = 0;
    const pace = async () => {
      if (++sentInChunk < perChunk) return;
      sentInChunk = 0;
      await new Promise((r) => setTimeout(r, CHUNK_MS));
    };
    for (const [index, block] of content.entries()) {
      const text = block.type === 'text' ? block.text : JSON.stringify(block.input);
      send('content_block_start', {
        type: 'content_block_start',
        index,
        content_block: block.type === 'text' ? { type: 'text', text: '', citations: null } : { ...block, input: {} },
      });
      for (let i = 0; i < text.length; i += 4) {
        if (res.destroyed) return;
        const piece = text.slice(i, i + 4);
        send('content_block_delta', {
          type: 'content_block_delta',
          index,
          delta:
            block.type === 'text'
              ? { type: 'text_delta', text: piece }
              : { type: 'input_json_delta', partial_json: piece },
        });
        if (tps > 0) await pace();
      }
      send('content_block_stop', { type: 'content_block_stop', index });
    }
    send('message_delta', {
      type: 'message_delta',
      delta: { stop_reason, stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    });
    send('message_stop', { type: 'message_stop' });
    res.end();
  }
}

/** The conversation's key: epic, plan and task as the system prompt names them (prompts.ts). */
function taskOf(body: any): string {
  const system = typeof body.system === 'string' ? body.system : (body.system ?? []).map((b: any) => b.text).join('\n');
  const line = (re: RegExp) => re.exec(system)?.[1] ?? '?';
  return `${line(/^Epic: .* \((\S+)\)$/m)}/${line(/^Plan: .* \((\S+)\)$/m)}/${line(/^Task (\S+) \(/m)}`;
}

/** Tool turns a task has had answered so far (across compactions and resumed attempts). */
function turnsAnswered(task: string, served: ServedRequest[]): number {
  return served.filter((s) => s.task === task && s.purpose === 'turn').length;
}

function apiError(type: string, message: string) {
  return { type: 'error', error: { type, message }, request_id: null };
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}
