/**
 * The dry-run specialists' text operations on real corpus plans: expanding every phase of a
 * Level-0 plan and collapsing them all back keeps every task and its status (as `import` reads
 * them), and the metadata follows the level.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EpicSpec } from '../../src/domain/spec';
import { importPlans } from '../../src/plans/import';
import {
  applyOperations,
  collapsePhase,
  expandPhase,
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
