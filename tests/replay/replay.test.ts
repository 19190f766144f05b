/**
 * Determinism: histories recorded from real runs (tests/replay/histories, re-recorded with
 * `npm run record:histories`) replay against the current workflow code. A change to
 * src/workflows that would break running workflows after a deploy (a different order of
 * commands, a removed or added activity, timer or child) fails here.
 */
import { strict as assert } from 'node:assert';
import type { History } from '@temporalio/common/lib/proto-utils';
import * as workflows from '../../src/workflows';
import * as path from 'node:path';
import { archiveSets, historyFilesOnDisk, loadHistory, readManifest } from './history-files';
import { replayEntries } from './replay-histories';
import { SCENARIOS } from './scenarios';

const RERECORD = 'run `npm run record:histories` and commit tests/replay/histories';

describe('replay of recorded workflow histories', function () {
  this.timeout(120_000);
  const manifest = readManifest();

  it('the manifest lists exactly the history files on disk', () => {
    assert.deepEqual(historyFilesOnDisk(), manifest.entries.map((e) => e.file).sort(), RERECORD);
  });

  it('covers every workflow type the worker registers and every scenario of scenarios.ts', () => {
    const registered = Object.entries(workflows)
      .filter(([name, fn]) => typeof fn === 'function' && name.endsWith('Workflow'))
      .map(([name]) => name)
      .sort();
    assert.ok(registered.length >= 4, `workflow types exported by src/workflows: ${registered.join(', ')}`);
    const recordedTypes = new Set(manifest.entries.map((e) => e.workflowType));
    assert.deepEqual(
      registered.filter((t) => !recordedTypes.has(t)),
      [],
      `workflow types without a recorded history: ${RERECORD}`,
    );
    const recordedScenarios = new Set(manifest.entries.map((e) => e.scenario));
    assert.deepEqual(
      SCENARIOS.map((s) => s.name).filter((s) => !recordedScenarios.has(s)),
      [],
      `scenarios without recorded histories: ${RERECORD}`,
    );
    // Each scenario ran to the end: its epic closed as the scenario expects.
    for (const s of SCENARIOS) {
      const epic = manifest.entries.find(
        (e) => e.scenario === s.name && e.workflowType === 'epicWorkflow' && e.run === 1,
      );
      assert.ok(epic, `scenario ${s.name}: no epic history`);
      const last = manifest.entries.filter((e) => e.workflowId === epic.workflowId).sort((a, b) => b.run - a.run)[0];
      const closedBy = {
        completed: 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED',
        failed: 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED',
        cancelled: 'EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED',
      };
      assert.equal(last.closedBy, closedBy[s.expect], `scenario ${s.name}`);
    }
  });

  it('every recorded history replays against the current workflow code', async () => {
    const items = manifest.entries.map((entry) => ({ entry, history: loadHistory(entry) }));
    const failures = await replayEntries(items);
    if (failures.length) {
      assert.fail(
        `${failures.length} of ${items.length} recorded histories no longer replay, so workflows running when this code is deployed would break. ` +
          `Make the change deterministic (patched()), or if no run of the old code can still be alive, ${RERECORD}.\n${failures.join('\n')}`,
      );
    }
  });

  it('a history that disagrees with the code fails replay (the check can fail)', async () => {
    // Rename the first activity a phase scheduled: the code schedules the real one, the history
    // says otherwise, and replay must report a determinism violation.
    const entry = manifest.entries.find((e) => e.workflowType === 'phaseWorkflow' && e.closedBy.endsWith('COMPLETED'));
    assert.ok(entry, 'a completed phase history');
    const history: History = loadHistory(entry);
    const scheduled = history.events!.find(
      (e) => e.activityTaskScheduledEventAttributes,
    )!.activityTaskScheduledEventAttributes!;
    const original = scheduled.activityType!.name;
    scheduled.activityType = { name: 'notAnActivity' };
    const failures = await replayEntries([{ entry, history }]);
    assert.equal(failures.length, 1, `tampered ${entry.file} (activity ${original} renamed) replayed without error`);
    assert.match(failures[0], /DeterminismViolationError/);
  });
});

describe('replay of histories recorded by earlier workflow code (tests/replay/archive)', function () {
  this.timeout(120_000);
  const sets = archiveSets();
  const hasPatchMarker = (h: History) => (h.events ?? []).some((e) => e.markerRecordedEventAttributes);

  it('there is at least one archived set, and each lists exactly its files', () => {
    assert.ok(sets.length >= 1, 'no archived set: runs started by an earlier version are not covered');
    for (const dir of sets)
      assert.deepEqual(
        historyFilesOnDisk(dir),
        readManifest(dir)
          .entries.map((e) => e.file)
          .sort(),
        dir,
      );
  });

  for (const dir of sets) {
    it(`${path.basename(dir)}: every history replays against the current workflow code`, async () => {
      const items = readManifest(dir).entries.map((entry) => ({ entry, history: loadHistory(entry, dir) }));
      const failures = await replayEntries(items);
      assert.deepEqual(
        failures,
        [],
        `runs started by that version would break after an upgrade: make the change deterministic with patched()`,
      );
    });
  }

  it('the archive takes the pre-patch path: its phases recorded no patch marker, the current ones did', () => {
    const phases = (dir?: string) =>
      readManifest(dir).entries.filter((e) => e.workflowType === 'phaseWorkflow' && e.closedBy.endsWith('COMPLETED'));
    const oldest = [...sets].sort((a, b) => readManifest(a).recordedAt.localeCompare(readManifest(b).recordedAt))[0];
    assert.ok(phases(oldest).length > 0 && phases().length > 0);
    assert.equal(
      phases(oldest).filter((e) => hasPatchMarker(loadHistory(e, oldest))).length,
      0,
      `${oldest}: a phase with a patch marker`,
    );
    assert.equal(
      phases().filter((e) => !hasPatchMarker(loadHistory(e))).length,
      0,
      'a current phase history without the patch marker',
    );
  });
});
