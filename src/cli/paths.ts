/** Where the CLI keeps its own state (the local server's SQLite file, logs). */
import os from 'node:os';
import path from 'node:path';

export function dataDir(): string {
  return process.env.PHASEFLOW_DATA_DIR ?? path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), 'phaseflow');
}

export const defaultDbFile = () => path.join(dataDir(), 'temporal.sqlite');
export const defaultServerLog = () => path.join(dataDir(), 'temporal-server.log');
export const defaultWorkerLog = () => path.join(dataDir(), 'worker.log');

/** The Web UI page of a workflow on the local dev server. */
export function webUiUrl(uiBase: string, namespace: string, workflowId: string): string {
  return `${uiBase}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
