/**
 * Operating a run with the phaseflow command, on a real server with a real worker: `pending`,
 * `resolve`, `approve`, `reject`, `budget`, `pause`, `resume`, `cancel` and `status`, as a person
 * types them (the compiled CLI as a child process). Each prints what it did; bad input and
 * commands that do not fit the run's state exit 1 with a message and change nothing.
 */
import { strict as assert } from 'node:assert';
import os from 'node:os';
import { WorkflowFailedError } from '@temporalio/client';
import type { DecisionRecord, PendingDecision } from '../../src/domain/decisions';
import { pendingQuery, statusQuery } from '../../src/workflows/messages';
import {
  agentTask,
  epicSpec,
  FAST_SETTINGS,
  ids,
  mirrorFile,
  readJson,
  startEpic,
  tempWorkspace,
  testClient,
  uniqueName,
  waitFor,
  withWorker,
} from '../support/worker-harness';
import { testTemporal } from '../support/temporal-server';
import { phaseflow, run, shown } from './run-cli';

const R = 'build';
const P = 'api';
const ME = os.userInfo().username;
const PATIENT = { ...FAST_SETTINGS, decisionTimeoutSeconds: 600 };

function epic(prefix: string, phases: object[], extra: Record<string, unknown> = {}) {
  const slug = uniqueName(prefix);
  const ws = tempWorkspace();
  const spec = epicSpec({
    slug,
    title: `CLI ${prefix}`,
    workspace: ws,
    settings: PATIENT,
    roadmaps: [{ slug: R, title: 'Build', plans: [{ slug: P, title: 'API', phases }] }],
    ...extra,
  });
  return { slug, ws, spec, taskQueue: uniqueName(`tq-${prefix}`), epicId: ids.epic(slug) };
}

/** The question pending in the epic (a new one: not `after`). */
async function question(
  slug: string,
  kind: PendingDecision['kind'],
  after?: PendingDecision,
): Promise<PendingDecision> {
  const client = await testClient();
  return waitFor(
    `a pending ${kind} decision in ${slug}`,
    async () => {
      const [p] = await client.workflow.getHandle(ids.epic(slug)).query(pendingQuery);
      return p?.kind === kind && p.id !== after?.id ? p : undefined;
    },
    30_000,
  );
}

const progressOf = (ws: string) => readJson(mirrorFile.progress(ws, P));

