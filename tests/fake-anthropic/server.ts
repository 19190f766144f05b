/**
 * A scripted fake of the Anthropic Messages API for tests. The real SDK talks to it over HTTP
 * (pass `fake.baseURL` as baseURL). Each POST /v1/messages takes the next step from the queue:
 * a reply (tool_use turn, final text, explicit usage; optionally paced, with keep-alive pings) or
 * a fault (HTTP error with headers, a hang, a dropped connection, an error or a cut inside the
 * stream, a stream of pings that never produces a token). It answers streaming
 * (SSE) and non-streaming requests alike, and records every request it received, headers
 * included but without the credential, so tests can assert what the model saw.
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ApiUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export type FakeBlock = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: unknown };

export interface FakeReply {
  kind: 'message';
  content: FakeBlock[];
  stop_reason: string;
  usage: ApiUsage;
  model?: string;
  /** Streaming only: wait this long before each SSE event (a slow but live answer). */
  gapMs?: number;
  /** Streaming only: this many `ping` events (gapMs apart) before the first content block. */
  pings?: number;
}

export type FakeFault =
  /** An HTTP error with the API's JSON error body. */
  | {
      kind: 'error';
      status: number;
      type: string;
      message: string;
      errorCode?: string;
      headers?: Record<string, string>;
    }
  /** Never answers; the request stays open until the client gives up (or the fake closes). */
  | { kind: 'hang' }
  /** Destroys the socket before any response bytes. */
  | { kind: 'drop' }
  /** 200 and the start of a stream, then `event: error` (e.g. overloaded_error). */
  | { kind: 'stream-error'; type: string; message: string }
  /** 200 and the start of a stream, then the socket is destroyed. */
  | { kind: 'drop-mid-stream' }
  /** 200 and the start of a stream, then silence (the connection stays open). */
  | { kind: 'stall-mid-stream' }
  /** 200 and the start of a stream, then only `ping` events every `everyMs`, until the client goes away. */
  | { kind: 'pings'; everyMs: number; usage?: Partial<ApiUsage> };

export type FakeStep = FakeReply | FakeFault | ((req: RecordedRequest) => FakeReply | FakeFault);

export interface RecordedRequest {
  index: number;
  method: string;
  path: string;
  /** All headers except `authorization` and `x-api-key`. */
  headers: Record<string, string | string[] | undefined>;
  /** How the key was sent. */
  auth: 'x-api-key' | 'bearer' | 'none';
  /** The parsed JSON body (MessageCreateParams). */
  body: any;
  /** What the fake did with it. */
  served: FakeReply['kind'] | FakeFault['kind'] | 'auth-rejected' | 'exhausted' | 'count_tokens' | 'models';
  /** When the request arrived, and when its connection closed (Date.now()). */
  receivedAt: number;
  closedAt?: number;
  /** True if the connection closed before the fake finished its response (the client gave up). */
  clientGone?: boolean;
  /** When an error answer was sent; with `retry-after`, no request should come before `retryAfterUntil`. */
  respondedAt?: number;
  retryAfterUntil?: number;
  /** Served by an outage (see `outage`), not by the script. */
  outage?: boolean;
}

export interface FakeOptions {
  /** When set, requests with another key (or none) get a 401. */
  apiKey?: string;
  /** Model name in replies (default: the request's model). */
  model?: string;
}

export class FakeAnthropic {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: FakeStep[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly waiters: { n: number; resolve: () => void }[] = [];
  private ids = 0;
  private outageUntil = 0;
  private outageFaults: FakeFault[] = [];
  private outageServed = 0;

  private constructor(
    private readonly server: http.Server,
    readonly baseURL: string,
    private readonly opts: FakeOptions,
  ) {}

  static async start(opts: FakeOptions = {}): Promise<FakeAnthropic> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new FakeAnthropic(server, `http://127.0.0.1:${port}`, opts);
    server.on('connection', (s) => {
      fake.sockets.add(s);
      s.on('close', () => fake.sockets.delete(s));
    });
    server.on('request', (req, res) => void fake.handle(req, res));
    return fake;
  }

  /** Appends steps to the script; each model request consumes one. */
  enqueue(...steps: FakeStep[]): this {
    this.queue.push(...steps);
    return this;
  }

  /**
   * For `durationMs` from now every model request gets the next of `faults` in turn (529, 429 …),
   * and the script waits: the API is down, whoever asks.
   */
  outage(durationMs: number, faults: FakeFault[]): this {
    this.outageUntil = Date.now() + durationMs;
    this.outageFaults = faults;
    this.outageServed = 0;
    return this;
  }

