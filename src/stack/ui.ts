/** The stack's Temporal Web UI: the UI server of the release the temporal CLI embeds, against the stack's frontend. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type StackPorts, uiConfigYaml } from './config';
import { readPid, startDetached, type Started, waitUntil } from './processes';

const UI_ENV = 'phaseflow';

export function uiPaths(stackDir: string) {
  return {
    configDir: path.join(stackDir, 'ui'),
    logFile: path.join(stackDir, 'logs', 'temporal-ui.log'),
    pidFile: path.join(stackDir, 'run', 'temporal-ui.pid'),
  };
}

export function startUi(binary: string, stackDir: string, ports: StackPorts): Started {
  const p = uiPaths(stackDir);
  for (const d of [p.configDir, path.dirname(p.logFile), path.dirname(p.pidFile)]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(p.configDir, `${UI_ENV}.yaml`), uiConfigYaml(ports));
  return startDetached(binary, ['--root', stackDir, '--config', 'ui', '--env', UI_ENV, 'start'], {
    cwd: stackDir,
    logFile: p.logFile,
    pidFile: p.pidFile,
  });
}

export const uiPid = (stackDir: string) => readPid(uiPaths(stackDir).pidFile);

export async function uiAnswers(port: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/api/v1/settings`, { signal: AbortSignal.timeout(2000) });
    return r.ok;
  } catch {
    return false;
  }
}

export const waitForUi = (port: number, logFile: string) =>
  waitUntil(`Web UI on port ${port}`, () => uiAnswers(port), 60_000, logFile);
