/**
 * What people read, from fixture trees: the status tree with aligned bars and flags, the pending
 * table with the command that answers, times relative to now, and the watch frame kept inside the
 * screen. (The commands that print these run on a real server in control.test.ts and watch.test.ts.)
 */
import { strict as assert } from 'node:assert';
import type { DecisionRecord, PendingDecision } from '../../src/domain/decisions';
import { ZERO_USAGE } from '../../src/domain/types';
import { answerHint, decisionLine, duration, pendingLines, pendingTable, treeLines, until } from '../../src/cli/render';
import { decisionsIn, pendingIn } from '../../src/cli/tree';
import { frame } from '../../src/cli/watch';
import { pickDecision } from '../../src/cli/answer';
import type { StatusNode } from '../../src/workflows/messages';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const usage = (tokens: number, costUsd: number) => ({ ...ZERO_USAGE, inputTokens: tokens, costUsd });

const question: PendingDecision = {
  id: 'build/api/models#2',
  kind: 'escalation',
  cause: 'gate-failed',
  workflowId: 'epic/shop/build/api/models',
  epicSlug: 'shop',
  roadmapSlug: 'build',
  planSlug: 'api',
  phaseSlug: 'models',
  phaseTitle: 'Data models',
  question: 'Phase models: the gate failed. Retry, skip the phase, or abort?',
  detail: 'npm test exited 1:\n  3 failing',
  actions: ['retry', 'retry-phase', 'skip', 'abort'],
  askedAt: '2026-11-21T11:48:30Z',
  defaultAction: 'abort',
  defaultAt: '2026-11-22T11:48:30Z',
};

const retried: DecisionRecord = {
  id: 'build/api/models#1',
  kind: 'escalation',
  cause: 'task-failed',
  phaseSlug: 'models',
  question: 'q',
  action: 'retry',
  source: 'person',
  by: 'alice',
  note: 'fixture fixed',
  askedAt: '2026-11-21T11:30:00Z',
  decidedAt: '2026-11-21T11:31:00Z',
};

const phase = (
  slug: string,
  status: string,
  done: number,
  total: number,
  extra: Partial<StatusNode> = {},
): StatusNode => ({
  level: 'phase',
  slug,
  title: slug,
  status,
  tasksTotal: total,
  tasksCompleted: done,
  usage: usage(done * 1000, done * 0.01),
  ...extra,
});

const tree: StatusNode = {
  level: 'epic',
  slug: 'shop',
  title: 'Shop',
  status: 'waiting',
  tasksTotal: 10,
  tasksCompleted: 4,
  usage: usage(123_456, 1.5),
  pending: [question],
  paused: true,
  budget: { limit: { tokens: 500_000, usd: 20 }, usedTokens: 123_456, usedUsd: 1.5 },
  children: [
    {
      level: 'roadmap',
      slug: 'build',
      title: 'Build',
      status: 'waiting',
      tasksTotal: 10,
      tasksCompleted: 4,
      usage: usage(123_456, 1.5),
      pending: [question],
      children: [
        {
          level: 'plan',
          slug: 'api',
          title: 'API',
          status: 'waiting',
          tasksTotal: 10,
          tasksCompleted: 4,
          usage: usage(4000, 0.04),
          pending: [question],
          decisions: [retried],
          children: [
            phase('setup', 'completed', 2, 2),
            phase('models', 'waiting', 2, 5, {
              pending: [question],
              decisions: [retried],
              failureReason: 'gate: npm test exited 1',
            }),
            phase('routes', 'pending', 0, 3),
          ],
        },
      ],
    },
  ],
};

