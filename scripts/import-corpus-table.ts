/** Prints the corpus import table (file or directory → result): `node -r tsx/cjs scripts/import-corpus-table.ts`. */
import { rmSync } from 'node:fs';
import { corpusItems, corpusTable, importRow, rebuildCorpus } from '../tests/plans/corpus';

const root = rebuildCorpus();
try {
  const rows = corpusItems(root).map(({ item, kind }) => importRow(root, item, kind));
  console.log(corpusTable(rows));
  const specs = rows.filter((r) => r.result === 'spec').length;
  console.log(`\n${rows.length} items: ${specs} specs, ${rows.length - specs} clear errors, 0 crashes`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
