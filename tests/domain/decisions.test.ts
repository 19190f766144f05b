/**
 * The checks people's messages pass before they reach a workflow (pure functions, no server): a
 * `control` signal, a `decide` answer against the pending question and where its budget stands,
 * and the numbers a budget question shows.
 */
import { strict as assert } from 'node:assert';
import { type BudgetStanding, limitText, spentText } from '../../src/domain/budget';
import { answerProblem, controlProblem, type PendingDecision } from '../../src/domain/decisions';
import { usdText } from '../../src/domain/format';

const budgetQuestion: PendingDecision = {
  id: 'rm/pl/ph#2',
  kind: 'budget',
  cause: 'budget',
  workflowId: 'epic/walk/rm/pl/ph',
  epicSlug: 'walk',
  roadmapSlug: 'rm',
  planSlug: 'pl',
  phaseSlug: 'ph',
  phaseTitle: 'Phase',
  question: 'The epic budget of walk is spent. Raise it, or abort?',
  detail: '',
  budgetLevel: 'epic',
  actions: ['raise', 'abort'],
  askedAt: '2026-11-21T10:00:00.000Z',
  defaultAction: 'abort',
  defaultAt: '2026-11-22T10:00:00.000Z',
};
const standing: BudgetStanding = {
  level: 'epic',
  slug: 'walk',
  limit: { tokens: 6000 },
  spentTokens: 6348,
  spentUsd: 0.0132,
};

describe('decision and control checks', () => {
  it("control: the walkthrough's malformed signals are refused with what is wrong; good ones pass", () => {
    const cases: [unknown, RegExp | null][] = [
      [{ budget: { level: 'epic', tokens: 'lots' } }, /^budget\.tokens must be a positive integer, got "lots"$/],
      [{ budget: { level: 'epik', tokens: 5 } }, /^budget\.level must be one of epic, roadmap, plan, got "epik"$/],
      [{ budget: { level: 'epic', tokens: 0 } }, /budget\.tokens must be a positive integer/],
      [{ budget: { level: 'epic', tokens: 1.5 } }, /budget\.tokens must be a positive integer/],
      [{ budget: { level: 'epic', usd: -1 } }, /budget\.usd must be a positive number/],
      [{ budget: { level: 'epic', usd: null } }, /budget\.usd must be a positive number, got null/],
      [{ budget: { level: 'epic' } }, /budget needs tokens and\/or usd/],
      [{ budget: { level: 'plan', slug: '', tokens: 5 } }, /budget\.slug must be a non-empty string/],
      [{ budget: { level: 'epic', tokens: 5, limit: 3 } }, /unknown field "budget\.limit"/],
      [{ budget: 5 }, /budget must be an object/],
      [{ paused: 'yes' }, /paused must be true or false, got "yes"/],
      [{ paused: true, pause: true }, /unknown field "pause"; expected: paused, budget, by/],
      [{ paused: true, by: 7 }, /by must be a string/],
      [{ by: 'alice' }, /nothing to do/],
      [null, /expected an object .*got null/],
      ['pause', /got string "pause"/],
      [[{ paused: true }], /got an array/],
      [{ paused: true, by: 'alice' }, null],
      [{ paused: false }, null],
      [{ budget: { level: 'epic', tokens: 2_000_000 } }, null],
      [{ budget: { level: 'plan', slug: 'api', usd: 0.5 }, by: 'alice' }, null],
    ];
    for (const [msg, expected] of cases) {
      const problem = controlProblem(msg);
      if (expected) assert.match(String(problem), expected, JSON.stringify(msg));
      else assert.equal(problem, null, JSON.stringify(msg));
    }
  });

  it('decide: a raise must lift the spent level above what is spent, on the level asked about', () => {
    const check = (a: unknown, b: BudgetStanding | undefined = standing) => answerProblem(budgetQuestion, a, b);
    assert.equal(
      check({ action: 'raise', tokens: 2000 }),
      '2,000 tokens is not above the 6,348 already spent on the epic budget of walk',
    );
    assert.match(String(check({ action: 'raise', tokens: 6348 })), /6,348 tokens is not above the 6,348 already spent/);
    assert.equal(
      check({ action: 'raise', tokens: 9000, level: 'roadmap' }),
      'this question is about the epic budget, not the roadmap budget (leave the level out, or give "epic")',
    );
    assert.match(
      String(check({ action: 'raise', usd: 5 })),
      /the token limit on the epic budget of walk \(6,000\) is spent too \(6,348 used\): give tokens above 6,348/,
    );
    assert.match(
      String(check({ action: 'raise', tokens: 9000, usd: 0.01 }, { ...standing, limit: { tokens: 6000, usd: 0.01 } })),
      /\$0\.01 is not above the \$0\.0132 already spent/,
    );
    assert.match(
      String(check({ action: 'raise', tokens: 9000, level: 'epik' })),
      /level must be one of epic, roadmap, plan/,
    );
    assert.match(String(check({ action: 'raise', tokens: '9000' })), /tokens must be a positive integer, got "9000"/);
    assert.match(String(check({ action: 'raise', tokens: 9000, note: 5 })), /note must be a string/);
    assert.match(String(check({ action: 'raise', tokens: 9000, amount: 1 })), /unknown field "amount"/);
    assert.match(String(check('raise')), /the answer must be an object/);
    assert.match(
      String(check({ action: 'approve' })),
      /"approve" does not answer a budget decision; expected one of: raise, abort/,
    );
    assert.equal(check({ action: 'raise', tokens: 9000 }), null);
    assert.equal(
      check({ action: 'raise', tokens: 9000, level: 'epic', by: 'alice', note: 'ok', decisionId: 'rm/pl/ph#2' }),
      null,
    );
    assert.equal(check({ action: 'abort', note: 'too pricey' }), null);
    assert.match(String(answerProblem(undefined, { action: 'raise', tokens: 9000 })), /no decision is pending/);
  });

  it('budget numbers: no "$∞", no "$-0.013212"; dollars with 2 decimals, 4 for fractions of a cent under $1', () => {
    assert.deepEqual(
      [usdText(0.5), usdText(20), usdText(0.013212), usdText(0), usdText(-0.013212)],
      ['$0.50', '$20.00', '$0.0132', '$0.00', '−$0.0132'],
    );
    assert.equal(limitText({ tokens: 6000 }), '6,000 tokens');
    assert.equal(limitText({ tokens: 6000, usd: 0.5 }), '6,000 tokens / $0.50');
    assert.equal(limitText({}), 'none');
    assert.equal(spentText(standing), 'limit 6,000 tokens; spent 6,348 tokens (over by 348 tokens)');
    assert.equal(
      spentText({
        level: 'epic',
        slug: 'w',
        limit: { tokens: 1000, usd: 0.01 },
        spentTokens: 4502,
        spentUsd: 0.023212,
      }),
      'limit 1,000 tokens / $0.01; spent 4,502 tokens / $0.0232 (over by 3,502 tokens, over by $0.0132)',
    );
    assert.equal(
      spentText({ level: 'plan', slug: 'p', limit: { tokens: 100_000, usd: 0.5 }, spentTokens: 4502, spentUsd: 0.5 }),
      'limit 100,000 tokens / $0.50; spent 4,502 tokens / $0.50 (95,498 tokens left, no USD left)',
    );
  });
});
