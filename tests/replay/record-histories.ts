/**
 * `npm run record:histories`: re-records tests/replay/histories from real runs.
 *
 * Starts a private Temporal dev server (TEMPORAL_ADDRESS is ignored: a fresh server keeps the
 * recording independent of whatever else ran) and an in-process worker with the real workflows
 * and activities, runs every scenario of ./scenarios.ts at once, checks each ended as expected,
 * saves every workflow run of each epic (children and continue-as-new runs: ./history-walk.ts),
 * replays them all once as a check, and only then replaces the old files. Nothing is written if
 * any step fails. The expand workflow's history is recorded too (./record-reshape.ts), and the orchestrate
 * run's with its debugged build phase (./record-orchestrate.ts). `--archive <name>` first keeps the set it replaces in tests/replay/archive.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { WorkflowFailedError, type Client, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { historyToJSON, type History } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { startTestTemporal, stopTestTemporal } from '../support/temporal-server';
import { ids, startEpic, tempWorkspace, testClient, uniqueName, withWorker } from '../support/worker-harness';
import { walkWorkflowTree } from './history-walk';
import {
  ARCHIVE_DIR,
  HISTORY_DIR,
  type HistoryEntry,
  historyFileName,
  type Manifest,
  MANIFEST_FILE,
} from './history-files';
import { recordOrchestrate } from './record-orchestrate';
import { recordReshape } from './record-reshape';
import { replayEntries } from './replay-histories';
import { type Scenario, SCENARIOS } from './scenarios';

const EventType = temporal.api.enums.v1.EventType;

/** A scenario's epic must end within this; a stuck one fails the recording instead of hanging it. */
const SCENARIO_LIMIT_MS = 90_000;

function withTimeout<T>(p: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message())), ms)));
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

interface Recorded {
  entry: HistoryEntry;
  history: History;
}