  /**
   * Requests that arrived inside a retry-after window an earlier answer gave (there should be
   * none). `graceMs`: a request that arrives this soon after the answer was sent may have left its
   * client before the answer could be read (another agent's request already on its way).
   */
  requestsInsideRetryAfter(graceMs = 0): { request: RecordedRequest; window: RecordedRequest }[] {
    const out: { request: RecordedRequest; window: RecordedRequest }[] = [];
    for (const w of this.messageRequests) {
      if (w.retryAfterUntil === undefined || w.respondedAt === undefined) continue;
      for (const r of this.messageRequests)
        if (r.index > w.index && r.receivedAt >= w.respondedAt + graceMs && r.receivedAt < w.retryAfterUntil)
          out.push({ request: r, window: w });
    }
    return out;
  }

  /** Steps not consumed yet. */
  get pending(): number {
    return this.queue.length;
  }

  /** The model requests received (POST /v1/messages). */
  get messageRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'POST' && r.path === '/v1/messages');
  }

  /** Requests the fake does not serve (404): what a client sent that the fake would need to learn. */
  get unknownRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.served === 'exhausted' && !(r.method === 'POST' && r.path === '/v1/messages'));
  }
  /** Resolves once at least `n` model requests have arrived. */
  waitForRequests(n: number, timeoutMs = 10_000): Promise<void> {
    if (this.messageRequests.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`fake-anthropic: ${this.messageRequests.length} of ${n} requests after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  nextId(prefix: string): string {
    return `${prefix}_fake${String(++this.ids).padStart(4, '0')}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const { authorization, 'x-api-key': xApiKey, ...headers } = req.headers;
    const bearer =
      typeof authorization === 'string' && /^Bearer /i.test(authorization) ? authorization.slice(7) : undefined;
    const key = typeof xApiKey === 'string' ? xApiKey : bearer;
    const path = (req.url ?? '/').split('?')[0];
    let body: any;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const rec: RecordedRequest = {
      index: this.requests.length,
      method: req.method ?? 'GET',
      path,
      headers,
      auth: typeof xApiKey === 'string' ? 'x-api-key' : bearer !== undefined ? 'bearer' : 'none',
      body,
      served: 'exhausted',
      receivedAt: Date.now(),
    };
    res.on('close', () => {
      rec.closedAt = Date.now();
      rec.clientGone = !res.writableFinished;
    });
    this.requests.push(rec);
    this.notify();

    // Claude Code (the claude-code runtime) may count tokens and list models besides /v1/messages.
    if (req.method === 'POST' && path === '/v1/messages/count_tokens') {
      rec.served = 'count_tokens';
      return sendJson(res, 200, { input_tokens: Math.ceil(raw.length / 4) });
    }
    if (req.method === 'GET' && path === '/v1/models') {
      rec.served = 'models';
      const models = ['claude-haiku-4-5', 'claude-sonnet-4-5', 'claude-opus-4-5'].map((id) => ({
        type: 'model',
        id,
        display_name: id,
        created_at: '2025-01-01T00:00:00Z',
      }));
      return sendJson(res, 200, { data: models, has_more: false, first_id: models[0].id, last_id: models[2].id });
    }
    if (!(req.method === 'POST' && path === '/v1/messages')) {
      return sendError(
        res,
        404,
        'not_found_error',
        `fake-anthropic serves POST /v1/messages only, not ${req.method} ${path}`,
      );
    }
    if (this.opts.apiKey !== undefined && key !== this.opts.apiKey) {
      rec.served = 'auth-rejected';
      return sendError(res, 401, 'authentication_error', 'invalid x-api-key');
    }
    if (Date.now() < this.outageUntil && this.outageFaults.length) {
      const down = this.outageFaults[this.outageServed++ % this.outageFaults.length];
      rec.outage = true;
      return this.serve(req, res, rec, body, down);
    }
    const step = this.queue.shift();
    if (step === undefined) {
      return sendError(
        res,
        400,
        'invalid_request_error',
        `fake-anthropic: no scripted response left for request #${rec.index}`,
      );
    }
    return this.serve(req, res, rec, body, step);
  }

  private serve(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    rec: RecordedRequest,
    body: any,
    scripted: FakeStep,
  ): void | Promise<void> {
    const step = typeof scripted === 'function' ? scripted(rec) : scripted;
    rec.served = step.kind;
    const stream = body?.stream === true;
    switch (step.kind) {
      case 'message': {
        const message = {
          id: this.nextId('msg'),
          type: 'message',
          role: 'assistant',
          model: step.model ?? this.opts.model ?? body?.model ?? 'claude-fake',
          content: step.content.map((b) => (b.type === 'text' ? { ...b, citations: null } : b)),
          stop_reason: step.stop_reason,
          stop_sequence: null,
          stop_details: null,
          container: null,
          usage: { ...step.usage, cache_creation: null, server_tool_use: null, service_tier: 'standard' },
        };
        if (!stream) return sendJson(res, 200, message);
        return step.gapMs || step.pings
          ? sendPacedStream(res, message, step.gapMs ?? 0, step.pings ?? 0)
          : sendStream(res, message);
      }
      case 'error': {
        const errBody = {
          type: 'error',
          error: {
            type: step.type,
            message: step.message,
            ...(step.errorCode ? { details: { error_code: step.errorCode } } : {}),
          },
          request_id: this.nextId('req'),
        };
        const retryAfter = Number.parseFloat(step.headers?.['retry-after'] ?? '');
        rec.respondedAt = Date.now();
        if (Number.isFinite(retryAfter)) rec.retryAfterUntil = rec.respondedAt + retryAfter * 1000;
        return sendJson(res, step.status, errBody, step.headers);
      }
      case 'hang':
        return; // the socket stays open until the client aborts or the fake closes
      case 'drop':
        req.socket.destroy();
        return;
      case 'stream-error':
      case 'drop-mid-stream':
      case 'stall-mid-stream':
      case 'pings': {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        writeEvent(res, 'message_start', {
          type: 'message_start',
          message: {
            id: this.nextId('msg'),
            type: 'message',
            role: 'assistant',
            model: body?.model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: step.kind === 'pings' && step.usage ? usageOf(step.usage) : { input_tokens: 1, output_tokens: 1 },
          },
        });
        if (step.kind === 'stream-error') {
          writeEvent(res, 'error', { type: 'error', error: { type: step.type, message: step.message } });
          res.end();
        } else if (step.kind === 'drop-mid-stream') {
          // Let the first bytes reach the client, then cut the connection.
          setTimeout(() => req.socket.destroy(), 20);
        } else if (step.kind === 'pings') {
          // Keep-alives only: the connection is live, the model never says a word.
          const timer = setInterval(() => writeEvent(res, 'ping', { type: 'ping' }), step.everyMs);
          res.on('close', () => clearInterval(timer));
        }
        return;
      }
    }
  }

  private notify(): void {
    const n = this.messageRequests.length;
    for (const w of [...this.waiters]) {
      if (n >= w.n) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(data),
    'request-id': `req_fake_${Date.now()}`,
    ...headers,
  });
  res.end(data);
}

