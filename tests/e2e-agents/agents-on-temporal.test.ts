/**
 * Agents on Temporal, end to end: the real dev server, the real worker (src/worker.ts) and
 * workflows, the real agent activity (runClaudeAgent via runAgentTask, agentMode 'claude') and
 * the real Anthropic SDK, talking to the fake Messages API (tests/fake-anthropic/server.ts).
 */
import { temporal } from '@temporalio/proto';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { workflowIds } from '../../src/domain/ids';
import { detailsFilePath, transcriptPath } from '../../src/domain/paths';
import { epicWorkflow } from '../../src/workflows/epic';
import { fault, reply, type ApiUsage, type FakeReply } from '../fake-anthropic/server';
import {
  activities,
  agentEpic,
  AgentScript,
  failureChain,
  history,
  historyBytes,
  historyJson,
  historyText,
  ids,
  isWorkflowFailed,
  mirrors,
  phaseWorkflowId,
  readJson,
  runEpicInProcess,
  startWorkerProcess,
  useWorkerProcesses,
  TEST_KEY,
  timers,
  toolResultIds,
  toolUseIds,
  uniqueSlug,
  useE2eRig,
} from './helpers';

const usage = (
  input_tokens: number,
  output_tokens: number,
  cache_creation_input_tokens = 0,
  cache_read_input_tokens = 0,
): Partial<ApiUsage> => ({
  input_tokens,
  output_tokens,
  cache_creation_input_tokens,
  cache_read_input_tokens,
});

/** PROGRESS.json / mirror usage shape. */
const usageDoc = (input: number, output: number, cacheWrite: number, cacheRead: number, costUsd: number) => ({
  input_tokens: input,
  output_tokens: output,
  cache_write_tokens: cacheWrite,
  cache_read_tokens: cacheRead,
  cost_usd: costUsd,
});

const textOf = (r: FakeReply) => r.content.map((b) => (b.type === 'text' ? b.text : '')).join('');

/** What capSummary must produce: the first cap-1 code points, trimmed, and an ellipsis. */
const capped = (s: string, cap: number) =>
  [...s].length <= cap
    ? s
    : `${[...s]
        .slice(0, cap - 1)
        .join('')
        .trimEnd()}…`;

