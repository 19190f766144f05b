/**
 * The environment an agent's shell gets: an allowlist of harmless variables from the worker's
 * environment, never the orchestrator's credentials (API keys, tokens, Temporal settings).
 * HOME points at the workspace so tools that write dotfiles stay inside it.
 */
import { hideSecretsFromProcEnviron, isSecretEnv, isSecretName } from '../../secrets';

const ALLOWED = [
  'PATH',
  'LANG',
  'LANGUAGE',
  'LC_ALL',
  'LC_CTYPE',
  'LC_MESSAGES',
  'TERM',
  'TZ',
  'TMPDIR',
  'USER',
  'LOGNAME',
  'SHELL',
];

// Defence in depth: even an allowlisted variable is dropped if its name or value looks like a secret.
export { isSecretName };

export function agentShellEnv(source: NodeJS.ProcessEnv, workspace: string): NodeJS.ProcessEnv {
  // The shell could read the worker's initial environment through /proc/$PPID/environ.
  hideSecretsFromProcEnviron();
  const env: NodeJS.ProcessEnv = {};
  for (const name of ALLOWED) {
    const value = source[name];
    if (value !== undefined && !isSecretEnv(name, value)) env[name] = value;
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
