/** Where the CLI keeps its own state (the local server's SQLite file, logs), and links to the Web UI. */
import os from 'node:os';
import path from 'node:path';
import { CliError } from './errors';

export function dataDir(): string {
  return (
    process.env.PHASEFLOW_DATA_DIR ??
    path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), 'phaseflow')
  );
}

export const defaultDbFile = () => path.join(dataDir(), 'temporal.sqlite');
export const defaultServerLog = () => path.join(dataDir(), 'temporal-server.log');
export const defaultWorkerLog = () => path.join(dataDir(), 'worker.log');

/** The Web UI page of a workflow. */
export function webUiUrl(uiBase: string, namespace: string, workflowId: string): string {
  return `${uiBase}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/**
 * The Web UI's base URL from --ui-url or PHASEFLOW_UI_URL, else undefined: a server cannot be
 * asked where its UI is, so the CLI links to one only when told (or when it started the server).
 */
export function uiBaseUrl(flag?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const given = flag ?? (env.PHASEFLOW_UI_URL || undefined);
  if (given === undefined) return undefined;
  const from = flag !== undefined ? '--ui-url' : 'PHASEFLOW_UI_URL';
  const url = URL.canParse(given) ? new URL(given) : undefined;
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:')
    throw new CliError(`${from}: expected an http or https URL, e.g. http://127.0.0.1:8233; got "${given}"`);
  return url.href.replace(/\/+$/, '');
}