function sendError(res: http.ServerResponse, status: number, type: string, message: string): void {
  sendJson(res, status, { type: 'error', error: { type, message }, request_id: null });
}

function writeEvent(res: http.ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** The SSE sequence the real API sends (see the SDK's tool_use_response fixture). */
function streamEvents(
  message: { content: any[]; usage: any; stop_reason: string; [k: string]: unknown },
  pings = 1,
): [string, unknown][] {
  const { content, usage, stop_reason, ...rest } = message;
  const events: [string, unknown][] = [];
  events.push([
    'message_start',
    {
      type: 'message_start',
      message: { ...rest, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } },
    },
  ]);
  for (let i = 0; i < pings; i++) events.push(['ping', { type: 'ping' }]);
  content.forEach((block, index) => {
    if (block.type === 'text') {
      events.push([
        'content_block_start',
        { type: 'content_block_start', index, content_block: { type: 'text', text: '', citations: null } },
      ]);
      for (const part of halves(block.text)) {
        events.push([
          'content_block_delta',
          { type: 'content_block_delta', index, delta: { type: 'text_delta', text: part } },
        ]);
      }
    } else {
      events.push([
        'content_block_start',
        {
          type: 'content_block_start',
          index,
          content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} },
        },
      ]);
      for (const part of halves(JSON.stringify(block.input))) {
        events.push([
          'content_block_delta',
          { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: part } },
        ]);
      }
    }
    events.push(['content_block_stop', { type: 'content_block_stop', index }]);
  });
  events.push([
    'message_delta',
    {
      type: 'message_delta',
      delta: { stop_reason, stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    },
  ]);
  events.push(['message_stop', { type: 'message_stop' }]);
  return events;
}

function startStream(res: http.ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    'request-id': `req_fake_${Date.now()}`,
  });
}

function sendStream(
  res: http.ServerResponse,
  message: { content: any[]; usage: any; stop_reason: string; [k: string]: unknown },
): void {
  startStream(res);
  for (const [event, data] of streamEvents(message)) writeEvent(res, event, data);
  res.end();
}

