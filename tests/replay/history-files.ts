/**
 * The recorded workflow histories in tests/replay/histories: one file per workflow run, in the
 * proto JSON that `temporal workflow show --output json` and the Web UI export (so a history
 * downloaded from a real cluster can be dropped in), listed in manifest.json with the workflow id
 * and type that replay needs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { historyFromJSON, type History } from '@temporalio/common/lib/proto-utils';

export const HISTORY_DIR = path.join(__dirname, 'histories');
export const MANIFEST_FILE = path.join(HISTORY_DIR, 'manifest.json');
/**
 * Sets recorded by earlier workflow code, one directory each (same layout as HISTORY_DIR), never
 * re-recorded: runs those versions started must still replay after an upgrade, so the paths
 * behind `patched()` that only old runs take stay tested.
 */
export const ARCHIVE_DIR = path.join(__dirname, 'archive');

/** The archived sets' directories, by name (`<date>-<commit recorded at>`). */
export function archiveSets(): string[] {
  if (!fs.existsSync(ARCHIVE_DIR)) return [];
  return fs
    .readdirSync(ARCHIVE_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => path.join(ARCHIVE_DIR, d.name))
    .sort();
}

export interface HistoryEntry {
  /** Relative to HISTORY_DIR, POSIX-style. */
  file: string;
  scenario: string;
  workflowId: string;
  workflowType: string;
  /** 1 for the first run of the id; 2, 3, … for runs continued-as-new from it. */
  run: number;
  /** How the run closed, e.g. EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED. */
  closedBy: string;
  events: number;
}

export interface Manifest {
  note: string;
  recordedAt: string;
  sdk: string;
  entries: HistoryEntry[];
}

export function readManifest(dir = HISTORY_DIR): Manifest {
  const file = path.join(dir, 'manifest.json');
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run record:histories\``);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
}

/** Loads one recorded history as the SDK's History object (throws naming the file if it does not parse). */
export function loadHistory(entry: HistoryEntry, dir = HISTORY_DIR): History {
  const full = path.join(dir, entry.file);
  try {
    return historyFromJSON(JSON.parse(fs.readFileSync(full, 'utf8')));
  } catch (err) {
    throw new Error(
      `${full} (${entry.workflowType} ${entry.workflowId}): not a history in proto JSON: ${(err as Error).message}`,
    );
  }
}

/** Every .json file under `dir` except the manifest, relative and POSIX-style. */
export function historyFilesOnDisk(dir = HISTORY_DIR): string[] {
  if (!fs.existsSync(dir)) return [];
  const walk = (dir: string): string[] =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .flatMap((d) => (d.isDirectory() ? walk(path.join(dir, d.name)) : [path.join(dir, d.name)]));
  return walk(dir)
    .filter((f) => f.endsWith('.json') && f !== path.join(dir, 'manifest.json'))
    .map((f) => path.relative(dir, f).split(path.sep).join('/'))
    .sort();
}

/**
 * The file a run is kept in: `<scenario>/<type>--<path below the epic>.json`, e.g.
 * `completed/phase--build.core.models.json` for `epic/replay-completed/build/core/models`.
 */
export function historyFileName(
  scenario: string,
  epicWorkflowId: string,
  workflowId: string,
  workflowType: string,
  run: number,
): string {
  const below = workflowId === epicWorkflowId ? '' : workflowId.slice(epicWorkflowId.length + 1).replace(/\//g, '.');
  const type = workflowType.replace(/Workflow$/, '');
  return `${scenario}/${type}${below ? `--${below}` : ''}${run > 1 ? `.run-${run}` : ''}.json`;
}