async function recordScenario(client: Client, taskQueue: string, scenario: Scenario): Promise<Recorded[]> {
  const slug = `replay-${scenario.name}`;
  const workspace = tempWorkspace('phaseflow-replay-');
  const t0 = Date.now();
  // startEpic returns client.workflow.start's handle, which knows the first run.
  const handle = (await startEpic(
    taskQueue,
    { slug, workspace, ...scenario.spec(workspace) },
    slug,
  )) as WorkflowHandleWithFirstExecutionRunId;
  await scenario.drive?.({ client, handle, workspace });
  let outcome: string;
  try {
    await withTimeout(
      handle.result(),
      SCENARIO_LIMIT_MS,
      () =>
        `scenario ${scenario.name}: the epic did not end within ${SCENARIO_LIMIT_MS / 1000} s (waiting for a signal or decision its drive() does not send?)`,
    );
    outcome = 'completed';
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    // A failure of the workflow's own making, not a timeout or termination.
    outcome =
      err.cause instanceof ApplicationFailure
        ? 'failed'
        : err.cause instanceof CancelledFailure
          ? 'cancelled'
          : `ended by ${err.cause?.name}: ${err.cause?.message}`;
  }
  if (outcome !== scenario.expect)
    throw new Error(`scenario ${scenario.name}: the epic ${outcome}, expected ${scenario.expect}`);
  console.log(`  ${scenario.name}: ${outcome} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const runs = await walkWorkflowTree(client, { workflowId: ids.epic(slug), runId: handle.firstExecutionRunId });
  return runs.map(({ workflowId, run, workflowType, history }) => {
    const events = history.events ?? [];
    const last = events[events.length - 1];
    return {
      history,
      entry: {
        file: historyFileName(scenario.name, ids.epic(slug), workflowId, workflowType, run),
        scenario: scenario.name,
        workflowId,
        workflowType,
        run,
        closedBy: EventType[last.eventType ?? 0] ?? String(last.eventType),
        events: events.length,
      },
    };
  });
}

const USAGE = 'usage: npm run record:histories [-- --archive <name>]';

/** A bad command line: reported as one line and exit status 2, before anything starts. */
class UsageError extends Error {}

/** An archive's directory name: no leading dot or dash (no hidden or option-like directories), no path. */
const ARCHIVE_NAME = /^[A-Za-z0-9][\w.-]*$/;

/**
 * `--archive <name>` keeps the set being replaced in tests/replay/archive/<name> (use it when the
 * workflows changed behind patched(): runs of the old code must go on replaying). Parsed strictly
 * so that a typo (`--archiv old`) is refused instead of silently replacing the set unarchived.
 */
function parseOptions(argv: string[]): { archive?: string; help: boolean } {
  let values: { archive?: string[]; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { archive: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    const e = err as Error & { code?: string };
    // parseArgs' own messages run over several lines and suggest `--archive=-XYZ`; say it in one.
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
      throw new UsageError(`--archive needs a directory name after it (starting with a letter or digit); ${USAGE}`);
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
      throw new UsageError(`${e.message.split('\n')[0].replace(/\.$/, '')}; ${USAGE}`);
    throw err;
  }
  if (values.help) return { help: true };
  if (!values.archive) return { help: false };
  if (values.archive.length > 1)
    throw new UsageError(
      `--archive given ${values.archive.length} times (${values.archive.map((a) => JSON.stringify(a)).join(', ')}); give it once`,
    );
  const name = values.archive[0];
  // The first character rules out '', '.', '..', '.hidden' and '-foo'; the rest, any path.
  if (!ARCHIVE_NAME.test(name)) {
    throw new UsageError(
      `--archive ${JSON.stringify(name)}: expected a directory name of letters, digits, . _ - starting with a letter or digit, e.g. 2026-11-21-1013def`,
    );
  }
  const dir = path.join(ARCHIVE_DIR, name);
  if (fs.existsSync(dir))
    throw new UsageError(`--archive ${name}: ${path.relative(process.cwd(), dir)} exists already; choose another name`);
  if (!fs.existsSync(MANIFEST_FILE))
    throw new UsageError(
      `--archive ${name}: there is no recorded set to archive (${path.relative(process.cwd(), MANIFEST_FILE)} is missing)`,
    );
  return { archive: name, help: false };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  // Checked before the server starts: a refused command line records and changes nothing.
  const { archive: archiveAs, help } = parseOptions(process.argv.slice(2));
  if (help) {
    console.log(
      `${USAGE}\n  --archive <name>  first keep the set being replaced in ${path.relative(process.cwd(), ARCHIVE_DIR)}/<name>`,
    );
    return;
  }
  delete process.env.TEMPORAL_ADDRESS;
  await startTestTemporal();
  try {
    const client = await testClient();
    const taskQueue = uniqueName('record-histories');
    const recorded = (
      await withWorker(taskQueue, () =>
        Promise.all([
          ...SCENARIOS.map((s) => recordScenario(client, taskQueue, s)),
          recordReshape(client, taskQueue),
          recordOrchestrate(client, taskQueue),
        ]),
      )
    ).flat();

    // Replay before replacing anything: a recording that does not replay is not kept.
    const failures = await replayEntries(recorded.map((r) => ({ entry: r.entry, history: r.history })));
    if (failures.length) throw new Error(`recorded histories do not replay:\n${failures.join('\n')}`);

    if (archiveAs) {
      fs.cpSync(HISTORY_DIR, path.join(ARCHIVE_DIR, archiveAs), { recursive: true, errorOnExist: true, force: false });
      console.log(`  the previous set is kept as ${path.relative(process.cwd(), path.join(ARCHIVE_DIR, archiveAs))}`);
    }
    fs.rmSync(HISTORY_DIR, { recursive: true, force: true });
    for (const r of recorded) {
      const file = path.join(HISTORY_DIR, r.entry.file);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      // One event per line: compact, and a re-recording diffs event by event.
      const { events } = JSON.parse(historyToJSON(r.history)) as { events: unknown[] };
      fs.writeFileSync(file, `{"events": [\n${events.map((e) => JSON.stringify(e)).join(',\n')}\n]}\n`);
    }
    const manifest: Manifest = {
      note: 'Written by `npm run record:histories` (tests/replay/record-histories.ts); replayed by tests/replay/replay.test.ts.',
      recordedAt: new Date().toISOString(),
      sdk: (
        JSON.parse(fs.readFileSync(require.resolve('@temporalio/worker/package.json'), 'utf8')) as { version: string }
      ).version,
      entries: recorded.map((r) => r.entry).sort((a, b) => a.file.localeCompare(b.file)),
    };
    fs.writeFileSync(MANIFEST_FILE, JSON.stringify(manifest, null, 2) + '\n');
    const byType = new Map<string, number>();
    for (const r of recorded) byType.set(r.entry.workflowType, (byType.get(r.entry.workflowType) ?? 0) + 1);
    console.log(
      `recorded ${recorded.length} histories of ${SCENARIOS.length} scenarios (${[...byType].map(([t, n]) => `${n} ${t}`).join(', ')}) ` +
        `into ${path.relative(process.cwd(), HISTORY_DIR)} in ${((Date.now() - t0) / 1000).toFixed(1)} s; all replay`,
    );
  } finally {
    await stopTestTemporal();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    if (err instanceof UsageError) {
      console.error(`record-histories: ${err.message}`);
      process.exit(2);
    }
    // A failure while recording: the stack says where.
    console.error(`record-histories failed: ${err instanceof Error ? (err.stack ?? err.message) : err}`);
    process.exit(1);
  },
);