/** The same events, `gapMs` apart, with `pings` keep-alives before the content; stops if the client goes. */
async function sendPacedStream(
  res: http.ServerResponse,
  message: { content: any[]; usage: any; stop_reason: string; [k: string]: unknown },
  gapMs: number,
  pings: number,
): Promise<void> {
  startStream(res);
  for (const [event, data] of streamEvents(message, Math.max(1, pings))) {
    await new Promise((r) => setTimeout(r, gapMs));
    if (res.destroyed) return;
    writeEvent(res, event, data);
  }
  res.end();
}

function halves(s: string): string[] {
  if (s.length < 2) return [s];
  const mid = Math.floor(s.length / 2);
  return [s.slice(0, mid), s.slice(mid)];
}

// ---- script builders -------------------------------------------------------------------------

let toolIds = 0;
const usageOf = (u: Partial<ApiUsage> = {}): ApiUsage => ({
  input_tokens: 100,
  output_tokens: 20,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  ...u,
});

export interface ToolCallSpec {
  name: string;
  input: unknown;
  id?: string;
}

export const reply = {
  /** A turn that calls one tool. */
  toolUse(
    name: string,
    input: unknown,
    opts: { id?: string; text?: string; usage?: Partial<ApiUsage> } = {},
  ): FakeReply {
    return reply.toolUses([{ name, input, id: opts.id }], opts);
  },
  /** A turn that calls several tools. */
  toolUses(calls: ToolCallSpec[], opts: { text?: string; usage?: Partial<ApiUsage> } = {}): FakeReply {
    const content: FakeBlock[] = opts.text ? [{ type: 'text', text: opts.text }] : [];
    for (const c of calls)
      content.push({
        type: 'tool_use',
        id: c.id ?? `toolu_fake${String(++toolIds).padStart(4, '0')}`,
        name: c.name,
        input: c.input,
      });
    return { kind: 'message', content, stop_reason: 'tool_use', usage: usageOf(opts.usage) };
  },
  /** A final (end_turn) text reply. */
  text(text: string, opts: { usage?: Partial<ApiUsage>; stop_reason?: string } = {}): FakeReply {
    return {
      kind: 'message',
      content: [{ type: 'text', text }],
      stop_reason: opts.stop_reason ?? 'end_turn',
      usage: usageOf(opts.usage),
    };
  },
  /** The same reply, streamed slowly: `gapMs` before each event, `pings` keep-alives before the content. */
  paced(r: FakeReply, gapMs: number, pings = 0): FakeReply {
    return { ...r, gapMs, pings };
  },
  /** A final reply ending with an Agent Output Protocol block. */
  aop(
    summary: string,
    status = 'success',
    opts: { before?: string; detailsFile?: string; usage?: Partial<ApiUsage> } = {},
  ): FakeReply {
    const text = `${opts.before ?? 'Done.'}\n\n[AOP:SUMMARY] ${summary}\n[AOP:DETAILS_FILE] ${opts.detailsFile ?? '.claude/cache/agent-outputs/x.json'}\n[AOP:STATUS] ${status}`;
    return reply.text(text, { usage: opts.usage });
  },
};

export const fault = {
  error(
    status: number,
    type: string,
    message: string,
    headers?: Record<string, string>,
    errorCode?: string,
  ): FakeFault {
    return { kind: 'error', status, type, message, headers, errorCode };
  },
  rateLimited(retryAfterSeconds: number): FakeFault {
    return fault.error(429, 'rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit', {
      'retry-after': String(retryAfterSeconds),
    });
  },
  serverError(): FakeFault {
    return fault.error(500, 'api_error', 'Internal server error');
  },
  overloaded(): FakeFault {
    return fault.error(529, 'overloaded_error', 'Overloaded');
  },
  badRequest(message = 'messages: field required'): FakeFault {
    return fault.error(400, 'invalid_request_error', message);
  },
  unauthorized(): FakeFault {
    return fault.error(401, 'authentication_error', 'invalid x-api-key');
  },
  hang(): FakeFault {
    return { kind: 'hang' };
  },
  drop(): FakeFault {
    return { kind: 'drop' };
  },
  streamOverloaded(): FakeFault {
    return { kind: 'stream-error', type: 'overloaded_error', message: 'Overloaded' };
  },
  dropMidStream(): FakeFault {
    return { kind: 'drop-mid-stream' };
  },
  stallMidStream(): FakeFault {
    return { kind: 'stall-mid-stream' };
  },
  /** A live stream that only ever sends keep-alive pings. */
  pingsOnly(everyMs = 200, usage?: Partial<ApiUsage>): FakeFault {
    return { kind: 'pings', everyMs, usage };
  },
};
