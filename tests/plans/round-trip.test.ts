/**
 * `import(export(x))` gives back `x`: the demo epic and corpus plans (a CCASP roadmap, a Level-1
 * and a Level-2 Markdown plan), written as Markdown at Levels 0, 1 and 2 and as CCASP files
 * (which validate against CCASP's schemas).
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadEpicFile } from '../../src/domain/load-spec';
import { EpicSpec } from '../../src/domain/spec';
import { exportCcasp } from '../../src/plans/ccasp-export';
import { importPlans } from '../../src/plans/import';
import { exportMarkdown, type FileSet } from '../../src/plans/markdown-export';
import { ccaspProblems } from '../support/ccasp';
import { CORPUS, rebuildCorpus } from './corpus';

const tmp: string[] = [];
after(() => tmp.forEach((d) => rmSync(d, { recursive: true, force: true })));

function write(files: FileSet): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pf-export-'));
  tmp.push(dir);
  for (const [f, content] of files) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), content);
  }
  return dir;
}

function roundTrips(name: string, load: () => EpicSpec): void {
  describe(`round trip: ${name}`, () => {
    for (const level of [0, 1, 2] as const) {
      it(`Markdown Level ${level}`, () => {
        const x = load();
        const back = importPlans([write(exportMarkdown(x, level))]);
        assert.deepEqual(EpicSpec.parse(back.spec), x);
        assert.deepEqual(back.warnings, []);
      });
    }
    it('CCASP files (valid against CCASP schemas)', () => {
      const x = load();
      const files = exportCcasp(x, '2026-01-02T03:04:05.000Z');
      for (const [f, content] of files) {
        const kind = f.endsWith('EPIC.json') ? 'epic' : f.endsWith('ROADMAP.json') ? 'roadmap' : 'progress';
        assert.deepEqual(ccaspProblems(kind, JSON.parse(content)), [], f);
      }
      const back = importPlans([write(files)]);
      assert.deepEqual(EpicSpec.parse(back.spec), x);
      assert.deepEqual(back.warnings, []);
    });
  });
}

roundTrips('the demo epic', () => loadEpicFile(path.join(__dirname, '../../examples/demo-epic.yaml')));

const corpusRoot = existsSync(CORPUS) ? rebuildCorpus() : undefined;
if (corpusRoot) tmp.push(corpusRoot);
const corpusPlan = (rel: string) => () => EpicSpec.parse(importPlans([path.join(corpusRoot!, rel)]).spec);
if (corpusRoot) {
  roundTrips(
    'corpus CCASP roadmap ccasp-package-enhancements (all completed)',
    corpusPlan('evan043+claude-cli-starter-pack/.claude/roadmaps/ccasp-package-enhancements/ROADMAP.json'),
  );
  roundTrips(
    'corpus Level-1 plan 035_deferred_tasks_completion',
    corpusPlan('benbrastmckie+nvim/.claude/specs/plans/035_deferred_tasks_completion'),
  );
  roundTrips(
    'corpus Level-2 plan 072_claude_infrastructure_refactoring',
    corpusPlan('benbrastmckie+nvim/.claude/specs/plans/072_claude_infrastructure_refactoring'),
  );
  roundTrips(
    'corpus Level-0 plan 528 (2026 format, all completed)',
    corpusPlan('benbrastmckie+nvim/specs/528_update_continuation_loop_docs/plans/01_update-continuation-loop-docs.md'),
  );
}
