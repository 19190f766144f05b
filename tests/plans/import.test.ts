/**
 * `phaseflow import`: the whole real corpus (every file and plan directory imports to a valid spec
 * or gets a clear error, never a crash), our own fixtures built from what the corpus showed (the
 * contradictions settled by the README's rule, each with a warning naming file and line or
 * field), and bad input (exit 2, the file and field or line named, nothing written).
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { EpicSpec } from '../../src/domain/spec';
import { formatWarning, ImportError, importPlans } from '../../src/plans/import';
import { phaseflow } from '../cli/run-cli';
import { CORPUS, corpusItems, type CorpusRow, importRow, rebuildCorpus } from './corpus';

const FIX = path.join(__dirname, 'fixtures');
const fx = (...p: string[]) => path.join(FIX, ...p);

function tasksOf(spec: any): any[] {
  return spec.roadmaps.flatMap((r: any) => r.plans.flatMap((p: any) => p.phases.flatMap((ph: any) => ph.tasks)));
}
function phasesOf(spec: any): any[] {
  return spec.roadmaps.flatMap((r: any) => r.plans.flatMap((p: any) => p.phases));
}
const done = (xs: any[]) => xs.filter((x) => x.status === 'completed').map((x) => x.id ?? x.slug);
const warningText = (ws: { file: string; at?: string; message: string }[]) => ws.map(formatWarning).join('\n');

describe('phaseflow import: the real corpus', function () {
  this.timeout(60_000);
  let root: string;
  let rows: CorpusRow[];
  before(function () {
    if (!existsSync(CORPUS)) this.skip();
    root = rebuildCorpus();
    rows = corpusItems(root).map(({ item, kind }) => importRow(root, item, kind));
  });
  after(() => root && rmSync(root, { recursive: true, force: true }));

  it('every file and plan directory imports to a valid spec or gets a clear error naming the file (no crash)', () => {
    assert.ok(rows.length >= 120, `${rows.length} items`);
    const specs = rows.filter((r) => r.result === 'spec');
    assert.ok(specs.length >= 100, `${specs.length} specs`);
    for (const r of rows.filter((x) => x.result === 'error')) assert.ok(r.detail.startsWith(r.item), r.detail);
  });

  it('gives the documented errors: invalid JSON with its line, foreign state files, sidecars, stray files', () => {
    const err = (suffix: string) => rows.find((r) => r.item.endsWith(suffix))!;
    assert.match(err('dirvine+p2p/.claude/orchestrator/state.json').detail, /line 112, column 1: not valid JSON/);
    assert.match(
      err('Biparker+CodeCollabProj@0dea06d/.claude/orchestrator/state.json').detail,
      /not a CCASP file: another tool's orchestrator state/,
    );
    assert.match(err('progress/phase-1-progress.json').detail, /progress sidecar/);
    assert.match(err('077_migration_tracking.csv').detail, /unknown format "\.csv"/);
    assert.match(err('072_claude_infrastructure_refactoring.md.backup').detail, /unknown format "\.backup"/);
    assert.match(err('docs/HIERARCHY.md/jsonblock0.json').detail, /roadmaps\[0\]\.path: no such file/);
  });

  it('settles the corpus contradictions by the rule and warns with file and line or field', () => {
    const at = (item: string) => importPlans([path.join(root, item)]);
    const loc = at('evan043+claude-cli-starter-pack/.claude/roadmaps/ccasp-500loc-refactor/ROADMAP.json');
    assert.deepEqual(done(phasesOf(loc.spec)), [], 'a completed roadmap does not complete its pending phases');
    assert.match(
      warningText(loc.warnings),
      /ROADMAP\.json: status: the roadmap says completed but 10 of its 10 phases/,
    );

    const l045 = at('benbrastmckie+nvim/.claude/specs/plans/045_claude_directory_optimization');
    assert.match(
      warningText(l045.warnings),
      /phase_4_context_optimization\.md: line 1: heading says Phase 3 but the file is phase 4 of the main plan/,
    );
    assert.match(
      warningText(l045.warnings),
      /phase_7_revision_validation\.md: not the phase overview nor a stage file/,
    );
    const p058 = at(
      'benbrastmckie+ProofChecker/.claude/specs/058_conceptual_engineering_readme_alignment/plans/001-conceptual-engineering-readme-alignment-plan.md',
    );
    assert.match(warningText(p058.warnings), /line 10: metadata says Structure Level 2 .* Level 0/);
    const p019 = at('benbrastmckie+ProofChecker/.claude/specs/019_research_todo_implementation_plan/plans');
    assert.match(warningText(p019.warnings), /line 12: metadata says Structure Level 1 .* Level 2: read as Level 2/);
    // Success Criteria checkboxes before the phases are not tasks; '# ' lines in fences are not headings.
    const dark = at('benbrastmckie+nvim/.claude/specs/plans/007_dark_mode_implementation.md');
    assert.equal(phasesOf(dark.spec).length, 4);
    assert.ok(!tasksOf(dark.spec).some((t) => /^All /.test(t.description)));
  });
});

describe('phaseflow import: fixtures', () => {
  it('Level 0: heading markers, checkboxes, Objective, Testing blocks as gate commands, criteria not tasks', () => {
    const r = importPlans([fx('md-l0', '001_widget_cleanup.md')]);
    const spec = EpicSpec.parse(r.spec);
    const phases = spec.roadmaps[0].plans[0].phases;
    assert.deepEqual(
      phases.map((p) => [p.title, p.status ?? 'pending']),
      [
        ['Inventory', 'completed'],
        ['Remove Dead Widgets', 'pending'],
        ['Tidy the API', 'completed'],
        ['Document', 'pending'],
      ],
    );
    assert.equal(phases[0].description, 'List every widget and who uses it');
    // **Complexity**: Low → the phase's tasks are `simple` (the model class); others keep the default.
    assert.deepEqual(
      phases.map((p) => p.tasks[0].complexity),
      ['simple', 'default', 'default', 'default'],
    );
    assert.deepEqual(done(phases[1].tasks), ['2.1']);
    assert.deepEqual(phases[1].tasks[2].dependsOn, ['2.2']);
    assert.deepEqual(phases[1].gate.commands, ['# the whole suite must stay green\ntest -d .']);
    assert.deepEqual(phases[1].gate.successCriteria, ['Index compiles']);
    assert.ok(!tasksOf(spec).some((t) => /No dead code|full suite/.test(t.description)));
    // Phase 1 says COMPLETED over an unchecked box: the mark wins, with a warning at its line.
    assert.deepEqual(done(phases[0].tasks), ['1.1', '1.2']);
    assert.match(
      warningText(r.warnings),
      /001_widget_cleanup\.md: line 15: phase 1 is marked completed but 1 of its 2/,
    );
  });

  it('Level 1: the phase file replaces the inline summary; drifted numbers and a wrong Structure Level are warned', () => {
    const r = importPlans([fx('md-l1', '002_search_index')]);
    const phases = phasesOf(r.spec);
    assert.deepEqual(
      phases[1].tasks.map((t: any) => t.id),
      ['2.1', '2.2', '2.3'],
    );
    assert.equal(phases[1].description, 'Build the inverted index from tokenized notes.');
    assert.deepEqual(phases[1].gate.commands, ['test -d .']);
    const w = warningText(r.warnings);
    assert.match(w, /phase_2_index_builder\.md: line 1: heading says Phase 3 but the file is phase 2/);
    assert.match(w, /002_search_index\.md: line 6: metadata says Structure Level 2 but the files on disk are Level 1/);
  });

  it('Level 2: stage files add their tasks (a completed stage counts as done); other files in the phase directory are ignored', () => {
    const r = importPlans([fx('md-l2', '003_sync_engine')]);
    const phase = phasesOf(r.spec)[1];
    assert.deepEqual(
      phase.tasks.map((t: any) => [t.id, t.status ?? 'pending']),
      [
        ['2.s1.1', 'completed'],
        ['2.s1.2', 'completed'],
        ['2.s2.1', 'pending'],
        ['2.s2.2', 'pending'],
      ],
    );
    const w = warningText(r.warnings);
    assert.match(w, /review_notes\.md: not the phase overview nor a stage file: ignored/);
    assert.match(w, /003_sync_engine\.md: line 4: metadata says Structure Level 1 but the files on disk are Level 2/);
  });

  it('a .claude directory: ROADMAP phases, phase-plan details, orchestrator state.json as hints', () => {
    const r = importPlans([fx('ccasp', '.claude')]);
    const phases = phasesOf(r.spec);
    assert.deepEqual(
      phases.map((p: any) => [p.slug, p.status ?? 'pending']),
      [
        ['invoices', 'completed'],
        ['payments', 'pending'],
        ['reports', 'pending'],
      ],
    );
    assert.deepEqual(done(phases[1].tasks), ['2.1', '2.2'], '2.1 checked in the roadmap, 2.2 from state.json');
    assert.match(phases[1].tasks[1].description, /Verify signatures/, 'details from the phase-plan file');
    assert.deepEqual(phases[1].gate.commands, ['test -d .']);
    const w = warningText(r.warnings);
    assert.match(w, /state\.json lists it completed/);
    assert.match(
      w,
      /phase-2\.json: status: phase 2 is pending here but in_progress in ROADMAP\.json: the roadmap's status wins/,
    );
  });

  it('--strict makes warnings errors', () => {
    assert.throws(
      () => importPlans([fx('md-l1', '002_search_index')], { strict: true }),
      (e: unknown) => e instanceof ImportError && /--strict: \d+ warning\(s\) are errors/.test(e.message),
    );
  });
});

describe('phaseflow import: bad input (CLI)', function () {
  this.timeout(60_000);
  let out: string;
  beforeEach(() => {
    out = path.join(mkdtempSync(path.join(os.tmpdir(), 'pf-import-')), 'epic.yaml');
  });

  const cases: [string, string, RegExp][] = [
    [
      'malformed JSON',
      fx('bad', 'malformed.json'),
      /malformed\.json: line 1, column \d+: not valid JSON: ValueExpected/,
    ],
    [
      'a dependency cycle',
      fx('bad', 'cycle.json'),
      /cycle\.json: roadmaps\[0\].*tasks\[0\]\.dependsOn: dependency cycle: 1\.1 -> 1\.2 -> 1\.1/,
    ],
    [
      'a dependency on a missing task',
      fx('bad', 'missing-dep.json'),
      /missing-dep\.json: phases\[0\]\.tasks\[0\]: task 1\.1 depends on "9\.9", but the plan has no task/,
    ],
    ['a plan with no phases', fx('bad', 'no-phases.md'), /no-phases\.md: the plan has no phases/],
    ['an unknown format', fx('bad', 'tracking.csv'), /tracking\.csv: unknown format "\.csv"/],
    ['a missing path', fx('bad', 'nope.json'), /nope\.json: no such file or directory/],
  ];
  for (const [what, file, message] of cases) {
    it(`${what}: exit 2, one clear error, nothing written`, async () => {
      const r = await phaseflow(['import', file, '--out', out]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.ok(!existsSync(out), 'nothing written');
    });
  }

  it('a good import writes the spec, which validates; warnings go to stderr', async () => {
    const r = await phaseflow(['import', fx('md-l0', '001_widget_cleanup.md'), '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /epic "001-widget-cleanup" .* 4 phase\(s\) \(2 completed\)/);
    assert.match(r.stderr, /^warning: .*001_widget_cleanup\.md: line 15:/m);
    const v = await phaseflow(['validate', out]);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(YAML.parse(readFileSync(out, 'utf8')).slug, '001-widget-cleanup');
  });
});