describe('phaseflow operating commands (real server)', function () {
  this.timeout(180_000);

  it('escalation: pending shows it with the command to answer; wrong answers exit 1 and change nothing; resolve retry, then skip by phase id', async () => {
    const e = epic('cli-esc', [
      {
        slug: 'models',
        title: 'Data models',
        tasks: [
          agentTask('1.1', 30),
          agentTask('1.2', 30, { settings: { attempts: 1 }, dryRun: { durationMs: 30, outcome: 'failure' } }),
        ],
      },
      { slug: 'routes', title: 'Routes', tasks: [agentTask('2.1', 30)] },
    ]);
    const phaseId = ids.phase(e.slug, R, P, 'models');
    await withWorker(e.taskQueue, async () => {
      const handle = await startEpic(e.taskQueue, e.spec);
      const q = await question(e.slug, 'escalation');

      // Every running epic's questions, with the columns and the command that answers.
      const all = await phaseflow(['pending']);
      assert.equal(all.code, 0, shown(all));
      assert.match(all.stdout, /^EPIC +DECISION +KIND \(CAUSE\) +ASKED +DEFAULT/m);
      const row = all.stdout.split('\n').find((l) => l.startsWith(`${e.epicId} `));
      assert.ok(row, shown(all));
      assert.match(
        row,
        new RegExp(
          `${escape(q.id)} +escalation \\(task-failed\\) +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC, \\d+s ago +abort in \\d+m \\d\\ds \\(`,
        ),
      );
      assert.ok(all.stdout.includes(`  asks: ${q.question}`), shown(all));
      assert.ok(
        all.stdout.includes(`  answer: phaseflow resolve ${phaseId} retry|retry-phase|skip|abort --decision ${q.id}`),
        shown(all),
      );
      const json = await phaseflow(['pending', e.slug, '--json']);
      assert.equal(json.code, 0, shown(json));
      assert.deepEqual(JSON.parse(json.stdout), [{ epicId: e.epicId, pending: q }]);

      // Answers that do not fit: clear message, exit 1, the question is untouched.
      const wrongKind = await phaseflow(['approve', e.slug]);
      assert.equal(wrongKind.code, 1, shown(wrongKind));
      assert.match(
        wrongKind.stderr,
        new RegExp(
          `no pending decision under ${escape(e.epicId)} takes "approve"; pending:\\n  ${escape(q.id)}: escalation \\(task-failed\\)`,
        ),
      );
      const badAction = await phaseflow(['resolve', e.slug, 'later']);
      assert.equal(badAction.code, 1, shown(badAction));
      assert.match(badAction.stderr, /argument 'action'. Allowed choices are retry, retry-phase, skip, abort/);
      const notPending = await phaseflow(['resolve', e.slug, 'retry', '--decision', `${q.id}0`]);
      assert.equal(notPending.code, 1, shown(notPending));
      assert.match(notPending.stderr, new RegExp(`decision ${escape(q.id)}0 is not pending under ${escape(e.epicId)}`));
      const unknown = await phaseflow(['resolve', `${e.slug}-nope`, 'retry']);
      assert.equal(unknown.code, 1, shown(unknown));
      assert.match(
        unknown.stderr,
        new RegExp(`no workflow "epic/${escape(e.slug)}-nope" or "${escape(e.slug)}-nope" on `),
      );
      assert.equal((await question(e.slug, 'escalation')).id, q.id, 'still the same question');

      const retry = await phaseflow(['resolve', e.slug, 'retry', '--note', 'fixture fixed']);
      assert.equal(retry.code, 0, shown(retry));
      assert.match(
        retry.stdout,
        new RegExp(
          `^Answered escalation decision ${escape(q.id)} of ${escape(phaseId)}: retry \\(by ${escape(ME)}\\) · note: fixture fixed$`,
          'm',
        ),
      );
      assert.ok(retry.stdout.includes(`  asked: ${q.question}`), shown(retry));

      // 1.2 fails again: a new question; status shows it and the decision taken so far.
      const q2 = await question(e.slug, 'escalation', q);
      const status = await phaseflow(['status', e.slug]);
      assert.equal(status.code, 0, shown(status));
      const top = await handle.query(statusQuery);
      assert.match(
        status.stdout,
        new RegExp(
          `^  ⏳ epic ${escape(e.slug)} waiting +[█░]{20} · ${top.tasksCompleted}/${top.tasksTotal} tasks`,
          'm',
        ),
      );
      assert.match(status.stdout, /^ {8}⏳ phase models waiting +█{10}░{10} · 1\/2 tasks/m);
      assert.match(
        status.stdout,
        new RegExp(
          `^Waiting for a decision:\\n  ⏳ escalation \\(task-failed\\) in phase "Data models" \\(${R}/${P}/models\\)`,
          'm',
        ),
      );
      assert.ok(
        status.stdout.includes(`answer: phaseflow resolve ${phaseId} retry|retry-phase|skip|abort --decision ${q2.id}`),
        shown(status),
      );
      assert.match(
        status.stdout,
        new RegExp(
          `^Decisions so far:\\n  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC ${escape(q.id)} escalation \\(task-failed\\) → retry, by ${escape(ME)}: fixture fixed$`,
          'm',
        ),
      );

      // Answered at the phase's own id.
      const skip = await phaseflow(['resolve', phaseId, 'skip']);
      assert.equal(skip.code, 0, shown(skip));
      assert.match(
        skip.stdout,
        new RegExp(
          `Answered escalation decision ${escape(q2.id)} of ${escape(phaseId)}: skip \\(by ${escape(ME)}\\)\\n`,
        ),
      );
      await handle.result();
    });
    assert.deepEqual(
      progressOf(e.ws).decisions.map((d: DecisionRecord) => [d.id, d.action, d.source, d.by, d.note]),
      [
        [`${R}/${P}/models#1`, 'retry', 'person', ME, 'fixture fixed'],
        [`${R}/${P}/models#2`, 'skip', 'person', ME, undefined],
      ],
    );
    const late = await phaseflow(['resolve', e.slug, 'retry']);
    assert.equal(late.code, 1, shown(late));
    assert.match(
      late.stderr,
      new RegExp(`cannot answer a decision of ${escape(e.epicId)}: it is completed, not running`),
    );
  });

  it('approval: reject needs --note; approve lets the next phase start; reject stops the run with the note', async () => {
    const e = epic(
      'cli-appr',
      [
        { slug: 'one', title: 'One', tasks: [agentTask('1.1', 30)] },
        { slug: 'two', title: 'Two', tasks: [agentTask('2.1', 30)] },
      ],
      { gating: { require_tests: false, require_phase_approval: true } },
    );
    await withWorker(e.taskQueue, async () => {
      const handle = await startEpic(e.taskQueue, e.spec);
      const q = await question(e.slug, 'approval');
      const noNote = await phaseflow(['reject', e.slug]);
      assert.equal(noNote.code, 1, shown(noNote));
      assert.match(noNote.stderr, /required option '--note <text>' not specified/);
      const approve = await phaseflow(['approve', e.epicId, '--note', 'looks good']);
      assert.equal(approve.code, 0, shown(approve));
      assert.match(
        approve.stdout,
        new RegExp(
          `Answered approval decision ${escape(q.id)} of ${escape(ids.phase(e.slug, R, P, 'one'))}: approve \\(by ${escape(ME)}\\) · note: looks good`,
        ),
      );
      assert.match(approve.stdout, /now: let the next phase start/);
      await question(e.slug, 'approval', q);
      const reject = await phaseflow(['reject', e.slug, '--note', 'two wrote the wrong file']);
      assert.equal(reject.code, 0, shown(reject));
      assert.match(reject.stdout, /: reject \(by .+\) · note: two wrote the wrong file/);
      await assert.rejects(
        handle.result(),
        (err: unknown) =>
          err instanceof WorkflowFailedError && /two wrote the wrong file/.test(String((err.cause as Error)?.message)),
      );
    });
  });

  it('budget raises a spent budget, or changes a limit when none is pending; pause/resume and cancel; closed runs refuse', async () => {
    // A dry-run agent task reports over 1,000 tokens: after the first one the epic budget is spent.
    const e = epic(
      'cli-budget',
      [
        {
          slug: 'work',
          title: 'Work',
          settings: { maxParallel: 1 },
          tasks: [agentTask('1.1', 20), agentTask('1.2', 1500), agentTask('1.3', 60_000)],
        },
      ],
      {
        budget: { tokens: 1000 },
      },
    );
    await withWorker(e.taskQueue, async () => {
      const handle = await startEpic(e.taskQueue, e.spec);
      const q = await question(e.slug, 'budget');
      const noLimit = await phaseflow(['budget', e.slug]);
      assert.equal(noLimit.code, 1, shown(noLimit));
      assert.match(noLimit.stderr, /budget needs --tokens N and\/or --usd X/);
      const raise = await phaseflow(['budget', e.slug, '--tokens', '1000000']);
      assert.equal(raise.code, 0, shown(raise));
      assert.match(
        raise.stdout,
        new RegExp(`Answered budget decision ${escape(q.id)} of .+: raise \\(by ${escape(ME)}\\)`),
      );
      assert.match(raise.stdout, /new epic limit: 1,000,000 tokens/);

      // Pause while 1.2 runs: the status says paused; resume lets 1.3 start.
      const client = await testClient();
      const phase = client.workflow.getHandle(ids.phase(e.slug, R, P, 'work'));
      await waitFor('task 1.2 running', async () => (await phase.query(statusQuery)).tasksCompleted === 1, 30_000, 100);
      const pause = await phaseflow(['pause', e.slug]);
      assert.equal(pause.code, 0, shown(pause));
      assert.match(
        pause.stdout,
        new RegExp(
          `^Paused ${escape(e.epicId)} \\(signal control \\{"paused":true,"by":"${escape(ME)}"\\}\\)\\n  no new task starts until`,
          'm',
        ),
      );
      const paused = await phaseflow(['status', e.slug]);
      assert.match(paused.stdout, new RegExp(`^  ⏸ epic ${escape(e.slug)} paused `, 'm'));
      await waitFor('1.2 done', async () => (await phase.query(statusQuery)).tasksCompleted === 2, 30_000, 100);
      const resume = await phaseflow(['resume', e.slug]);
      assert.equal(resume.code, 0, shown(resume));
      assert.match(resume.stdout, /^Resumed .+\n {2}tasks start again/m);

      // No budget question now: the change goes to the epic as a control message.
      const usd = await phaseflow(['budget', e.slug, '--usd', '5']);
      assert.equal(usd.code, 0, shown(usd));
      assert.match(
        usd.stdout,
        new RegExp(
          `^Sent a budget change to ${escape(e.epicId)}: epic limit \\$5 \\(by ${escape(ME)}\\); no budget decision was pending`,
          'm',
        ),
      );
      await waitFor(
        'the epic limit is $5',
        async () => (await handle.query(statusQuery)).budget?.limit.usd === 5,
        10_000,
        100,
      );

      // 1.3 runs for a minute: cancel stops it and reports the final state.
      const cancel = await phaseflow(['cancel', e.slug, '--wait', '30']);
      assert.equal(cancel.code, 0, shown(cancel));
      assert.match(
        cancel.stdout,
        new RegExp(
          `^Requested cancellation of ${escape(e.epicId)} by ${escape(ME)}\\n${escape(e.epicId)} is cancelled after \\d+`,
          'm',
        ),
      );
    });
    assert.equal(readJson(mirrorFile.epic(e.ws, e.slug)).status, 'cancelled');
    for (const [args, msg] of [
      [['cancel', e.slug], `cannot cancel ${e.epicId}: it is cancelled, not running`],
      [['pause', e.slug], `cannot pause ${e.epicId}: it is cancelled, not running`],
      [['budget', e.slug, '--tokens', '5'], `cannot change the budget of ${e.epicId}: it is cancelled, not running`],
    ] as const) {
      const r = await phaseflow([...args]);
      assert.equal(r.code, 1, shown(r));
      assert.ok(r.stderr.includes(msg), shown(r));
    }
  });

  it('the plain temporal CLI route (README): query pending, update decide, signal control, cancel', async () => {
    const e = epic('plain-ops', [
      {
        slug: 'models',
        title: 'Data models',
        tasks: [agentTask('1.1', 30, { settings: { attempts: 1 }, dryRun: { durationMs: 30, outcome: 'failure' } })],
      },
      {
        slug: 'routes',
        title: 'Routes',
        settings: { maxParallel: 1 },
        tasks: [agentTask('2.1', 1000), agentTask('2.2', 60_000)],
      },
    ]);
    const { address, namespace, binary } = testTemporal();
    const temporal = async (...args: string[]) => {
      const r = await run(binary, [...args, '--address', address, '--namespace', namespace]);
      return { ...r, text: `${r.stdout}${r.stderr}` };
    };
    await withWorker(e.taskQueue, async () => {
      const handle = await startEpic(e.taskQueue, e.spec);
      const q = await question(e.slug, 'escalation');
      const listed = await temporal('workflow', 'query', '--workflow-id', e.epicId, '--type', 'pending', '-o', 'json');
      assert.equal(listed.code, 0, listed.text);
      assert.deepEqual(JSON.parse(listed.stdout).queryResult, [[q]]);

      const wrong = await temporal(
        'workflow',
        'update',
        'execute',
        '--workflow-id',
        q.workflowId,
        '--name',
        'decide',
        '--input',
        '{"action":"approve"}',
      );
      assert.notEqual(wrong.code, 0, wrong.text);
      assert.match(
        wrong.text,
        /\\?"approve\\?" does not answer an? escalation decision; expected one of: retry, retry-phase, skip, abort/,
      );
      const skip = await temporal(
        'workflow',
        'update',
        'execute',
        '--workflow-id',
        q.workflowId,
        '--name',
        'decide',
        '--input',
        JSON.stringify({ action: 'skip', by: 'alice', decisionId: q.id }),
      );
      assert.equal(skip.code, 0, skip.text);
      assert.match(skip.text, /action:skip .*by:alice/);

      const phase = (await testClient()).workflow.getHandle(ids.phase(e.slug, R, P, 'routes'));
      await waitFor(
        'task 2.1 running',
        async () => (await phase.query(statusQuery).catch(() => undefined))?.status === 'active',
        30_000,
        100,
      );
      const pause = await temporal(
        'workflow',
        'signal',
        '--workflow-id',
        e.epicId,
        '--name',
        'control',
        '--input',
        '{"paused":true,"by":"alice"}',
      );
      assert.equal(pause.code, 0, pause.text);
      await waitFor('the phase paused', async () => (await phase.query(statusQuery)).paused === true, 10_000, 100);

      const cancel = await temporal('workflow', 'cancel', '--workflow-id', e.epicId);
      assert.equal(cancel.code, 0, cancel.text);
      await assert.rejects(handle.result());
      assert.equal((await handle.describe()).status.name, 'CANCELLED');
    });
    assert.equal(readJson(mirrorFile.epic(e.ws, e.slug)).status, 'cancelled');
  });

  it('no server: a clear error and exit 1', async () => {
    const r = await phaseflow(['pending'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    assert.equal(r.code, 1, shown(r));
    assert.match(r.stderr, /no Temporal server at 127\.0\.0\.1:1/);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
