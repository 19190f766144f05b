/**
 * Files shared by the tasks of one phase: tasks that declare the same path in `files` never run at
 * the same time, and files two tasks wrote are reported as conflicts. Pure, for workflows.
 */

/** A declared path in one spelling: no leading "./", no "." segments, no doubled or trailing slashes. */
export function normalizeDeclaredPath(p: string): string {
  const parts = p.split('/').filter((seg) => seg !== '' && seg !== '.');
  return (p.startsWith('/') ? '/' : '') + parts.join('/');
}

/** For each task, the other tasks that declare a path it declares too (only tasks that have some). */
export function tasksSharingFiles(tasks: { id: string; files: readonly string[] }[]): Map<string, Set<string>> {
  const byPath = new Map<string, string[]>();
  for (const t of tasks)
    for (const f of new Set(t.files.map(normalizeDeclaredPath))) byPath.set(f, [...(byPath.get(f) ?? []), t.id]);
  const out = new Map<string, Set<string>>();
  for (const ids of byPath.values()) {
    if (ids.length < 2) continue;
    for (const id of ids) {
      const others = out.get(id) ?? new Set<string>();
      for (const o of ids) if (o !== id) others.add(o);
      out.set(id, others);
    }
  }
  return out;
}

/** Files written by more than one task, each with the tasks that wrote it, sorted by file. */
export function fileConflicts(tasks: { id: string; paths: readonly string[] }[]): { file: string; tasks: string[] }[] {
  const writers = new Map<string, string[]>();
  for (const t of tasks) for (const p of t.paths) writers.set(p, [...(writers.get(p) ?? []), t.id]);
  return [...writers]
    .filter(([, ids]) => ids.length > 1)
    .map(([file, ids]) => ({ file, tasks: ids }))
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}
