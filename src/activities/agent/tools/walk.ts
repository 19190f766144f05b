/**
 * Directory walk shared by Glob and Grep. Never follows symlinked directories, and yields a
 * symlinked file only when its target is inside the workspace, so a listing cannot reach out.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isInside, toRelative } from '../workspace';
import { PROTECTED_DIRS } from './protected-paths';

/** Directories that are never worth walking (and are huge). */
export const SKIPPED_DIRS = new Set(['.git', 'node_modules']);
export const MAX_VISITED = 50_000;

export interface WalkedFile {
  abs: string;
  /** Relative to the directory the walk started in, POSIX-style. */
  rel: string;
}

export async function* walkFiles(workspace: string, start: string, signal: AbortSignal): AsyncGenerator<WalkedFile> {
  const stack = [start];
  let visited = 0;
  while (stack.length) {
    const dir = stack.pop()!;
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => (a.name < b.name ? 1 : -1)); // popped in name order
    for (const e of entries) {
      if (signal.aborted || ++visited > MAX_VISITED) return;
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) {
        // phaseflow's own records (transcripts, details files) are noise in a search.
        if (!SKIPPED_DIRS.has(e.name) && !PROTECTED_DIRS.includes(toRelative(workspace, abs))) stack.push(abs);
      } else if (e.isFile()) {
        yield { abs, rel: path.relative(start, abs).split(path.sep).join('/') };
      } else if (e.isSymbolicLink()) {
        const real = await fs.realpath(abs).catch(() => undefined);
        const st = real && isInside(workspace, real) ? await fs.stat(real).catch(() => undefined) : undefined;
        if (st?.isFile()) yield { abs, rel: path.relative(start, abs).split(path.sep).join('/') };
      }
    }
    // Process subdirectories in name order too.
    stack.sort((a, b) => (a < b ? 1 : -1));
  }
}
