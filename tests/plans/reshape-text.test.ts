/**
 * The dry-run specialists' text operations on real corpus plans: expanding every phase of a
 * Level-0 plan and collapsing them all back keeps every task and its status (as `import` reads
 * them), and the metadata follows the level.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EpicSpec } from '../../src/domain/spec';
import { importPlans } from '../../src/plans/import';
import {
  applyOperations,
  collapsePhase,
  collapseStages,
  expandPhase,
  expandToStages,
  layoutOf,
  type PlanTree,
  sections,
} from '../../src/plans/reshape';
import { CORPUS, rebuildCorpus } from './corpus';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function write(tree: PlanTree): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'pf-reshape-'));
  dirs.push(d);
  for (const [f, c] of tree) {
    mkdirSync(path.dirname(path.join(d, f)), { recursive: true });
    writeFileSync(path.join(d, f), c);
  }
  return d;
}

const tasks = (p: string) =>
  EpicSpec.parse(importPlans([p]).spec).roadmaps[0].plans[0].phases.map((ph) =>
    ph.tasks.map((t) => [t.description, t.status ?? 'pending']),
  );

describe('expand and collapse text operations on corpus plans', function () {
  this.timeout(60_000);
  let root: string;
  before(function () {
    if (!existsSync(CORPUS)) this.skip();
    root = rebuildCorpus();
    dirs.push(root);
  });

  for (const rel of [
    'benbrastmckie+nvim/.claude/specs/plans/007_dark_mode_implementation.md',
    'benbrastmckie+nvim/.claude/specs/plans/032_progressive_expansion_checks.md',
    'benbrastmckie+ModelChecker/specs/plans/105_smt_solver_abstraction.md',
    'benbrastmckie+nvim/specs/528_update_continuation_loop_docs/plans/01_update-continuation-loop-docs.md',
  ]) {
    it(`${path.basename(rel)}: every phase expanded (Level 1) and collapsed back (Level 0), tasks unchanged`, () => {
      const file = path.join(root, rel);
      const stem = path.basename(file, '.md');
      const main = readFileSync(file, 'utf8');
      const numbers = sections(main).map((s) => s.number);
      const expanded = applyOperations(
        new Map([[`${stem}.md`, main]]),
        stem,
        'expand',
        numbers.map((n) => ({ phase: n, ...expandPhase(main, n) })),
      );
      const layout = layoutOf(expanded, stem);
      assert.equal(layout.level, 1);
      assert.equal(layout.phaseFiles.size, numbers.length);
      const newMain = expanded.get(layout.main)!;
      assert.match(newMain, /- \*\*Structure Level\*\*: 1\n/);
      assert.ok(newMain.includes(`- **Expanded Phases**: [${numbers.join(', ')}]`));
      assert.deepEqual(tasks(path.join(write(expanded), stem)), tasks(file));

      const collapsed = applyOperations(
        expanded,
        stem,
        'collapse',
        numbers.map((n) => ({
          phase: n,
          text: collapsePhase(
            expanded.get(layout.phaseFiles.get(n)!)!,
            sections(newMain).find((s) => s.number === n)!.depth,
          ).text,
        })),
      );
      assert.deepEqual([...collapsed.keys()], [`${stem}.md`]);
      assert.match(collapsed.get(`${stem}.md`)!, /- \*\*Structure Level\*\*: 0\n- \*\*Expanded Phases\*\*: \[\]/);
      assert.deepEqual(tasks(path.join(write(collapsed), `${stem}.md`)), tasks(file));
    });
  }
});

/** The whole imported spec, without where each status came from (file and line differ by level). */
const specOf = (p: string) =>
  JSON.parse(
    JSON.stringify(EpicSpec.parse(importPlans([p]).spec), (k, v) => (k === 'source' ? undefined : v)),
  ) as unknown;

function readTree(dir: string, stem: string): PlanTree {
  const tree: PlanTree = new Map();
  const walk = (rel: string) => {
    for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.posix.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else tree.set(r, readFileSync(path.join(dir, r), 'utf8'));
    }
  };
  walk(stem);
  return tree;
}

