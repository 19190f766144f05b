/**
 * A fake of the part of GitHub's REST API phaseflow uses, on 127.0.0.1, for @octokit/rest to talk
 * to over HTTP (set GITHUB_API_URL to `fake.url`): repositories, issues (create, get, list, edit,
 * close), issue comments (list with per_page/page and a Link header, create, edit), issue labels
 * (set), collaborator permissions, and pull requests (list by head, create). It checks the token
 * (`authorization: token …`, 401 otherwise), answers 404 for unknown repositories, and can answer
 * the next requests with a rate limit: 403 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset`,
 * or 429 with `retry-after`. It records every request (method, path, body; the credential only as
 * whether it was right) and can hold a response after its effect is made (to kill a worker then).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeUser {
  login: string;
  id: number;
  type: 'User';
}

export interface FakeComment {
  id: number;
  node_id: string;
  url: string;
  html_url: string;
  issue_url: string;
  body: string;
  user: FakeUser;
  created_at: string;
  updated_at: string;
}

export interface FakeIssue {
  id: number;
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  state_reason: string | null;
  labels: { id: number; name: string }[];
  user: FakeUser;
  html_url: string;
  url: string;
  comments: number;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

export interface FakePull {
  id: number;
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  head: { ref: string; label: string };
  base: { ref: string };
  html_url: string;
}

interface FakeRepo {
  owner: string;
  name: string;
  defaultBranch: string;
  issues: FakeIssue[];
  comments: Map<number, FakeComment[]>;
  pulls: FakePull[];
  permissions: Map<string, Role>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: any;
  /** Whether the request carried the right token (the token itself is not kept). */
  authorized: boolean;
  headers: Record<string, string>;
  at: number;
}

/** A collaborator's role, as the repository settings name it. */
export type Role = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';

type RateLimit = { status: 403 | 429; retryAfterSeconds: number };

export class FakeGitHub {
  readonly requests: RecordedRequest[] = [];
  /** Bot login the token belongs to (comments phaseflow posts are its). */
  readonly botLogin = 'phaseflow-bot';
  private readonly repos = new Map<string, FakeRepo>();
  private server?: http.Server;
  private port = 0;
  private nextId = 1000;
  private rateLimits: RateLimit[] = [];
  /** Called after a request's effect is made; a returned promise holds the response until it settles. */
  holdAfter?: (req: RecordedRequest, result: any) => Promise<void> | undefined;