describe('agents on Temporal (real server, worker and SDK against the fake Messages API)', function () {
  this.timeout(90_000);

  // ---------------------------------------------------------------------------------------------
  describe('1 + 5. an epic of agent tasks (2 phases, 3 tasks) runs end to end', () => {
    // One run, made in the before hook below; every test checks it.
    const rig = useE2eRig('all');
    const slug = uniqueSlug('e2e-full');
    const plan = 'greeter';
    const roadmap = 'mvp';
    let script: AgentScript;
    let run: Awaited<ReturnType<typeof runEpicInProcess>>;

    const GREET_V1 = 'export function greet(name: string): string {\n  return `Hello, ${name}!`;\n}\n';
    const GREET_V2 = 'export function greet(name: string): string {\n  return `Hello, ${name.trim()}!`;\n}\n';
    const TEST_FILE =
      "import { greet } from '../src/greet';\n\nif (greet(' Ada ') !== 'Hello, Ada!') throw new Error('greet');\n";
    const ANALYSIS = '# Analysis\n\nThe greeting module has one pure function; no I/O, no state.\n';

    // 1.1 (code, cap 300): its summary is far longer than its cap.
    const SUMMARY_1_1 =
      'Created src/greet.ts exporting greet(name), which returns "Hello, <name>!". ' +
      Array.from(
        { length: 6 },
        (_, i) => `Decision ${i + 1}: kept greet pure and typed so that later phases can test it without any setup.`,
      ).join(' ');
    // 1.2 (analysis, cap 800): longer than the code cap, within its own.
    const SUMMARY_1_2 =
      'Analysed the greeting module and wrote docs/analysis.md. ' +
      Array.from(
        { length: 5 },
        (_, i) =>
          `Finding ${i + 1}: the module is a single pure function with no state, so it is safe to call concurrently.`,
      ).join(' ');
    const SUMMARY_2_1 = 'Trimmed the name in greet and added tests/greet.test.ts covering padded input.';

    const FINAL_1_1 = reply.aop(SUMMARY_1_1, 'success', {
      before: 'I created the greeting module as asked.',
      usage: usage(150, 420, 0, 2000),
    });
    const FINAL_1_2 = reply.aop(SUMMARY_1_2, 'success', {
      before: 'Analysis written.',
      usage: usage(200, 900, 0, 4000),
    });
    const FINAL_2_1 = reply.aop(SUMMARY_2_1, 'success', { usage: usage(100, 250, 0, 3000) });

    before(async function () {
      script = new AgentScript(rig.fake)
        // Phase 1, in parallel.
        .on(
          '1.1',
          reply.toolUse(
            'Write',
            { file_path: 'src/greet.ts', content: GREET_V1 },
            { id: 'toolu_w11', usage: usage(1200, 300, 800, 0) },
          ),
          FINAL_1_1,
        )
        .on(
          '1.2',
          reply.toolUse(
            'Write',
            { file_path: 'docs/analysis.md', content: ANALYSIS },
            { id: 'toolu_w12', usage: usage(3000, 500, 1000, 0) },
          ),
          FINAL_1_2,
        )
        // Phase 2: edits what phase 1 wrote.
        .on(
          '2.1',
          reply.toolUse(
            'Edit',
            {
              file_path: 'src/greet.ts',
              old_string: 'return `Hello, ${name}!`;',
              new_string: 'return `Hello, ${name.trim()}!`;',
            },
            { id: 'toolu_e21', usage: usage(500, 100, 2000, 0) },
          ),
          reply.toolUse(
            'Write',
            { file_path: 'tests/greet.test.ts', content: TEST_FILE },
            { id: 'toolu_w21', usage: usage(300, 600, 0, 2500) },
          ),
          FINAL_2_1,
        );
      const spec = agentEpic({
        slug,
        workspace: rig.ws.dir,
        roadmap,
        plan,
        phases: [
          {
            slug: 'core',
            tasks: [
              { id: '1.1', outputType: 'code', complexity: 'default', files: ['src/greet.ts'] }, // sonnet → claude-sonnet-5-5
              { id: '1.2', outputType: 'analysis', complexity: 'simple', domain: 'general' }, // haiku → claude-haiku-5-5
            ],
          },
          { slug: 'tests', tasks: [{ id: '2.1', outputType: 'tests', complexity: 'complex', domain: 'testing' }] }, // opus → claude-opus-5-5
        ],
      });
      run = await runEpicInProcess(rig.client, spec, `e2e-full-${slug}`);
    });

    it('completes, every scripted turn consumed, phases in order', () => {
      assert.equal(run.error, undefined, failureChain(run.error));
      assert.equal(rig.fake.pending, 0);
      for (const id of ['1.1', '1.2', '2.1']) assert.equal(script.left(id), 0, `task ${id} left steps unused`);
      assert.equal(script.seen.length, 7);
      // Phase 2 starts only after both phase-1 tasks finished.
      const lastPhase1 = Math.max(...script.seen.filter((s) => s.taskId !== '2.1').map((s) => s.at));
      assert.ok(script.requests('2.1')[0].at >= lastPhase1);
      // The tool results went back to the model.
      assert.deepEqual(toolResultIds(script.requests('1.1')[1].req.body), ['toolu_w11']);
      assert.deepEqual(toolResultIds(script.requests('2.1')[2].req.body), ['toolu_e21', 'toolu_w21']);
    });

    it("the agents' Write/Edit calls changed the workspace", async () => {
      assert.equal(await fs.readFile(path.join(rig.ws.dir, 'src/greet.ts'), 'utf8'), GREET_V2);
      assert.equal(await fs.readFile(path.join(rig.ws.dir, 'tests/greet.test.ts'), 'utf8'), TEST_FILE);
      assert.equal(await fs.readFile(path.join(rig.ws.dir, 'docs/analysis.md'), 'utf8'), ANALYSIS);
    });

    it('AOP summaries land in PROGRESS.json within their caps (code 300, analysis 800, tests 400)', async () => {
      const progress = await mirrors.progress(rig.ws.dir, plan);
      assert.equal(progress.status, 'completed');
      const [t11, t12] = progress.phases[0].tasks;
      const [t21] = progress.phases[1].tasks;
      assert.ok([...SUMMARY_1_1].length > 300 && [...SUMMARY_1_2].length > 300 && [...SUMMARY_1_2].length <= 800);
      assert.equal(t11.summary, capped(SUMMARY_1_1, 300));
      assert.ok([...t11.summary].length <= 300 && t11.summary.endsWith('…'), t11.summary);
      assert.ok(SUMMARY_1_1.startsWith(t11.summary.slice(0, -1)));
      assert.equal(t12.summary, SUMMARY_1_2, 'an analysis summary under 800 characters is kept whole');
      assert.equal(t21.summary, SUMMARY_2_1);
      for (const t of [t11, t12, t21]) {
        assert.equal(t.status, 'completed');
        assert.equal(t.attempts, 1);
        assert.equal(t.details_file, detailsFilePath(plan, t.id, 1));
      }
    });

    it('the details files hold the full final text, the full summary and the tool calls', async () => {
      const d11 = await readJson(path.join(rig.ws.dir, detailsFilePath(plan, '1.1', 1)));
      assert.equal(d11.finalText, textOf(FINAL_1_1));
      assert.equal(d11.fullSummary, SUMMARY_1_1);
      assert.equal(d11.summary, capped(SUMMARY_1_1, 300));
      assert.equal(d11.status, 'success');
      assert.equal(d11.model, 'claude-sonnet-5-5');
      assert.deepEqual(
        d11.toolCalls.map((c: any) => [c.turn, c.name, c.id, c.input.file_path, c.isError]),
        [[1, 'Write', 'toolu_w11', 'src/greet.ts', false]],
      );
      assert.deepEqual(d11.filesChanged, ['src/greet.ts']);

      const d21 = await readJson(path.join(rig.ws.dir, detailsFilePath(plan, '2.1', 1)));
      assert.equal(d21.finalText, textOf(FINAL_2_1));
      assert.deepEqual(
        d21.toolCalls.map((c: any) => [c.turn, c.name, c.input.file_path, c.isError]),
        [
          [1, 'Edit', 'src/greet.ts', false],
          [2, 'Write', 'tests/greet.test.ts', false],
        ],
      );
      assert.equal(d21.toolCalls[0].input.old_string, 'return `Hello, ${name}!`;');
      assert.deepEqual(d21.filesChanged, ['src/greet.ts', 'tests/greet.test.ts']);
      assert.equal(d21.calls.length, 3);

      const d12 = await readJson(path.join(rig.ws.dir, detailsFilePath(plan, '1.2', 1)));
      assert.equal(d12.finalText, textOf(FINAL_1_2));
      assert.equal(d12.model, 'claude-haiku-5-5');
    });

    // Prices (src/domain/models.ts, USD per MTok; cache write 1.25x input, cache read 0.1x input):
    //   claude-sonnet-5-5 in 2 / out 10, claude-haiku-5-5 in 0.1 / out 0.5, claude-opus-5-5 in 4 / out 20.
    // Task 1.1 (sonnet):
    //   call 1: in 1200, out 300, cw 800        → 1200*2 + 800*2.5 + 300*10          = 7400  µ$ = 0.0074
    //   call 2: in 150,  out 420, cr 2000       → 150*2 + 2000*0.2 + 420*10          = 4900  µ$ = 0.0049
    //   total   in 1350, out 720, cw 800, cr 2000                                     = 0.0123
    // Task 1.2 (haiku):
    //   call 1: in 3000, out 500, cw 1000       → 3000*0.1 + 1000*0.125 + 500*0.5    = 675   µ$
    //   call 2: in 200,  out 900, cr 4000       → 200*0.1 + 4000*0.01 + 900*0.5      = 510   µ$
    //   total   in 3200, out 1400, cw 1000, cr 4000                                   = 0.001185
    // Task 2.1 (opus):
    //   call 1: in 500, out 100, cw 2000        → 500*4 + 2000*5 + 100*20            = 14000 µ$
    //   call 2: in 300, out 600, cr 2500        → 300*4 + 2500*0.4 + 600*20          = 14200 µ$
    //   call 3: in 100, out 250, cr 3000        → 100*4 + 3000*0.4 + 250*20          = 6600  µ$
    //   total   in 900, out 950, cw 2000, cr 5500                                     = 0.0348
    // Phase 1 = 1.1 + 1.2: in 4550, out 2120, cw 1800, cr 6000, $0.013485
    // Phase 2 = 2.1.      Epic: in 5450, out 3070, cw 3800, cr 11500 = 23820 tokens, $0.048285
    const T11 = usageDoc(1350, 720, 800, 2000, 0.0123);
    const T12 = usageDoc(3200, 1400, 1000, 4000, 0.001185);
    const T21 = usageDoc(900, 950, 2000, 5500, 0.0348);
    const P1 = usageDoc(4550, 2120, 1800, 6000, 0.013485);
    const TOTAL = usageDoc(5450, 3070, 3800, 11500, 0.048285);

    it('5. usage and cost roll up exactly: task = its calls, phase = its tasks, roadmap and epic = totals', async () => {
      const progress = await mirrors.progress(rig.ws.dir, plan);
      assert.deepEqual(progress.phases[0].tasks[0].usage, T11);
      assert.deepEqual(progress.phases[0].tasks[1].usage, T12);
      assert.deepEqual(progress.phases[1].tasks[0].usage, T21);
      assert.deepEqual(progress.phases[0].usage, P1);
      assert.deepEqual(progress.phases[1].usage, T21);
      assert.deepEqual(progress.phaseflow.usage, TOTAL);

      const rm = await mirrors.roadmap(rig.ws.dir, roadmap);
      assert.equal(rm.status, 'completed');
      assert.deepEqual(rm.phaseflow.usage, TOTAL);
      assert.equal(rm.token_allocation.used, 23820);

      const epic = await mirrors.epic(rig.ws.dir, slug);
      assert.equal(epic.status, 'completed');
      assert.equal(epic.token_budget.used_tokens, 23820);
      assert.equal(epic.token_budget.used_usd, 0.048285);
      assert.deepEqual(epic.phaseflow.usage, TOTAL);

      // The details files agree with the mirrors.
      const d11 = await readJson(path.join(rig.ws.dir, detailsFilePath(plan, '1.1', 1)));
      assert.deepEqual(d11.usage, {
        inputTokens: 1350,
        outputTokens: 720,
        cacheWriteTokens: 800,
        cacheReadTokens: 2000,
        costUsd: 0.0123,
      });
      assert.deepEqual(
        d11.calls.map((c: any) => c.usage.costUsd),
        [0.0074, 0.0049],
      );
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('2 + 3. the attempt ladder', () => {
    const rig = useE2eRig();

    it('2. the time limit grows 1.5x per attempt (8 s, 12 s): a hang uses attempt 1, a 529 is waited out within attempt 2', async () => {
      const slug = uniqueSlug('e2e-ladder');
      const script = new AgentScript(rig.fake).on(
        '1.1',
        fault.hang(), // attempt 1: never answers, past the 8 s limit: the agent's failure
        fault.error(529, 'overloaded_error', 'Overloaded', { 'retry-after': '1' }), // attempt 2: API weather, waited out
        reply.toolUse('Write', { file_path: 'ladder.txt', content: 'second time lucky\n' }, { id: 'toolu_l1' }),
        reply.aop('Wrote ladder.txt on the second attempt.'),
      );
      const spec = agentEpic({ slug, workspace: rig.ws.dir, phases: [{ slug: 'only', tasks: [{ id: '1.1' }] }] });
      const run = await runEpicInProcess(rig.client, spec, `e2e-ladder-${slug}`);
      assert.equal(run.error, undefined, failureChain(run.error));
      assert.equal(script.left('1.1'), 0);

      const acts = activities(await history(rig.client, phaseWorkflowId(spec)), 'runAgentTask');
      // Start-to-close leaves room for API waits (apiOutageSeconds, default 1800 s, + 30 s to
      // report) on top of the ladder's limit, which the agent keeps itself (input.timeoutMs).
      assert.deepEqual(
        acts.map((a) => a.startToCloseMs),
        [8_000 + 1_830_000, 12_000 + 1_830_000],
      );
      assert.deepEqual(
        acts.map((a) => a.heartbeatMs),
        [5_000, 5_000],
      );
      assert.deepEqual(
        acts.map((a) => [a.input.attempt, a.input.timeoutMs, a.input.reducedTools]),
        [
          [1, 8_000, false],
          [2, 12_000, true],
        ],
      );
      assert.deepEqual(
        acts.map((a) => a.end),
        ['failed', 'completed'],
      );
      // Attempt 1 ran into its limit (the activity stops itself just before it).
      assert.ok(
        acts[0].endedAt! - acts[0].scheduledAt >= 7_000,
        `attempt 1 lasted ${acts[0].endedAt! - acts[0].scheduledAt} ms`,
      );
      assert.match(acts[0].failure?.message ?? '', /time limit \(8000 ms\)/);
      assert.equal(await fs.readFile(path.join(rig.ws.dir, 'ladder.txt'), 'utf8'), 'second time lucky\n');

      const progress = await mirrors.progress(rig.ws.dir, 'greeter');
      assert.equal(progress.phases[0].tasks[0].status, 'completed');
      assert.equal(progress.phases[0].tasks[0].attempts, 2);
      assert.equal(progress.phases[0].tasks[0].api_retries, 1);
    });

    it('3. a 429 with retry-after: the same attempt sends its next request no earlier than retry-after later (no usage lost or doubled)', async () => {
      const slug = uniqueSlug('e2e-429');
      const RETRY_AFTER_S = 3;
      const script = new AgentScript(rig.fake).on(
        '1.1',
        // Turn 1 works, turn 2 is rate limited, then turn 2 again.
        reply.toolUse(
          'Write',
          { file_path: 'rate.txt', content: 'limited\n' },
          { id: 'toolu_r1', usage: usage(1000, 100) },
        ),
        fault.rateLimited(RETRY_AFTER_S),
        reply.aop('Done after the rate limit.', 'success', { usage: usage(2000, 200, 0, 1000) }),
      );
      const spec = agentEpic({ slug, workspace: rig.ws.dir, phases: [{ slug: 'only', tasks: [{ id: '1.1' }] }] });
      const run = await runEpicInProcess(rig.client, spec, `e2e-429-${slug}`);
      assert.equal(run.error, undefined, failureChain(run.error));
      assert.equal(script.left('1.1'), 0);

      const h = await history(rig.client, phaseWorkflowId(spec));
      const acts = activities(h, 'runAgentTask');
      // One attempt: the wait happened inside it, not as a workflow timer and a new attempt.
      assert.equal(acts.length, 1);
      assert.equal(acts[0].end, 'completed');
      assert.equal(acts[0].input.attempt, 1);
      assert.deepEqual(timers(h), []);
      // The fake saw the next request no earlier; it repeated turn 2 of the same conversation.
      const [, limited, next] = script.requests('1.1');
      assert.equal(limited.served, 'error');
      assert.ok(next.at - limited.at >= RETRY_AFTER_S * 1000, `requests ${next.at - limited.at} ms apart`);
      assert.deepEqual(next.req.body.messages, limited.req.body.messages);
      assert.deepEqual(toolResultIds(next.req.body), ['toolu_r1']);

      // claude-sonnet-5-5 (in 2, out 10 $/MTok): turn 1 in 1000 out 100 → 3000 µ$; turn 2 in 2000
      // out 200 cache-read 1000 → 4000 + 2000 + 200 = 6200 µ$.
      const progress = await mirrors.progress(rig.ws.dir, 'greeter');
      assert.deepEqual(progress.phases[0].tasks[0].usage, usageDoc(3000, 300, 0, 1000, 0.0092));
      assert.deepEqual(progress.phaseflow.usage, usageDoc(3000, 300, 0, 1000, 0.0092));
      assert.equal(progress.phases[0].tasks[0].attempts, 1);
      assert.equal(progress.phases[0].tasks[0].api_retries, 1);
      assert.ok(progress.phases[0].tasks[0].api_wait_ms >= RETRY_AFTER_S * 1000);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('4. a 401 fails the task at once', () => {
    const rig = useE2eRig();

    it('one attempt, the epic fails naming the task and the API error, and no API key appears anywhere', async () => {
      const slug = uniqueSlug('e2e-401');
      // Some proxies echo the key they rejected: the message must still not carry it.
      const script = new AgentScript(rig.fake).on(
        '1.1',
        fault.error(401, 'authentication_error', `invalid x-api-key: ${TEST_KEY}`),
      );
      const spec = agentEpic({
        slug,
        workspace: rig.ws.dir,
        phases: [
          { slug: 'first', tasks: [{ id: '1.1' }] },
          { slug: 'second', tasks: [{ id: '2.1' }] },
        ],
      });
      const run = await runEpicInProcess(rig.client, spec, `e2e-401-${slug}`);
      assert.ok(
        isWorkflowFailed(run.error),
        `expected the epic to fail, got ${failureChain(run.error) || JSON.stringify(run.result)}`,
      );
      const message = failureChain(run.error);
      if (process.env.E2E_SHOW) console.log(message);
      assert.match(message, /task 1\.1/);
      assert.match(message, /401 authentication_error/);
      assert.match(message, /invalid x-api-key/);
      assert.ok(!message.includes(TEST_KEY), message);
      assert.ok(!/sk-ant-(?!\[redacted\])/.test(message), message);

      // At once: one request, one activity, no backoff timer, phase 2 never ran.
      assert.equal(rig.fake.messageRequests.length, 1);
      assert.equal(script.requests('1.1').length, 1);
      const h = await history(rig.client, phaseWorkflowId(spec));
      const acts = activities(h, 'runAgentTask');
      assert.equal(acts.length, 1);
      assert.equal(acts[0].end, 'failed');
      assert.equal(acts[0].failure?.applicationFailureInfo?.nonRetryable, true);
      // No backoff timer (0.2 s); the only timers are the question's: the reminder (0.5 s), then
      // one until the limit (what is left of it, none when a slow machine reached it already).
      const ts = timers(h).map((t) => t.startToFireMs!);
      assert.equal(ts[0], 500, `timers: ${ts.join(', ')}`);
      assert.ok(ts.length <= 2 && ts.slice(1).every((ms) => ms <= 500), `timers: ${ts.join(', ')}`);

      const progress = await mirrors.progress(rig.ws.dir, 'greeter');
      const t11 = progress.phases[0].tasks[0];
      assert.equal(t11.status, 'failed');
      assert.equal(t11.attempts, 1);
      assert.match(t11.error, /authentication_error/);
      assert.equal(progress.phases[1].tasks[0].status, 'pending');
      assert.equal(progress.phases[1].status, 'pending');

      // The key is nowhere: not in the histories, not in any file phaseflow wrote.
      for (const id of [workflowIds.epic(slug), phaseWorkflowId(spec)]) {
        assert.ok(!historyText(await history(rig.client, id)).includes(TEST_KEY), `${id} history contains the API key`);
      }
      for (const file of await fs.readdir(rig.ws.dir, { recursive: true })) {
        const p = path.join(rig.ws.dir, file);
        if ((await fs.stat(p)).isFile())
          assert.ok(!(await fs.readFile(p, 'utf8')).includes(TEST_KEY), `${file} contains the API key`);
      }
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('6. workflow history holds no transcript', () => {
    const rig = useE2eRig();

    it('a 15-turn conversation of > 200 KB leaves a phase history of a few KB without any of it', async () => {
      const slug = uniqueSlug('e2e-big');
      const tag = randomBytes(4).toString('hex');
      const files = Array.from({ length: 7 }, (_, k) => ({
        path: `big/file-${k}.txt`,
        content:
          Array.from({ length: 100 }, (_, j) => `BIGFILE-${tag}-${k}-LINE-${j} ${'x'.repeat(130)}`).join('\n') + '\n',
      }));
      const note = (k: number) => `BIGNOTE-${tag}-${k}: ${'thinking out loud about the next step; '.repeat(200)}`;
      const steps: FakeReply[] = [];
      files.forEach((f, k) => {
        steps.push(
          reply.toolUse(
            'Write',
            { file_path: f.path, content: f.content },
            { text: note(2 * k), usage: usage(100, 20) },
          ),
        );
        steps.push(reply.toolUse('Read', { file_path: f.path }, { text: note(2 * k + 1), usage: usage(100, 20) }));
      });
      steps.push(reply.aop('Wrote and read back seven large files.', 'success'));
      assert.equal(steps.length, 15);
      const script = new AgentScript(rig.fake).on('1.1', ...steps);
      const spec = agentEpic({
        slug,
        workspace: rig.ws.dir,
        phases: [{ slug: 'only', tasks: [{ id: '1.1', outputType: 'build' }] }],
      });
      const run = await runEpicInProcess(rig.client, spec, `e2e-big-${slug}`);
      assert.equal(run.error, undefined, failureChain(run.error));
      assert.equal(script.left('1.1'), 0);

      // The conversation really was that big: texts + tool inputs + tool results the model saw.
      const last = script.requests('1.1').at(-1)!.req.body;
      const resultBytes = last.messages
        .flatMap((m: any) => (Array.isArray(m.content) ? m.content : []))
        .filter((b: any) => b.type === 'tool_result' || b.type === 'text')
        .reduce(
          (n: number, b: any) => n + Buffer.byteLength(typeof b.content === 'string' ? b.content : (b.text ?? '')),
          0,
        );
      assert.ok(resultBytes > 200_000, `tool results and texts: ${resultBytes} bytes`);
      assert.ok(JSON.stringify(last).length > 300_000);
      for (const f of files) assert.equal(await fs.readFile(path.join(rig.ws.dir, f.path), 'utf8'), f.content);
      // ... and it is on disk, in the transcript.
      const transcript = await fs.readFile(path.join(rig.ws.dir, transcriptPath('greeter', '1.1')), 'utf8');
      assert.ok(transcript.includes(`BIGFILE-${tag}-6-LINE-99`) && transcript.includes(`BIGNOTE-${tag}-13`));

      const h = await history(rig.client, phaseWorkflowId(spec));
      const sizes = { json: historyJson(h).length, decoded: historyText(h).length, protobuf: historyBytes(h) };
      if (process.env.E2E_SHOW) console.log('phase history sizes', sizes, 'events', h.events?.length);
      assert.ok(sizes.json < 30_000, `phase history is ${sizes.json} bytes of JSON`);
      assert.ok(sizes.decoded < 30_000, `phase history is ${sizes.decoded} bytes decoded`);
      assert.ok(sizes.protobuf < 30_000, `phase history is ${sizes.protobuf} bytes of protobuf`);
      const decoded = historyText(h);
      assert.ok(
        decoded.includes('Wrote and read back seven large files.'),
        'the decoded history shows payload text (sanity)',
      );
      for (const id of [ids.phase(spec), ids.plan(spec), ids.roadmap(spec), ids.epic(spec)]) {
        const text = historyText(await history(rig.client, id));
        assert.ok(!text.includes(`BIGFILE-${tag}`), `${id}: history holds file content`);
        assert.ok(!text.includes(`BIGNOTE-${tag}`), `${id}: history holds assistant text`);
        assert.ok(!text.includes('xxxxxxxxxxxxxxxxxxxx'), `${id}: history holds tool input/results`);
      }
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('7. a worker killed mid-conversation', () => {
    const workers = useWorkerProcesses();
    const rig = useE2eRig();

    it('resumes from the transcript in a new worker process: turns 1-2 are not requested again', async function () {
      const slug = uniqueSlug('e2e-kill');
      const queue = `e2e-kill-${slug}`;
      const turn = (n: number, file: string) =>
        reply.toolUse(
          'Write',
          { file_path: file, content: `turn ${n}\n` },
          { id: `toolu_k${n}`, usage: usage(1000 * n, 100 * n) },
        );
      const script = new AgentScript(rig.fake).on(
        '1.1',
        turn(1, 'a.txt'),
        turn(2, 'b.txt'),
        fault.hang(), // turn 3, first worker: killed while waiting for this
        turn(3, 'c.txt'), // turn 3 again, second worker
        turn(4, 'd.txt'),
        reply.aop('Wrote a.txt to d.txt across a worker crash.', 'success', { usage: usage(5000, 500) }),
      );
      const spec = agentEpic({ slug, workspace: rig.ws.dir, phases: [{ slug: 'only', tasks: [{ id: '1.1' }] }] });
      const env = { ANTHROPIC_BASE_URL: rig.fake.baseURL, ANTHROPIC_API_KEY: TEST_KEY };

      const w1 = startWorkerProcess(queue, env);
      workers.push(w1);
      const handle = await rig.client.workflow.start(epicWorkflow, {
        taskQueue: queue,
        workflowId: workflowIds.epic(slug),
        args: [spec],
        workflowExecutionTimeout: 80_000,
      });
      try {
        await rig.fake.waitForRequests(3, 40_000);
      } catch (e) {
        throw new Error(`${(e as Error).message}\nworker output:\n${w1.output()}`);
      }
      assert.equal(script.seen[2].served, 'hang');
      w1.kill('SIGKILL');
      const exit = await w1.exited;
      assert.equal(exit.signal, 'SIGKILL');
      const killedAt = Date.now();
      // The transcript holds turns 1-2, and no end record: the attempt just stopped.
      const transcript = (await fs.readFile(path.join(rig.ws.dir, transcriptPath('greeter', '1.1')), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.deepEqual(
        transcript.filter((r) => r.type === 'turn').map((r) => r.turn),
        [1, 2],
      );
      assert.equal(transcript.filter((r) => r.type === 'end').length, 0);

      const w2 = startWorkerProcess(queue, env);
      workers.push(w2);
      try {
        await handle.result();
      } catch (e) {
        throw new Error(`${failureChain(e)}\nworker 2 output:\n${w2.output()}`);
      }

      // Requests: turns 1, 2, the hung 3, then (after restart) 3, 4, 5. Turns 1-2 only once.
      const reqs = script.requests('1.1');
      assert.equal(reqs.length, 6);
      assert.equal(script.left('1.1'), 0);
      assert.deepEqual(
        reqs.map((r) => r.req.body.messages.length),
        [1, 3, 5, 5, 7, 9],
      );
      const firstAfter = reqs[3];
      assert.ok(firstAfter.at > killedAt);
      // The first request after the restart already carries turns 1-2 and their tool results.
      assert.deepEqual(toolUseIds(firstAfter.req.body), ['toolu_k1', 'toolu_k2']);
      assert.deepEqual(toolResultIds(firstAfter.req.body), ['toolu_k1', 'toolu_k2']);
      const resumedNote = JSON.stringify(firstAfter.req.body.messages.at(-1));
      assert.match(resumedNote, /interrupted and is resumed/);

      for (const [f, n] of [
        ['a.txt', 1],
        ['b.txt', 2],
        ['c.txt', 3],
        ['d.txt', 4],
      ] as const) {
        assert.equal(await fs.readFile(path.join(rig.ws.dir, f), 'utf8'), `turn ${n}\n`);
      }

      // In history: attempt 1 timed out on its heartbeat (a dead worker is weather, not the
      // agent's failure), then attempt 1 ran again on the same rung (8 s, all tools) and completed.
      const acts = activities(await history(rig.client, phaseWorkflowId(spec)), 'runAgentTask');
      assert.deepEqual(
        acts.map((a) => a.end),
        ['timedOut', 'completed'],
      );
      assert.equal(
        acts[0].failure?.timeoutFailureInfo?.timeoutType,
        temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_HEARTBEAT,
      );
      assert.deepEqual(
        acts.map((a) => [a.input.attempt, a.input.timeoutMs, a.input.reducedTools]),
        [
          [1, 8_000, false],
          [1, 8_000, false],
        ],
      );
      for (const r of reqs.slice(3)) assert.equal(r.req.body.tools.length, 6, 'all six tools after the restart');

      const details = await readJson(path.join(rig.ws.dir, detailsFilePath('greeter', '1.1', 1)));
      assert.equal(details.conversation.mode, 'resumed');
      assert.equal(details.conversation.resumedAtTurn, 2);
      // The crashed attempt's usage (turns 1-2) is carried into the task's usage, not lost.
      const progress = await mirrors.progress(rig.ws.dir, 'greeter');
      const t = progress.phases[0].tasks[0];
      assert.equal(t.status, 'completed');
      assert.equal(t.attempts, 1);
      assert.equal(t.usage.input_tokens, 1000 + 2000 + 3000 + 4000 + 5000);
      assert.equal(t.usage.output_tokens, 100 + 200 + 300 + 400 + 500);
    });
  });
});
