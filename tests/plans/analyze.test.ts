/** `phaseflow analyze`: the deterministic heuristic, its thresholds, and seed 003's table. */
import { strict as assert } from 'node:assert';
import path from 'node:path';
import { EpicSpec } from '../../src/domain/spec';
import { analyzeSpec, phaseComplexity, recommend } from '../../src/plans/analyze';
import { phaseflow } from '../cli/run-cli';
import { FakeAnthropic, reply } from '../fake-anthropic/server';

const task = (i: number, extra: Record<string, unknown> = {}) => ({ id: `1.${i}`, description: `task ${i}`, ...extra });
const spec = (phases: unknown[]) =>
  EpicSpec.parse({
    slug: 'a',
    title: 'A',
    workspace: '.',
    roadmaps: [{ slug: 'r', title: 'R', plans: [{ slug: 'p', title: 'P', phases }] }],
  });

describe('phaseflow analyze', () => {
  it('scores tasks, files, dependencies and description length, 1 to 10, with the reason', () => {
    const big = spec([
      {
        slug: 'big',
        title: 'Big',
        description: 'x'.repeat(3000),
        tasks: Array.from({ length: 16 }, (_, i) =>
          task(i + 1, { files: [`src/f${i % 6}.ts`], dependsOn: i > 0 && i < 7 ? [`1.${i}`] : [] }),
        ),
      },
    ]).roadmaps[0].plans[0].phases[0];
    const r = phaseComplexity(big);
    assert.equal(r.complexity, 10);
    assert.equal(
      r.reason,
      '16 tasks (+3), 6 files (+2), 6 dependencies (+2), 3103 characters of description (+2), 0 complex tasks (+0)',
    );
    const small = spec([{ slug: 's', title: 'S', tasks: [task(1)] }]).roadmaps[0].plans[0].phases[0];
    assert.equal(phaseComplexity(small).complexity, 1);
  });

  it('recommends expand at 8 or more and collapse at 4 or less; the thresholds are settable', () => {
    assert.deepEqual(
      [8, 7, 5, 4].map((c) => recommend(c)),
      ['expand', 'balanced', 'balanced', 'collapse'],
    );
    assert.deepEqual(
      [7, 6, 3].map((c) => recommend(c, { expandAt: 7, collapseAt: 3 })),
      ['expand', 'balanced', 'collapse'],
    );
    const rows = analyzeSpec(
      spec([
        { slug: 'one', title: 'One', tasks: [task(1)] },
        { slug: 'two', title: 'Two', tasks: Array.from({ length: 64 }, (_, i) => task(i + 10)) },
      ]),
    );
    assert.deepEqual(
      rows.map((r) => [r.number, r.complexity, r.recommendation]),
      [
        [1, 1, 'collapse'],
        [2, 6, 'balanced'],
      ],
    );
  });

  it("prints seed 003's table for a Markdown plan, and JSON with --json", async function () {
    this.timeout(30_000);
    const file = path.join(__dirname, 'fixtures', 'md-l0', '001_widget_cleanup.md');
    const r = await phaseflow(['analyze', file, '--collapse-at', '1', '--expand-at', '9']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Complexity Analysis Results: 001-widget-cleanup$/m);
    assert.match(r.stdout, /^Phase 1: Inventory {2,}Complexity: {2}1\/10 {2}Collapse$/m);
    assert.match(r.stdout, /^Recommendations: Collapse phases 1, 2, 3, 4 \(complexity ≤1\)$/m);
    const j = await phaseflow(['analyze', file, '--json']);
    const parsed = JSON.parse(j.stdout);
    assert.deepEqual(parsed.thresholds, { expandAt: 8, collapseAt: 4 });
    assert.equal(parsed.phases.length, 4);
    const bad = await phaseflow(['analyze', file, '--collapse-at', '8']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--collapse-at \(8\) must be below --expand-at \(8\)/);
  });
});

describe('phaseflow analyze --mode claude (fake Messages API on 127.0.0.1, real SDK)', function () {
  this.timeout(30_000);
  let fake: FakeAnthropic;
  const file = path.join(__dirname, 'fixtures', 'md-l0', '001_widget_cleanup.md');
  before(async () => {
    fake = await FakeAnthropic.start({ apiKey: 'sk-ant-test-analyze' });
  });
  after(() => fake?.close());
  const env = () => ({ ANTHROPIC_BASE_URL: fake.baseURL, ANTHROPIC_API_KEY: 'sk-ant-test-analyze' });

  it("the agent's structured answer gives each phase's complexity and reason; the thresholds give the advice", async () => {
    fake.enqueue(
      reply.toolUse('report_complexity', {
        phases: [
          { number: 1, complexity: 2, reason: 'a listing' },
          { number: 2, complexity: 9, reason: 'deletes shared code' },
          { number: 3, complexity: 5, reason: 'renames' },
          { number: 4, complexity: 3, reason: 'docs' },
        ],
      }),
    );
    const r = await phaseflow(['analyze', file, '--mode', 'claude'], env());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Phase 2: Remove Dead Widgets {2}Complexity: {2}9\/10 {2}⚠ Expand$/m);
    assert.match(r.stdout, /^ {4}agent: deletes shared code$/m);
    assert.match(
      r.stdout,
      /^Recommendations: Expand phase 2 \(complexity ≥8\); Collapse phases 1, 4 \(complexity ≤4\)$/m,
    );
    const body = fake.messageRequests[0].body;
    assert.deepEqual(body.tool_choice, { type: 'tool', name: 'report_complexity' });
    assert.match(body.messages[0].content, /Phase 2: Remove Dead Widgets/);
  });

  it('a malformed answer is a clear error (exit 1), not a made-up score', async () => {
    fake.enqueue(reply.toolUse('report_complexity', { phases: [{ number: 1, complexity: 12, reason: 'x' }] }));
    const r = await phaseflow(['analyze', file, '--mode', 'claude'], env());
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: plan 001-widget-cleanup: the agent's answer is malformed at phases\.0\.complexity/);
  });
});
