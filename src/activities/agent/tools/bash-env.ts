/**
 * The environment an agent's shell gets: an allowlist of harmless variables from the worker's
 * environment, never the orchestrator's credentials (API keys, tokens, Temporal settings).
 * HOME points at the workspace so tools that write dotfiles stay inside it.
 */
import { isSecretName } from '../../secrets';

const ALLOWED = [
  'PATH', 'LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'LC_MESSAGES', 'TERM', 'TZ', 'TMPDIR', 'USER', 'LOGNAME', 'SHELL',
];

// Defence in depth: even an allowlisted name is dropped if it looks like a secret.
export { isSecretName };

export function agentShellEnv(source: NodeJS.ProcessEnv, workspace: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ALLOWED) {
    const value = source[name];
    if (value !== undefined && !isSecretName(name)) env[name] = value;
  }
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    TERM: 'dumb',
    ...env,
    HOME: workspace,
    PWD: workspace,
    // Nothing may wait for a human: no pagers, no credential prompts.
    PAGER: 'cat',
    GIT_PAGER: 'cat',
    GIT_TERMINAL_PROMPT: '0',
    NO_COLOR: '1',
  };
}
