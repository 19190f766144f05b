/**
 * The real plan corpus (../shared/reference/plans-corpus) rebuilt as the directory trees its file
 * names encode (`a__b__c.md` → `a/b/c.md`; an older version `x@abc1234.json` goes to its own tree
 * `<repo>@abc1234/`), and every file and plan directory of it imported.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EpicSpec } from '../../src/domain/spec';
import { importPlans, ImportError } from '../../src/plans/import';

export const CORPUS = path.resolve(__dirname, '../../../shared/reference/plans-corpus');

export interface CorpusRow {
  /** Path inside the rebuilt tree (`<owner+repo>/<original path>`). */
  item: string;
  kind: 'file' | 'directory';
  result: 'spec' | 'error';
  /** Plans, phases, tasks (completed) of the spec; or the error. */
  detail: string;
  warnings: number;
}

export function rebuildCorpus(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'pf-corpus-'));
  for (const repo of readdirSync(CORPUS)) {
    const repoDir = path.join(CORPUS, repo);
    if (!statSync(repoDir).isDirectory()) continue;
    const walk = (d: string, rel: string) => {
      for (const e of readdirSync(d)) {
        const full = path.join(d, e);
        if (statSync(full).isDirectory()) {
          walk(full, path.join(rel, e));
          continue;
        }
        const version = /@([0-9a-f]{7})(?=\.[a-z.]+$)/.exec(e);
        const name = e.replace(/@[0-9a-f]{7}(?=\.[a-z.]+$)/, '');
        const target = path.join(root, version ? `${repo}@${version[1]}` : repo, rel, ...name.split('__'));
        mkdirSync(path.dirname(target), { recursive: true });
        copyFileSync(full, target);
      }
    };
    walk(repoDir, '');
  }
  return root;
}

/** Every file, and every directory that holds a plan (a `X/X.md` plan directory, a `plans/` or `.claude/` directory). */
export function corpusItems(root: string): { item: string; kind: 'file' | 'directory' }[] {
  const items: { item: string; kind: 'file' | 'directory' }[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d).sort()) {
      const full = path.join(d, e);
      const rel = path.relative(root, full);
      if (statSync(full).isDirectory()) {
        if (existsSync(path.join(full, `${e}.md`)) || e === 'plans' || e === '.claude' || /^phase_\d/.test(e))
          items.push({ item: rel, kind: 'directory' });
        walk(full);
      } else items.push({ item: rel, kind: 'file' });
    }
  };
  walk(root);
  return items;
}

export function importRow(root: string, item: string, kind: 'file' | 'directory'): CorpusRow {
  try {
    const r = importPlans([path.join(root, item)]);
    const spec = EpicSpec.parse(r.spec);
    const plans = spec.roadmaps.flatMap((rm) => rm.plans);
    const phases = plans.flatMap((p) => p.phases);
    const tasks = phases.flatMap((p) => p.tasks);
    const done = tasks.filter((t) => t.status === 'completed').length;
    const phasesDone = phases.filter((p) => p.status === 'completed').length;
    return {
      item,
      kind,
      result: 'spec',
      detail: `${plans.length} plan(s), ${phases.length} phase(s) (${phasesDone} completed), ${tasks.length} task(s) (${done} completed)`,
      warnings: r.warnings.length,
    };
  } catch (e) {
    if (!(e instanceof ImportError)) throw new Error(`${item}: import crashed: ${(e as Error).stack}`);
    return {
      item,
      kind,
      result: 'error',
      detail: e.message
        .split(root + path.sep)
        .join('')
        .split('\n')[0],
      warnings: 0,
    };
  }
}

export function corpusTable(rows: CorpusRow[]): string {
  const lines = ['| item | kind | result | warnings |', '|---|---|---|---|'];
  for (const r of rows)
    lines.push(
      `| \`${r.item}\` | ${r.kind} | ${r.result === 'spec' ? `spec: ${r.detail}` : `error: ${r.detail.replace(/\|/g, '\\|')}`} | ${r.warnings} |`,
    );
  return lines.join('\n');
}