describe('CLI rendering', () => {
  it('durations and times relative to now', () => {
    assert.deepEqual(
      [duration(4_400), duration(725_000), duration(3 * 3600_000 + 300_000), duration(50 * 3600_000)],
      ['4s', '12m 05s', '3h 05m', '2d 02h'],
    );
    assert.equal(until('2026-11-22T11:48:30Z', NOW), 'in 23h 48m');
    assert.equal(until('2026-11-21T11:59:00Z', NOW), 'due 1m 00s ago');
  });

  it('the tree: one line per node, bars in one column, flags for what the status word does not say', () => {
    const lines = treeLines(tree);
    const bars = lines.map((l) => l.search(/[█░]{20}/));
    assert.ok(
      bars.every((b) => b === bars[0] && b > 0),
      `bars start in one column: ${bars}\n${lines.join('\n')}`,
    );
    assert.match(
      lines[0],
      /^⏳ epic shop waiting +████████░{12} · 4\/10 tasks · 123,456 tokens · \$1\.5000 · ⏸ paused · budget 123,456\/500,000 tokens, \$1\.50\/\$20\.00$/,
    );
    assert.match(
      lines[4],
      /^ {6}⏳ phase models waiting +████████░{12} · 2\/5 tasks · 2,000 tokens · \$0\.0200 · reason: gate: npm test exited 1$/,
    );
    assert.match(lines[5], /^ {6}○ phase routes pending +░{20} · 0\/3 tasks/);
    assert.equal(lines.length, 6);
  });

  it('a decision line names who took it, and says when an answer gave no name', () => {
    assert.equal(
      decisionLine(retried),
      '2026-11-21 11:31 UTC build/api/models#1 escalation (task-failed) → retry, by alice: fixture fixed',
    );
    // `temporal workflow update execute … --input '{"action":"retry"}'` carries no `by`.
    const { by: _, note: __, ...anonymous } = retried;
    assert.equal(
      decisionLine(anonymous),
      '2026-11-21 11:31 UTC build/api/models#1 escalation (task-failed) → retry, by a person (no "by" given)',
    );
  });

  it('a question is found once however many levels carry it; decisions once, oldest first', () => {
    assert.deepEqual(
      pendingIn(tree).map((p) => p.id),
      [question.id],
    );
    assert.deepEqual(
      decisionsIn(tree).map((d) => d.id),
      [retried.id],
    );
  });

  it('the command that answers names the waiting workflow, the actions and the decision', () => {
    assert.equal(
      answerHint(question),
      'phaseflow resolve epic/shop/build/api/models retry|retry-phase|skip|abort --decision build/api/models#2 [--note TEXT]',
    );
    assert.match(
      answerHint({ ...question, kind: 'approval', actions: ['approve', 'reject'] }),
      /^phaseflow approve epic\/shop\/build\/api\/models --decision \S+ \[--note TEXT\] {2}\| {2}phaseflow reject .+ --note TEXT$/,
    );
    assert.match(
      answerHint({ ...question, kind: 'budget', actions: ['raise', 'abort'] }),
      /^phaseflow budget .+ --tokens N --usd X {2}\| {2}phaseflow resolve .+ abort --decision/,
    );
  });

  it('pending: aligned columns (epic, decision, kind, asked, default), then what is asked and how to answer', () => {
    const lines = pendingTable(
      [
        { epicId: 'epic/shop', pending: question },
        { epicId: 'epic/a-much-longer-epic-id', pending: { ...question, id: 'x/y/z#1' } },
      ],
      NOW,
    );
    assert.match(lines[0], /^EPIC {24}DECISION {12}KIND \(CAUSE\) {14}ASKED {30}DEFAULT$/);
    assert.equal(
      lines[1],
      `epic/shop${' '.repeat(19)}build/api/models#2  escalation (gate-failed)  2026-11-21 11:48 UTC, 11m 30s ago  abort in 23h 48m (2026-11-22 11:48 UTC)`,
    );
    assert.equal(lines[2], `  asks: ${question.question}`);
    assert.equal(lines[3], '  detail: npm test exited 1: 3 failing');
    assert.equal(lines[4], `  answer: ${answerHint(question)}`);
    assert.deepEqual(pendingTable([], NOW), ['No decisions are pending.']);
  });

  it('a question in a status or watch view says what, since when, the default and when it fires', () => {
    assert.deepEqual(pendingLines(question, NOW, '  ', { explain: true }).slice(0, 6), [
      '  ⏳ escalation (gate-failed) in phase "Data models" (build/api/models), asked 11m 30s ago',
      `     ${question.question}`,
      '     npm test exited 1: 3 failing',
      '     default: abort in 23h 48m (2026-11-22 11:48 UTC) · choices: retry, retry-phase, skip, abort',
      '       retry: re-run the failed tasks only (or the gate, if only the gate failed)',
      '       retry-phase: re-run every task of the phase',
    ]);
  });

  it('the watch frame fits the screen: lines cut to its width, the tree cut to its height, questions kept', () => {
    const f = frame(tree, NOW, { columns: 60, rows: 10 }, [retried]);
    assert.equal(f.length, 9, f.join('\n'));
    assert.ok(
      f.every((l) => [...l].length <= 56),
      f.join('\n'),
    );
    assert.match(f.join('\n'), /⏳ escalation \(gate-failed\)/);
    assert.match(f.join('\n'), /answer: phaseflow resolve/);
    assert.match(f.join('\n'), /✔ decided: .+build\/api\/models#1/);
    assert.match(f[f.length - 1], /^12:00:00 UTC · ⏸ PAUSED/);
    const roomy = frame(tree, NOW, { columns: 300, rows: 50 });
    assert.equal(
      roomy.filter((l) => /^ *[○▶⏳✔✖⏸] (epic|roadmap|plan|phase) /.test(l)).length,
      6,
      'the whole tree when it fits',
    );
  });

  it('an answer goes to the one pending decision that takes it; otherwise a clear error', () => {
    const approval: PendingDecision = {
      ...question,
      id: 'b/a/two#1',
      kind: 'approval',
      actions: ['approve', 'reject'],
    };
    assert.equal(pickDecision('epic/shop', [question, approval], 'approve').id, approval.id);
    assert.throws(() => pickDecision('epic/shop', [], 'retry'), /nothing waits for a decision under epic\/shop/);
    assert.throws(
      () => pickDecision('epic/shop', [approval], 'skip'),
      /no pending decision under epic\/shop takes "skip"; pending:\n {2}b\/a\/two#1: approval/,
    );
    assert.throws(
      () => pickDecision('epic/shop', [question, { ...question, id: 'q#9' }], 'abort'),
      /2 pending decisions under epic\/shop take "abort"; choose one with --decision ID/,
    );
    assert.equal(pickDecision('epic/shop', [question, { ...question, id: 'q#9' }], 'abort', 'q#9').id, 'q#9');
    assert.throws(
      () => pickDecision('epic/shop', [approval], 'retry', approval.id),
      /"retry" does not answer decision b\/a\/two#1 \(an approval decision\); it takes: approve, reject/,
    );
  });
});

describe('CLI rendering: API waits', () => {
  it('a phase whose agents wait on the API says who waits on what, and when it tries again', () => {
    const phase: StatusNode = {
      level: 'phase',
      slug: 'models',
      title: 'Data models',
      status: 'active',
      tasksTotal: 3,
      tasksCompleted: 1,
      usage: usage(1000, 0.01),
      apiWaits: [
        { taskId: '1.2', what: '429 rate_limit_error', nextTryAt: new Date(Date.now() + 12_000).toISOString() },
        {
          taskId: '1.3',
          what: 'held by a rate limit on this worker',
          nextTryAt: new Date(Date.now() + 11_500).toISOString(),
        },
      ],
    };
    const [line] = treeLines(phase);
    assert.match(line, /task 1\.2 waiting for the API: 429 rate_limit_error, next try in 1[12] s/);
    assert.match(line, /task 1\.3 waiting for the API: held by a rate limit on this worker, next try in 1[12] s/);
    assert.doesNotMatch(treeLines({ ...phase, apiWaits: undefined })[0], /waiting for the API/);
  });
});
