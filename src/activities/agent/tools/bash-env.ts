/**
 * The environment an agent's shell gets: an allowlist of harmless variables from the worker's
 * environment, never the orchestrator's credentials (API keys, tokens, Temporal settings).
 * HOME points at the workspace so tools that write dotfiles stay inside it.
 */
const ALLOWED = [
  'PATH', 'LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'LC_MESSAGES', 'TERM', 'TZ', 'TMPDIR', 'USER', 'LOGNAME', 'SHELL',
];

/** Defence in depth: even an allowlisted name is dropped if it looks like a secret. */
const SECRET_NAME = /^(ANTHROPIC_|GITHUB_|GH_|TEMPORAL_|AWS_|NPM_)|_KEY$|_TOKEN$|SECRET|PASSWORD|PASSWD|CREDENTIAL|^API_KEY$/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

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