  constructor(readonly token: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  addRepo(owner: string, name: string, defaultBranch = 'main'): void {
    this.repos.set(`${owner}/${name}`, {
      owner,
      name,
      defaultBranch,
      issues: [],
      comments: new Map(),
      pulls: [],
      permissions: new Map([[this.botLogin, 'admin']]),
    });
  }

  setPermission(owner: string, repo: string, login: string, permission: Role): void {
    this.repo(owner, repo).permissions.set(login, permission);
  }

  /** The next `count` requests are answered with a rate limit. */
  rateLimitNext(count: number, status: 403 | 429, retryAfterSeconds: number): void {
    for (let i = 0; i < count; i++) this.rateLimits.push({ status, retryAfterSeconds });
  }

  issues(owner: string, repo: string): FakeIssue[] {
    return this.repo(owner, repo).issues;
  }

  comments(owner: string, repo: string, issue: number): FakeComment[] {
    return this.repo(owner, repo).comments.get(issue) ?? [];
  }

  pulls(owner: string, repo: string): FakePull[] {
    return this.repo(owner, repo).pulls;
  }

  /** Creates an issue directly (as a person would). */
  openIssue(owner: string, repo: string, title: string, body = ''): FakeIssue {
    return this.createIssue(this.repo(owner, repo), { title, body }, 'someone');
  }

  /** A comment by a person (not through the API). */
  comment(owner: string, repo: string, issue: number, login: string, body: string): FakeComment {
    return this.createComment(this.repo(owner, repo), issue, login, body);
  }

  private repo(owner: string, name: string): FakeRepo {
    const r = this.repos.get(`${owner}/${name}`);
    if (!r) throw new Error(`fake GitHub: no repository ${owner}/${name}`);
    return r;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.url);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (k !== 'authorization') headers[k] = String(v);
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: raw ? safeJson(raw) : undefined,
      authorized: req.headers.authorization === `token ${this.token}`,
      headers,
      at: Date.now(),
    };
    this.requests.push(recorded);
    const send = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...extra });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    if (!recorded.authorized)
      return send(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    const limit = this.rateLimits.shift();
    if (limit) {
      const reset = Math.ceil(Date.now() / 1000) + limit.retryAfterSeconds;
      return limit.status === 403
        ? send(
            403,
            { message: 'API rate limit exceeded for user.', documentation_url: 'https://docs.github.com/rest' },
            { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
          )
        : send(
            429,
            { message: 'You have exceeded a secondary rate limit.' },
            { 'retry-after': String(limit.retryAfterSeconds) },
          );
    }
    try {
      const [status, body, extra] = this.route(recorded, url);
      const hold = this.holdAfter?.(recorded, body);
      if (hold) await hold;
      send(status, body, extra);
    } catch (err) {
      send(404, { message: `Not Found (${(err as Error).message})` });
    }
  }

  private route(r: RecordedRequest, url: URL): [number, unknown, Record<string, string>?] {
    if (r.method === 'GET' && r.path === '/user') return [200, user(this.botLogin)];
    const m = r.path.match(/^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/);
    if (!m) throw new Error('unknown path');
    const repo = this.repo(decodeURIComponent(m[1]), decodeURIComponent(m[2]));
    const rest = m[3] ?? '';
    const key = `${r.method} ${rest.replace(/\/\d+/g, '/N').replace(/\/collaborators\/[^/]+/, '/collaborators/U')}`;
    const num = (i: number) => Number(rest.split('/')[i]);
    switch (key) {
      case 'GET ':
        return [200, { name: repo.name, full_name: `${repo.owner}/${repo.name}`, default_branch: repo.defaultBranch }];
      case 'POST /issues':
        return [201, this.createIssue(repo, r.body, this.botLogin)];
      case 'GET /issues': {
        let list = repo.issues.slice().sort((a, b) => b.number - a.number);
        const state = r.query.state ?? 'open';
        if (state !== 'all') list = list.filter((i) => i.state === state);
        if (r.query.labels) {
          const want = r.query.labels.split(',');
          list = list.filter((i) => want.every((w) => i.labels.some((l) => l.name === w)));
        }
        return this.page(list, r, url);
      }
      case 'GET /issues/N':
        return [200, this.issue(repo, num(2))];
      case 'PATCH /issues/N': {
        const issue = this.issue(repo, num(2));
        if (r.body.title !== undefined) issue.title = r.body.title;
        if (r.body.body !== undefined) issue.body = r.body.body;
        if (r.body.state) {
          issue.state = r.body.state;
          issue.state_reason = r.body.state === 'closed' ? (r.body.state_reason ?? 'completed') : null;
          issue.closed_at = r.body.state === 'closed' ? new Date().toISOString() : null;
        }
        if (r.body.labels) issue.labels = r.body.labels.map((n: string) => this.label(n));
        issue.updated_at = new Date().toISOString();
        return [200, issue];
      }
      case 'PUT /issues/N/labels': {
        const issue = this.issue(repo, num(2));
        issue.labels = (r.body.labels as string[]).map((n) => this.label(n));
        return [200, issue.labels];
      }
      case 'GET /issues/N/comments':
        this.issue(repo, num(2));
        return this.page(repo.comments.get(num(2)) ?? [], r, url);
      case 'POST /issues/N/comments':
        this.issue(repo, num(2));
        return [201, this.createComment(repo, num(2), this.botLogin, r.body.body)];
      case 'PATCH /issues/comments/N': {
        const id = num(3);
        const c = [...repo.comments.values()].flat().find((x) => x.id === id);
        if (!c) throw new Error(`no comment ${id}`);
        c.body = r.body.body;
        c.updated_at = new Date().toISOString();
        return [200, c];
      }
      case 'GET /collaborators/U/permission': {
        const login = decodeURIComponent(rest.split('/')[2]);
        const role = repo.permissions.get(login) ?? 'none';
        if (role === 'none') throw new Error(`${login} is not a collaborator`);
        // As GitHub answers: `permission` is admin, write or read; `role_name` says maintain or triage.
        const permission = role === 'maintain' ? 'write' : role === 'triage' ? 'read' : role;
        return [200, { permission, role_name: role, user: user(login) }];
      }
      case 'GET /pulls': {
        let list = repo.pulls.slice();
        if (r.query.head) list = list.filter((p) => p.head.label === r.query.head);
        if ((r.query.state ?? 'open') !== 'all') list = list.filter((p) => p.state === (r.query.state ?? 'open'));
        return this.page(list, r, url);
      }
      case 'POST /pulls': {
        const number = this.nextNumber(repo);
        const pull: FakePull = {
          id: this.nextId++,
          number,
          title: r.body.title,
          body: r.body.body ?? '',
          state: 'open',
          head: { ref: r.body.head, label: `${repo.owner}:${r.body.head}` },
          base: { ref: r.body.base },
          html_url: `https://github.example/${repo.owner}/${repo.name}/pull/${number}`,
        };
        repo.pulls.push(pull);
        return [201, pull];
      }
      default:
        throw new Error(`unknown route ${key}`);
    }
  }

  /** GitHub's pagination: `per_page` (default 30, at most 100), `page`, and a Link header to the next and last pages. */
  private page(list: unknown[], r: RecordedRequest, url: URL): [number, unknown, Record<string, string>] {
    const per = Math.min(100, Number(r.query.per_page ?? 30));
    const page = Number(r.query.page ?? 1);
    const last = Math.max(1, Math.ceil(list.length / per));
    const link = (p: number, rel: string) => {
      const u = new URL(url);
      u.searchParams.set('page', String(p));
      u.searchParams.set('per_page', String(per));
      return `<${u.toString()}>; rel="${rel}"`;
    };
    const links = [...(page < last ? [link(page + 1, 'next'), link(last, 'last')] : [])];
    return [200, list.slice((page - 1) * per, page * per), links.length ? { link: links.join(', ') } : {}];
  }

  private createIssue(repo: FakeRepo, body: any, login: string): FakeIssue {
    const number = this.nextNumber(repo);
    const now = new Date().toISOString();
    const issue: FakeIssue = {
      id: this.nextId++,
      number,
      title: body.title,
      body: body.body ?? '',
      state: 'open',
      state_reason: null,
      labels: (body.labels ?? []).map((n: string) => this.label(n)),
      user: user(login),
      html_url: `https://github.example/${repo.owner}/${repo.name}/issues/${number}`,
      url: `${this.url}/repos/${repo.owner}/${repo.name}/issues/${number}`,
      comments: 0,
      created_at: now,
      updated_at: now,
      closed_at: null,
    };
    repo.issues.push(issue);
    return issue;
  }

  private createComment(repo: FakeRepo, issue: number, login: string, body: string): FakeComment {
    const i = this.issue(repo, issue);
    const id = this.nextId++;
    const now = new Date().toISOString();
    const c: FakeComment = {
      id,
      node_id: `IC_${id}`,
      url: `${this.url}/repos/${repo.owner}/${repo.name}/issues/comments/${id}`,
      html_url: `${i.html_url}#issuecomment-${id}`,
      issue_url: i.url,
      body,
      user: user(login),
      created_at: now,
      updated_at: now,
    };
    const list = repo.comments.get(issue) ?? [];
    list.push(c);
    repo.comments.set(issue, list);
    i.comments = list.length;
    return c;
  }

  private issue(repo: FakeRepo, number: number): FakeIssue {
    const i = repo.issues.find((x) => x.number === number);
    if (!i) throw new Error(`no issue ${number}`);
    return i;
  }

  private nextNumber(repo: FakeRepo): number {
    return repo.issues.length + repo.pulls.length + 1;
  }

  private label(name: string): { id: number; name: string } {
    return { id: [...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7), name };
  }
}

const user = (login: string): FakeUser => ({
  login,
  id: [...login].reduce((h, c) => h + c.charCodeAt(0), 0),
  type: 'User',
});

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
