/**
 * Secrets in the worker's environment stay there. A real `phaseflow worker` (the CLI, in its own
 * process, started through a shell that keeps the same environment, as `npm run` or a login
 * shell would) runs with planted credentials: an Anthropic key, a GitHub token, AWS keys, a
 * custom password and a DATABASE_URL whose name says nothing but whose value has a password.
 * Two epics run on the real Temporal server: a dry-run one (command task, simulated agent, gate)
 * and a claude one whose agent, scripted through the fake Messages API, runs env, printenv,
 * reads /proc/self/environ, /proc/$PPID/environ, every /proc/<pid>/environ, the worker's own
 * and its parent's, and dotfiles outside the workspace, with Bash and with Read. Afterwards no
 * planted value is in any workflow history of either epic, any file in either workspace
 * (mirrors, details files, transcripts, command logs), the worker's log, or anything the model
 * was sent.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Client } from '@temporalio/client';
import { workflowIds } from '../../src/domain/ids';
import { createLogger } from '../../src/log';
import { sandboxStatus } from '../../src/activities/sandbox';
import type { EpicSpecInput } from '../../src/domain/spec';
import { epicWorkflow } from '../../src/workflows/epic';
import { FakeAnthropic, reply } from '../fake-anthropic/server';
import { AgentScript, historyText } from '../e2e-agents/helpers';
import { testTemporal } from '../support/temporal-server';
import { testClient, uniqueName } from '../support/worker-harness';
import { leaksIn, leaksInFiles, makeArena, plantedSecrets, type Arena } from './helpers';

const ROOT = path.resolve(__dirname, '../..');
const SETTINGS = {
  timeoutBaseSeconds: 30,
  retryBackoffSeconds: 0.2,
  heartbeatSeconds: 10,
  attempts: 1,
  decisionTimeoutSeconds: 1,
};

/** Everything a command can do to find the worker's environment. */
const PROBE = [
  'env',
  'echo ---',
  'printenv',
  'echo ---',
  "tr '\\0' '\\n' < /proc/self/environ",
  'echo ---',
  "tr '\\0' '\\n' < /proc/$PPID/environ",
  'echo ---',
  "for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < \"$f\"; done 2>/dev/null",
  'echo PROBE-DONE',
].join('; ');

function epic(slug: string, workspace: string, agentMode: 'dry-run' | 'claude', plan: string) {
  const tasks: EpicSpecInput['roadmaps'][number]['plans'][number]['phases'][number]['tasks'] = [
    { id: 'env', description: 'print what the environment holds', kind: 'command', command: PROBE },
  ];
  tasks.push(
    agentMode === 'claude'
      ? { id: '1.1', description: 'look for credentials', domain: 'backend', outputType: 'analysis' }
      : { id: 'sim', description: 'simulated', dryRun: { durationMs: 50 } },
  );
  return {
    slug,
    title: `Env secrets (${agentMode})`,
    workspace,
    agentMode,
    settings: SETTINGS,
    roadmaps: [
      {
        slug: 'r',
        title: 'R',
        plans: [
          { slug: plan, title: 'P', phases: [{ slug: 'one', title: 'One', tasks, gate: { commands: [PROBE] } }] },
        ],
      },
    ],
  };
}

interface Worker {
  wrapper: ChildProcess;
  /** The node process running `phaseflow worker` (the wrapper shell's child). */
  pid: number;
  output: () => string;
}

