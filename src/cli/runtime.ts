/** `phaseflow runtime install|status claude-code`: the on-demand Claude Code runtime (install.ts). */
import {
  CLAUDE_AGENT_SDK,
  CLAUDE_AGENT_SDK_VERSION,
  claudeCodeDir,
  claudeCodeInstalled,
  installClaudeCode,
} from '../activities/agent/claude-code/install';
import { CliError } from './errors';

export const RUNTIMES = ['claude-code'] as const;

function checkRuntime(name: string): void {
  if (!(RUNTIMES as readonly string[]).includes(name))
    throw new CliError(
      `unknown runtime "${name}" (expected one of: ${RUNTIMES.join(', ')}; the tool loop needs no install)`,
    );
}

export async function runtimeInstallCommand(name: string, opts: { force?: boolean }): Promise<void> {
  checkRuntime(name);
  const started = Date.now();
  const r = await installClaudeCode({ force: opts.force, log: (l) => console.log(l) });
  console.log(
    r.installed
      ? `installed ${CLAUDE_AGENT_SDK}@${CLAUDE_AGENT_SDK_VERSION} (Claude Code) in ${r.dir} in ${Math.round((Date.now() - started) / 1000)} s`
      : `${CLAUDE_AGENT_SDK}@${CLAUDE_AGENT_SDK_VERSION} is already installed in ${r.dir} (--force installs it again)`,
  );
}

export function runtimeStatusCommand(name: string): void {
  checkRuntime(name);
  const dir = claudeCodeDir();
  if (claudeCodeInstalled())
    console.log(`claude-code: installed (${CLAUDE_AGENT_SDK}@${CLAUDE_AGENT_SDK_VERSION} in ${dir})`);
  else {
    console.log(`claude-code: not installed (expected in ${dir}); run \`phaseflow runtime install claude-code\``);
    process.exitCode = 1;
  }
}