describe('expand and collapse between Levels 1 and 2 (stages)', () => {
  it('a Level-1 phase file becomes a phase directory with stages and back: the same spec, metadata true', () => {
    const fixtures = path.join(__dirname, 'fixtures', 'md-l1');
    const stem = '002_search_index';
    const l1 = readTree(fixtures, stem);
    const before = specOf(path.join(fixtures, stem));
    const phase = EpicSpec.parse(importPlans([path.join(fixtures, stem)]).spec).roadmaps[0].plans[0].phases[1];

    const e = expandToStages(phase, '2', 'phase_2_index_builder');
    assert.match(e.summary, /3 tasks in 1 stage\(s\)/);
    const l2 = applyOperations(l1, stem, 'expand', [{ phase: '2', files: e.files }]);
    const layout = layoutOf(l2, stem);
    assert.equal(layout.level, 2);
    assert.deepEqual([...layout.phaseDirs], [['2', `${stem}/phase_2_index_builder`]]);
    assert.deepEqual([...l2.keys()].sort(), [
      `${stem}/${stem}.md`,
      `${stem}/phase_2_index_builder/phase_2_index_builder.md`,
      `${stem}/phase_2_index_builder/stage_1_tasks.md`,
    ]);
    const main2 = l2.get(`${stem}/${stem}.md`)!;
    assert.match(main2, /- \*\*Structure Level\*\*: 2\n- \*\*Expanded Phases\*\*: \[2\]/);
    assert.ok(main2.includes('](phase_2_index_builder/phase_2_index_builder.md)'));
    assert.match(l2.get(`${stem}/phase_2_index_builder/phase_2_index_builder.md`)!, /\*\*Expanded Stages\*\*: \[1\]/);
    const d2 = write(l2);
    assert.deepEqual(specOf(path.join(d2, stem)), before);
    const got = importPlans([path.join(d2, stem)]);
    assert.deepEqual(
      got.warnings.filter((w) => /Structure Level|Expanded Phases/.test(w.message)),
      [],
      'the metadata matches the files on disk',
    );

    const phase2 = EpicSpec.parse(got.spec).roadmaps[0].plans[0].phases[1];
    const c = collapseStages(phase2, '2');
    const back = applyOperations(l2, stem, 'collapse', [
      { phase: '2', text: c.text, file: 'phase_2_index_builder.md' },
    ]);
    assert.deepEqual([...back.keys()].sort(), [`${stem}/${stem}.md`, `${stem}/phase_2_index_builder.md`]);
    const main1 = back.get(`${stem}/${stem}.md`)!;
    assert.match(main1, /- \*\*Structure Level\*\*: 1\n- \*\*Expanded Phases\*\*: \[2\]/);
    assert.ok(main1.includes('](phase_2_index_builder.md)'));
    const d1 = write(back);
    assert.deepEqual(specOf(path.join(d1, stem)), before);
    assert.deepEqual(
      importPlans([path.join(d1, stem)]).warnings.filter((w) => /Structure Level|Expanded Phases/.test(w.message)),
      [],
    );
  });
});

describe('collapse of a real Level-2 plan (corpus)', function () {
  this.timeout(60_000);
  it('072_claude_infrastructure_refactoring: every phase directory collapsed to a phase file, the same spec', function () {
    if (!existsSync(CORPUS)) this.skip();
    const root = rebuildCorpus();
    dirs.push(root);
    const parent = path.join(root, 'benbrastmckie+nvim/.claude/specs/plans');
    const stem = '072_claude_infrastructure_refactoring';
    const tree = readTree(parent, stem);
    const layout = layoutOf(tree, stem);
    assert.equal(layout.level, 2);
    const numbers = [...layout.phaseDirs.keys()];
    assert.ok(numbers.length >= 2);
    const spec = EpicSpec.parse(importPlans([path.join(parent, stem)]).spec).roadmaps[0].plans[0];
    const main = tree.get(layout.main)!;
    const index = (n: string) => sections(main).findIndex((s) => s.number === n);
    const collapsed = applyOperations(
      tree,
      stem,
      'collapse',
      numbers.map((n) => ({ phase: n, ...collapseStages(spec.phases[index(n)], n) })),
    );
    const after = layoutOf(collapsed, stem);
    assert.equal(after.level, 1);
    assert.equal(after.phaseDirs.size, 0);
    assert.match(collapsed.get(after.main)!, /- \*\*Structure Level\*\*: 1\n/);
    assert.deepEqual(specOf(path.join(write(collapsed), stem)), specOf(path.join(parent, stem)));
  });
});