/** `sh -c 'node … worker; exit $?'`: the shell stays, as the worker's parent, with the planted env. */
async function startCliWorker(env: NodeJS.ProcessEnv): Promise<Worker> {
  const wrapper = spawn(
    '/bin/sh',
    [
      '-c',
      `"$0" --require tsx/cjs tests/security/cli-entry.ts worker --log-file "$PHASEFLOW_LOG_FILE"; exit $?`,
      process.execPath,
    ],
    {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  wrapper.stdout!.on('data', (d) => (out += d));
  wrapper.stderr!.on('data', (d) => (out += d));
  const t0 = Date.now();
  while (!/phaseflow worker on/.test(out)) {
    if (wrapper.exitCode !== null || Date.now() - t0 > 90_000) throw new Error(`the worker did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const pid = childOf(wrapper.pid!);
  assert.ok(pid, 'found the worker process');
  return { wrapper, pid, output: () => out };
}

/** The first process whose parent is `ppid` (field 4 of /proc/<pid>/stat). */
function childOf(ppid: number): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) return Number(name);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

async function stopCliWorker(w: Worker): Promise<void> {
  const exited = new Promise((r) => w.wrapper.once('exit', r));
  try {
    process.kill(w.pid, 'SIGTERM');
  } catch {
    /* gone */
  }
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  if (w.wrapper.exitCode === null) w.wrapper.kill('SIGKILL');
}

const environOf = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'latin1');

async function historiesOf(client: Client, slug: string): Promise<{ id: string; text: string }[]> {
  const out: { id: string; text: string }[] = [];
  for await (const w of client.workflow.list({ query: `PhaseflowEpic="${slug}"` })) {
    out.push({
      id: w.workflowId,
      text: historyText(await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory()),
    });
  }
  return out;
}

describe('security: secrets in the worker environment reach no history, file, log or agent shell', function () {
  this.timeout(240_000);
  const planted = plantedSecrets();
  const { needles } = planted;
  let fake: FakeAnthropic;
  let arenas: Arena[];
  let worker: Worker | undefined;
  let home: string;
  let logFile: string;
  const slugs = { dry: uniqueName('sec-env-dry'), claude: uniqueName('sec-env-claude') };
  let environBefore = '';
  let environAfter = '';
  let wrapperEnviron = '';
  let toolResults: { call: string; content: string; isError: boolean }[] = [];
  let results: Record<string, any> = {};

  before(async function () {
    if (process.platform !== 'linux') this.skip();
    fake = await FakeAnthropic.start({ apiKey: planted.env.ANTHROPIC_API_KEY });
    arenas = [await makeArena(), await makeArena()];
    const root = arenas[0].root;
    home = path.join(root, 'home');
    await fs.mkdir(path.join(home, '.aws'), { recursive: true });
    await fs.writeFile(
      path.join(home, '.bashrc'),
      `export MY_SERVICE_PASSWORD=${planted.env.MY_SERVICE_PASSWORD}\nexport DATABASE_URL=${planted.env.DATABASE_URL}\n`,
    );
    await fs.writeFile(
      path.join(home, '.aws', 'credentials'),
      `[default]\naws_access_key_id = ${planted.env.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${planted.env.AWS_SECRET_ACCESS_KEY}\n`,
    );
    logFile = path.join(root, 'worker.log');
    const taskQueue = uniqueName('sec-env-q');
    worker = await startCliWorker({
      ...process.env,
      ...planted.env,
      HOME: home,
      ANTHROPIC_BASE_URL: fake.baseURL,
      TEMPORAL_ADDRESS: testTemporal().address,
      TEMPORAL_NAMESPACE: testTemporal().namespace,
      PHASEFLOW_TASK_QUEUE: taskQueue,
      PHASEFLOW_LOG_FILE: logFile,
      PHASEFLOW_LOG_LEVEL: 'debug',
    });
    environBefore = environOf(worker.pid);
    wrapperEnviron = environOf(worker.wrapper.pid!);

    const bash = (command: string) => ({ name: 'Bash', input: { command } });
    const calls = [
      bash('env'),
      bash('printenv'),
      bash("tr '\\0' '\\n' < /proc/self/environ"),
      bash("tr '\\0' '\\n' < /proc/$PPID/environ"),
      bash("for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < \"$f\"; done 2>/dev/null; echo scanned"),
      bash(`tr '\\0' '\\n' < /proc/${worker.pid}/environ; tr '\\0' '\\n' < /proc/${worker.wrapper.pid}/environ`),
      bash(`cat ~/.bashrc ${home}/.bashrc ${home}/.aws/credentials`),
      { name: 'Read', input: { file_path: path.join(home, '.bashrc') } },
      { name: 'Read', input: { file_path: '~/.bashrc' } },
      { name: 'Grep', input: { pattern: 'PASSWORD', path: home } },
    ];
    const script = new AgentScript(fake).on(
      '1.1',
      reply.toolUses(calls),
      reply.aop('looked everywhere; found no credentials', 'success'),
    );

    const client = await testClient();
    const start = (spec: ReturnType<typeof epic>) =>
      client.workflow.start(epicWorkflow, {
        taskQueue,
        workflowId: workflowIds.epic(spec.slug),
        args: [spec],
        workflowExecutionTimeout: '3 minutes',
      });
    const handles = await Promise.all([
      start(epic(slugs.dry, arenas[0].workspace, 'dry-run', 'dry')),
      start(epic(slugs.claude, arenas[1].workspace, 'claude', 'claude')),
    ]);
    const settled = await Promise.allSettled(handles.map((h) => h.result()));
    results = { dry: settled[0], claude: settled[1] };
    environAfter = environOf(worker.pid);
    const second = script.requests('1.1')[1]?.req.body;
    const last = second?.messages?.[second.messages.length - 1];
    toolResults = (Array.isArray(last?.content) ? last.content : []).map((b: any, i: number) => ({
      call: JSON.stringify(calls[i]),
      content: typeof b.content === 'string' ? b.content : JSON.stringify(b.content),
      isError: b.is_error === true,
    }));
  });

  after(async () => {
    if (worker) await stopCliWorker(worker);
    await fake?.close();
    for (const a of arenas ?? []) await a.cleanup();
  });

  it('both epics complete (the probes ran; the planted API key worked against the fake API)', () => {
    for (const [name, r] of Object.entries(results)) {
      assert.equal(r.status, 'fulfilled', `${name}: ${r.reason?.cause?.message ?? r.reason}\n${worker?.output()}`);
      assert.equal(r.value.status, 'completed', name);
    }
    assert.equal(toolResults.length, 10, 'the agent got every tool result');
  });

  it("the leak path was real: the worker's parent keeps the secrets in its /proc environ (the worker hides its own at start-up)", () => {
    assert.deepEqual(leaksIn(wrapperEnviron, planted.env).sort(), Object.keys(planted.env).sort());
    assert.deepEqual(
      leaksIn(environBefore, planted.env),
      [],
      'phaseflow worker scrubs its environ before anything else',
    );
  });

  it("the worker's own /proc/<pid>/environ does not show them once it has started a child either", () => {
    assert.deepEqual(leaksIn(environAfter, needles), []);
    assert.match(environAfter, /PHASEFLOW_TASK_QUEUE=/, 'the rest of the environment is intact');
  });

  it("the agent's Bash, Read and Grep saw none of them (env, printenv, /proc/*/environ, dotfiles)", () => {
    for (const r of toolResults)
      assert.deepEqual(leaksIn(r.content, needles), [], `${r.call} → ${r.content.slice(0, 300)}`);
    const [env] = toolResults;
    assert.equal(env.isError, false);
    assert.match(
      env.content,
      new RegExp(`^HOME=${arenas[1].workspace}$`, 'm'),
      'the shell ran, with the workspace as HOME',
    );
    const [, , , ppid, all, direct, dotfiles, readAbs, readTilde, grep] = toolResults;
    assert.match(readAbs.content, /resolves outside the workspace/);
    assert.match(readTilde.content, /file not found: ~\/\.bashrc/);
    assert.match(grep.content, /resolves outside the workspace/);
    if (sandboxStatus().workspace !== 'none') {
      // In the sandbox the worker and its parent are not even there; the shell's parent is the
      // sandbox's init, with the same filtered environment.
      assert.match(ppid.content, new RegExp(`^HOME=${arenas[1].workspace}$`, 'm'));
      assert.doesNotMatch(ppid.content, /TEMPORAL_ADDRESS|PHASEFLOW_TASK_QUEUE/);
      assert.match(all.content, /^scanned\n?$/m);
      assert.match(direct.content, /No such file or directory/);
      assert.match(dotfiles.content, /No such file or directory/);
    }
  });

  it('nothing the model was sent holds them', () => {
    assert.ok(fake.messageRequests.length >= 2);
    assert.deepEqual(leaksIn(JSON.stringify(fake.requests.map((r) => [r.headers, r.body])), needles), []);
  });

  it('no workflow history of either epic holds them', async () => {
    const client = await testClient();
    for (const slug of Object.values(slugs)) {
      const histories = await historiesOf(client, slug);
      assert.ok(histories.length >= 4, `${slug}: epic, roadmap, plan and phase (got ${histories.map((h) => h.id)})`);
      for (const h of histories) assert.deepEqual(leaksIn(h.text, needles), [], h.id);
      // The command's excerpt did reach history (so the check looked at real output).
      assert.ok(
        histories.some((h) => h.text.includes('PROBE-DONE')),
        `${slug}: no command excerpt in history`,
      );
    }
  });

  it('no file in either workspace holds them (mirrors, details, transcripts, command logs)', async () => {
    for (const a of arenas) {
      assert.deepEqual(await leaksInFiles(a.workspace, needles), []);
      const logs = await fs.readdir(path.join(a.workspace, '.claude/cache/logs'));
      assert.ok(logs.length >= 2, `command and gate logs: ${logs}`);
      const log = await fs.readFile(
        path.join(
          a.workspace,
          '.claude/cache/logs',
          logs.find((l) => l.includes('--env-'))!,
        ),
        'utf8',
      );
      assert.match(log, /^PATH=/m, 'the command printed its environment');
      assert.match(log, /PROBE-DONE/);
    }
    const transcript = await fs.readFile(
      path.join(arenas[1].workspace, '.claude/cache/transcripts/claude--1.1.jsonl'),
      'utf8',
    );
    assert.match(transcript, /HOME=/, 'the transcript holds the tool results that were checked');
  });

  it("the worker's log holds none of them", async () => {
    const log = await fs.readFile(logFile, 'utf8');
    assert.ok(log.length > 0, 'the worker logged');
    assert.deepEqual(leaksIn(log, needles), []);
  });
});

describe('security: the worker log redacts credentials wherever they appear', () => {
  it('by environment value (any key, inside messages and errors) and by shape', async () => {
    const planted = plantedSecrets();
    const arena = await makeArena();
    const saved = { ...process.env };
    Object.assign(process.env, planted.env);
    try {
      const file = path.join(arena.root, 'x.log');
      const log = createLogger({ name: 'sec', file });
      const shaped = `ghp_${'Z9'.repeat(18)}`;
      log.info(
        { db: planted.env.DATABASE_URL, nested: { note: `pw is ${planted.env.MY_SERVICE_PASSWORD}` } },
        `connecting with ${planted.env.GITHUB_TOKEN}`,
      );
      log.warn({ err: new Error(`401: invalid x-api-key ${planted.env.ANTHROPIC_API_KEY}`) }, 'request failed');
      log.error(
        { headers: { authorization: `Bearer ${planted.env.AWS_SECRET_ACCESS_KEY}` } },
        `a token in a message: ${shaped}`,
      );
      await new Promise<void>((resolve) => log.flush(() => resolve()));
      await new Promise((r) => setTimeout(r, 100));
      const text = await fs.readFile(file, 'utf8');
      assert.equal(text.trim().split('\n').length, 3);
      assert.deepEqual(leaksIn(text, planted.needles), []);
      assert.ok(!text.includes(shaped), text);
      assert.match(text, /\[redacted\]/);
      assert.match(text, /\[redacted github-token\]/);
    } finally {
      for (const k of Object.keys(planted.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
      await arena.cleanup();
    }
  });
});

describe('security: why the sandbox matters (what a shell could read without it)', function () {
  this.timeout(60_000);

  it("with PHASEFLOW_SANDBOX=off a command reads its ancestors' environment; in the sandbox it cannot", function () {
    if (sandboxStatus().processes === 'none') this.skip();
    const secret = `pw-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    // A parent holding a secret in its environment (a user's shell), running a node that runs a command.
    const script = `
      const { runShell } = require(${JSON.stringify(path.join(ROOT, 'src/activities/shell.ts'))});
      runShell('for f in /proc/[0-9]*/environ; do tr "\\\\0" "\\\\n" < "$f"; done 2>/dev/null; echo done', { cwd: process.cwd(), timeoutMs: 10000, logFile: ${JSON.stringify('/dev/null')}, excerptChars: 100000 })
        .then((r) => console.log(JSON.stringify(r.excerpt)));`;
    const run = (sandbox: string) =>
      spawnSync('/bin/sh', ['-c', `"$0" --require tsx/cjs -e "$1"; exit $?`, process.execPath, script], {
        cwd: ROOT,
        env: { ...process.env, MY_SERVICE_PASSWORD: secret, PHASEFLOW_SANDBOX: sandbox },
        encoding: 'utf8',
        timeout: 30_000,
      });
    const off = run('off');
    const on = run('auto');
    assert.equal(off.status, 0, off.stderr);
    assert.equal(on.status, 0, on.stderr);
    // Unsandboxed, the wrapper shell's environment is readable (the excerpt redaction catches the
    // value only because the worker knows it; a secret only the parent had would go through).
    assert.match(JSON.parse(off.stdout), /MY_SERVICE_PASSWORD=\[redacted\]/);
    assert.doesNotMatch(JSON.parse(on.stdout), /MY_SERVICE_PASSWORD/);
    assert.ok(!on.stdout.includes(secret) && !off.stdout.includes(secret));
  });
});
