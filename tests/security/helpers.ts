/**
 * Fixtures for the security corpus: an arena (a workspace with a canary directory beside it,
 * whose tree hash shows whether anything outside the workspace was touched), planted secrets
 * with fresh random values per run, and searching text and files for them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Arena {
  root: string;
  /** Canonical (realpath'd) workspace. */
  workspace: string;
  /** Beside the workspace; nothing may change it. Holds a dotfile with a planted secret. */
  canary: string;
  cleanup(): Promise<void>;
}

export async function makeArena(prefix = 'phaseflow-sec-'): Promise<Arena> {
  const root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), prefix)));
  const workspace = path.join(root, 'ws');
  const canary = path.join(root, 'canary');
  await fs.mkdir(workspace);
  await fs.mkdir(path.join(canary, 'sub'), { recursive: true });
  await fs.writeFile(path.join(canary, 'keep.txt'), 'untouched\n');
  await fs.writeFile(path.join(canary, 'sub', 'deep.txt'), 'deep\n');
  await fs.writeFile(path.join(canary, '.bashrc'), `export MY_SERVICE_PASSWORD=${CANARY_SECRET}\n`);
  await fs.symlink('keep.txt', path.join(canary, 'link'));
  return { root, workspace, canary, cleanup: () => fs.rm(root, { recursive: true, force: true }) };
}

/** In the canary's .bashrc: any tool output containing it read a file outside the workspace. */
export const CANARY_SECRET = `canary-${randomBytes(12).toString('hex')}`;

/**
 * A hash of everything under `dir`: names, types, modes, sizes, mtimes, contents and link
 * targets. Equal before and after means nothing there was created, changed, deleted or touched.
 */
export async function treeHash(dir: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (d: string): Promise<void> => {
    const names = (await fs.readdir(d)).sort();
    for (const name of names) {
      const p = path.join(d, name);
      const st = await fs.lstat(p);
      h.update(`${path.relative(dir, p)}\0${st.mode}\0${st.size}\0${st.mtimeMs}\0`);
      if (st.isSymbolicLink()) h.update(`-> ${await fs.readlink(p)}\0`);
      else if (st.isFile()) h.update(await fs.readFile(p));
      else if (st.isDirectory()) await walk(p);
    }
  };
  const st = await fs.lstat(dir);
  h.update(`${st.mode}\0${st.mtimeMs}\0`);
  await walk(dir);
  return h.digest('hex');
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomAlnum(n: number): string {
  const bytes = randomBytes(n);
  return Array.from(bytes, (b) => ALNUM[b % ALNUM.length]).join('');
}

/** Credentials in the shapes real ones have, fresh per call. */
export function plantedSecrets() {
  const dbPassword = `Db-${randomAlnum(18)}`;
  const env = {
    ANTHROPIC_API_KEY: `sk-ant-api03-${randomAlnum(86)}AA`,
    GITHUB_TOKEN: `ghp_${randomAlnum(36)}`,
    AWS_ACCESS_KEY_ID: `AKIA${randomAlnum(16).toUpperCase()}`,
    AWS_SECRET_ACCESS_KEY: `${randomAlnum(20)}/${randomAlnum(19)}`,
    MY_SERVICE_PASSWORD: `pw-${randomAlnum(20)}`,
    // A name that says nothing: only the value (a URL with a password) shows it is a credential.
    DATABASE_URL: `postgres://shop:${dbPassword}@db.internal:5432/shop`,
  };
  /** What must not appear anywhere: each value, and the password inside the URL on its own. */
  const needles: Record<string, string> = { ...env, DATABASE_URL_PASSWORD: dbPassword };
  return { env, needles };
}

/** Names of the needles found in `text`. */
export function leaksIn(text: string, needles: Record<string, string>): string[] {
  return Object.entries(needles)
    .filter(([, v]) => text.includes(v))
    .map(([k]) => k);
}

/** Every regular file under `dir` (dot-directories included), as [relative path, contents]. */
export async function allFiles(dir: string): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const rel of (await fs.readdir(dir, { recursive: true })) as string[]) {
    const p = path.join(dir, rel);
    const st = await fs.lstat(p);
    if (st.isFile()) out.push([rel, await fs.readFile(p, 'latin1')]);
  }
  return out;
}

/** `file: NAME, NAME` for each file under `dir` that contains a needle. */
export async function leaksInFiles(dir: string, needles: Record<string, string>): Promise<string[]> {
  const found: string[] = [];
  for (const [rel, text] of await allFiles(dir)) {
    const names = leaksIn(text, needles);
    if (names.length) found.push(`${rel}: ${names.join(', ')}`);
  }
  return found;
}
