/**
 * The one rule for which environment variables are credentials (none of them reaches a command
 * task, a gate or an agent's shell, nor a log line), and keeping them out of the worker's
 * /proc/<pid>/environ, which any process of the same user can read.
 */
import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { containsSecret } from '../domain/secret-scan';

const SECRET_NAME =
  /(^ANTHROPIC_|^TEMPORAL_|^GITHUB_|^GH_|^AWS_|^NPM_|^PHASEFLOW_.*(KEY|TOKEN|SECRET)|KEY$|_KEY_|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** A credential by its name, or by its value (DATABASE_URL=postgres://u:pw@db, a token under any name). */
export function isSecretEnv(name: string, value: string | undefined): boolean {
  return isSecretName(name) || (value !== undefined && valueIsSecret(value));
}

// Logging asks for every line; environment values rarely change, so remember the answers.
const valueVerdicts = new Map<string, boolean>();

function valueIsSecret(value: string): boolean {
  let verdict = valueVerdicts.get(value);
  if (verdict === undefined) {
    verdict = containsSecret(value);
    if (valueVerdicts.size > 10_000) valueVerdicts.clear();
    valueVerdicts.set(value, verdict);
  }
  return verdict;
}

/**
 * Narrower than isSecretName, for redacting values: the variables that hold a credential
 * (ANTHROPIC_API_KEY, GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY, DB_PASSWORD), not the settings that
 * merely stay with the orchestrator (TEMPORAL_NAMESPACE=default must not blank out "default").
 */
const CREDENTIAL_NAME = /(?:^|_)(?:API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASS|CREDENTIALS?|AUTH)(?:_|$)/i;

/** Values shorter than this are not redacted by value: short words would blank out whole logs. */
const MIN_REDACTED_LENGTH = 8;

/** The values of the credentials in `env`, longest first (so a value containing another goes first). */
export function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  const values = Object.entries(env)
    .filter(
      ([k, v]) => v !== undefined && v.length >= MIN_REDACTED_LENGTH && (CREDENTIAL_NAME.test(k) || valueIsSecret(v)),
    )
    .map(([, v]) => v!);
  return [...new Set(values)].sort((a, b) => b.length - a.length);
}

export interface EnvironScrub {
  /** Names whose values were wiped from the initial environment block. */
  hidden: string[];
  /** Why nothing could be done (not Linux, /proc/self/mem not writable, ...). */
  error?: string;
}

let scrubbed: EnvironScrub | undefined;

/**
 * /proc/<pid>/environ shows the environment the process was *started* with (the block on its
 * stack), not process.env: deleting a variable does not hide it there, and a child of the worker
 * (an agent's Bash, a command) can read its parent's block. So each credential is moved to the
 * heap (unset and set again, process.env keeps working) and its bytes in the initial block are
 * overwritten through /proc/self/mem. Idempotent; Linux only; never throws.
 */
export function hideSecretsFromProcEnviron(): EnvironScrub {
  scrubbed ??= scrubEnvironBlock();
  return scrubbed;
}

function scrubEnvironBlock(): EnvironScrub {
  if (process.platform !== 'linux') return { hidden: [], error: `not Linux (${process.platform}): nothing to do` };
  let fd: number | undefined;
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after "(comm)" start at field 3; env_start and env_end are fields 50 and 51.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = Number(fields[50 - 3]);
    const end = Number(fields[51 - 3]);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end <= start || end - start > 1 << 24) {
      return { hidden: [], error: `unexpected env_start/env_end in /proc/self/stat: ${fields[47]} ${fields[48]}` };
    }
    fd = openSync('/proc/self/mem', 'r+');
    const block = Buffer.alloc(end - start);
    readSync(fd, block, 0, block.length, start);
    const hidden: string[] = [];
    let at = 0;
    while (at < block.length) {
      let stop = block.indexOf(0, at);
      if (stop < 0) stop = block.length;
      const entry = block.subarray(at, stop).toString('utf8');
      const eq = entry.indexOf('=');
      const name = eq > 0 ? entry.slice(0, eq) : '';
      const value = entry.slice(eq + 1);
      if (name && isSecretEnv(name, value)) {
        // Re-set first, so libc's environ points at a heap copy before the original is wiped.
        const current = process.env[name];
        delete process.env[name];
        if (current !== undefined) process.env[name] = current;
        const wipe = Buffer.alloc(stop - at);
        writeSync(fd, wipe, 0, wipe.length, start + at);
        hidden.push(name);
      }
      at = stop + 1;
    }
    return { hidden };
  } catch (err) {
    return { hidden: [], error: `cannot rewrite the initial environment: ${(err as Error).message}` };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
