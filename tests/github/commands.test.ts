/** The `/phaseflow …` comment commands, parsed against the question they answer (pure). */
import { strict as assert } from 'node:assert';
import { parseCommand } from '../../src/activities/github/commands';
import { ACTIONS, type PendingDecision } from '../../src/domain/decisions';

const question = (kind: PendingDecision['kind'], extra: Partial<PendingDecision> = {}): PendingDecision => ({
  id: 'road/core/build#1',
  kind,
  cause: kind === 'escalation' ? 'task-failed' : kind === 'approval' ? 'approval' : 'budget',
  workflowId: 'epic/e/road/core/build',
  epicSlug: 'e',
  roadmapSlug: 'road',
  planSlug: 'core',
  phaseSlug: 'build',
  phaseTitle: 'Build',
  question: 'q?',
  detail: '',
  actions: ACTIONS[kind],
  askedAt: '2026-12-06T00:00:00.000Z',
  defaultAction: ACTIONS[kind][0],
  defaultAt: '2026-12-07T00:00:00.000Z',
  ...extra,
});

describe('GitHub comment commands', () => {
  it('approve and reject (with its reason) answer an approval', () => {
    assert.deepEqual(parseCommand('/phaseflow approve', question('approval')), { answer: { action: 'approve' } });
    assert.deepEqual(parseCommand('/phaseflow approve looks good\nmore text', question('approval')), {
      answer: { action: 'approve', note: 'looks good' },
    });
    assert.deepEqual(parseCommand('/phaseflow reject because the API is wrong', question('approval')), {
      answer: { action: 'reject', note: 'the API is wrong' },
    });
    assert.match(
      (parseCommand('/phaseflow reject', question('approval')) as { problem: string }).problem,
      /a reject needs a reason: `\/phaseflow reject because <reason>`/,
    );
  });

  it('retry, retry-phase, skip and abort answer an escalation; anything else is named with what is accepted', () => {
    for (const a of ['retry', 'retry-phase', 'skip', 'abort'] as const)
      assert.deepEqual(parseCommand(`/phaseflow ${a}`, question('escalation')), { answer: { action: a } });
    const wrong = parseCommand('/phaseflow approve', question('escalation')) as { problem: string };
    assert.match(
      wrong.problem,
      /"approve" does not answer decision road\/core\/build#1; it takes: `\/phaseflow retry`/,
    );
  });

  it('budget --usd / --tokens raises a spent budget on the question level', () => {
    assert.deepEqual(parseCommand('/phaseflow budget --usd 80', question('budget', { budgetLevel: 'epic' })), {
      answer: { action: 'raise', usd: 80, level: 'epic' },
    });
    assert.deepEqual(parseCommand('/phaseflow budget --tokens 200000 --usd 2.5', question('budget')), {
      answer: { action: 'raise', usd: 2.5, tokens: 200000 },
    });
    assert.match(
      (parseCommand('/phaseflow budget', question('budget')) as { problem: string }).problem,
      /needs --usd X and\/or --tokens N/,
    );
    assert.match(
      (parseCommand('/phaseflow budget --usd 80', question('approval')) as { problem: string }).problem,
      /is not a budget question/,
    );
  });
});
