/**
 * Where Claude Code comes from. `@anthropic-ai/claude-agent-sdk` ships Claude Code as a native
 * binary in a per-platform package of about 430 MB (196 MB to download), so it is not one of
 * phaseflow's dependencies: a fresh clone's `npm install` stays fast, and only users of the
 * claude-code runtime fetch it, once, with `phaseflow runtime install claude-code`. It goes into a
 * cache folder outside any checkout (like the temporal CLI), pinned to one version, and the
 * worker loads it from there at the first Claude Code task.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ClaudeAgentSdk } from './sdk-types';

/** The Agent SDK version phaseflow is written and tested against (it pins Claude Code 2.1.337). */
export const CLAUDE_AGENT_SDK_VERSION = '0.3.337';
export const CLAUDE_AGENT_SDK = '@anthropic-ai/claude-agent-sdk';

/** `PHASEFLOW_CLAUDE_CODE_DIR`, else `${XDG_CACHE_HOME:-~/.cache}/phaseflow/claude-code/<version>`. */
export function claudeCodeDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PHASEFLOW_CLAUDE_CODE_DIR) return path.resolve(env.PHASEFLOW_CLAUDE_CODE_DIR);
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'phaseflow', 'claude-code', CLAUDE_AGENT_SDK_VERSION);
}

function sdkEntry(dir: string): string {
  return path.join(dir, 'node_modules', ...CLAUDE_AGENT_SDK.split('/'), 'sdk.mjs');
}

export function claudeCodeInstalled(env: NodeJS.ProcessEnv = process.env): boolean {
  return existsSync(sdkEntry(claudeCodeDir(env)));
}

/** The command that installs it, for error messages. */
export const INSTALL_HINT =
  'phaseflow runtime install claude-code (or: npm run phaseflow -- runtime install claude-code)';

let loaded: Promise<ClaudeAgentSdk> | undefined;

/** The SDK module (ESM), loaded once per process from the cache folder. */
export function loadClaudeAgentSdk(env: NodeJS.ProcessEnv = process.env): Promise<ClaudeAgentSdk> {
  const dir = claudeCodeDir(env);
  const entry = sdkEntry(dir);
  if (!existsSync(entry)) {
    return Promise.reject(
      new Error(
        `Claude Code is not installed for phaseflow (no ${entry}); install it once with \`${INSTALL_HINT}\`, or set PHASEFLOW_CLAUDE_CODE_DIR to a folder where ${CLAUDE_AGENT_SDK}@${CLAUDE_AGENT_SDK_VERSION} is installed`,
      ),
    );
  }
  // TypeScript compiles import() to require() for CommonJS; the SDK is an ES module.
  const importEsm = new Function('url', 'return import(url)') as (url: string) => Promise<ClaudeAgentSdk>;
  loaded ??= importEsm(pathToFileURL(entry).href).catch((err) => {
    loaded = undefined;
    throw err;
  });
  return loaded;
}

/**
 * Installs the pinned SDK (and with it the Claude Code binary for this platform) into the cache
 * folder with npm. Idempotent: an installed version is left as it is unless `force`.
 */
export async function installClaudeCode(
  opts: { force?: boolean; env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {},
): Promise<{ dir: string; installed: boolean }> {
  const env = opts.env ?? process.env;
  const dir = claudeCodeDir(env);
  if (!opts.force && claudeCodeInstalled(env)) return { dir, installed: false };
  mkdirSync(dir, { recursive: true });
  const manifest = path.join(dir, 'package.json');
  if (!existsSync(manifest))
    writeFileSync(manifest, JSON.stringify({ name: 'phaseflow-claude-code', private: true }, null, 2) + '\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const args = [
    'install',
    '--no-audit',
    '--no-fund',
    '--save-exact',
    `${CLAUDE_AGENT_SDK}@${CLAUDE_AGENT_SDK_VERSION}`,
  ];
  opts.log?.(`npm ${args.join(' ')}  (in ${dir})`);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(npm, args, { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'], env });
    child.on('error', (err) => reject(new Error(`could not run npm: ${err.message}`)));
    child.on('exit', (code, signal) =>
      code === 0
        ? resolve()
        : reject(
            new Error(
              `npm install of ${CLAUDE_AGENT_SDK}@${CLAUDE_AGENT_SDK_VERSION} in ${dir} failed (${signal ?? `exit ${code}`})`,
            ),
          ),
    );
  });
  if (!claudeCodeInstalled(env)) throw new Error(`npm finished, but ${sdkEntry(dir)} is missing`);
  return { dir, installed: true };
}
