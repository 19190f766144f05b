/**
 * The fault suite's judges can fail: the mirror watcher, the re-run detector and the mirror
 * normaliser each catch what they are there to catch. Runs in the normal suite (no server,
 * well under a second), so the checks stay honest even where `npm run test:faults` is not run.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { normaliseMirror, reRunViolations, type TaskExecution } from './support/evidence';
import { MirrorWatcher } from './support/mirror-watch';

const PROGRESS = '.claude/phase-plans/p/PROGRESS.json';

/** A minimal PROGRESS.json that CCASP's schema accepts. */
function progress(owner: string, revision: number, taskStatus = 'running', attempts = 1) {
  return {
    plan_id: 'p',
    phase_id: 'one',
    project_name: 'P',
    status: 'active',
    phases: [
      {
        id: 1,
        slug: 'one',
        name: 'One',
        status: 'active',
        tasks: [{ id: 'a', description: 'a', completed: taskStatus === 'completed', status: taskStatus, attempts }],
      },
    ],
    phaseflow: { owner, revision },
  };
}

describe('fault suite checkers', () => {
  describe('MirrorWatcher', () => {
    let ws: string;
    beforeEach(() => {
      ws = fs.mkdtempSync(path.join(os.tmpdir(), 'phaseflow-checkers-'));
      fs.mkdirSync(path.join(ws, path.dirname(PROGRESS)), { recursive: true });
    });
    afterEach(() => fs.rmSync(ws, { recursive: true, force: true }));

    /** Writes each version in turn (atomically, as phaseflow does), letting the watcher see every one (it polls every 5 ms). */
    async function watch(versions: (object | string)[]): Promise<string[]> {
      const w = new MirrorWatcher(ws, 5);
      w.start();
      const file = path.join(ws, PROGRESS);
      for (const v of versions) {
        fs.writeFileSync(`${file}.tmp`, typeof v === 'string' ? v : JSON.stringify(v));
        fs.renameSync(`${file}.tmp`, file);
        await new Promise((r) => setTimeout(r, 40));
      }
      return w.stop().violations;
    }

    it('accepts a file that moves forward, also across owners', async () => {
      assert.deepEqual(
        await watch([progress('A', 1), progress('A', 2, 'completed'), progress('B', 1), progress('B', 2)]),
        [],
      );
    });
    it('reports a torn or non-JSON version', async () => {
      const v = await watch([progress('A', 1), '{"plan_id": "p", "pha']);
      assert.equal(v.length, 1);
      assert.match(v[0], /not JSON/);
    });
    it('reports a version CCASP rejects', async () => {
      const bad = { ...progress('A', 2), status: 'exploded' };
      assert.match((await watch([progress('A', 1), bad])).join('\n'), /CCASP schema: \/status/);
    });
    it('reports a revision that goes backwards for the same owner', async () => {
      assert.match(
        (await watch([progress('A', 3), progress('A', 2)])).join('\n'),
        /revision went backwards for A: 3 → 2/,
      );
    });
    it('reports a file that goes back to a former owner', async () => {
      assert.match(
        (await watch([progress('A', 5), progress('B', 1), progress('A', 6)])).join('\n'),
        /went back to former owner A/,
      );
    });
    it('reports a completed task that runs again', async () => {
      assert.match(
        (await watch([progress('A', 1, 'completed'), progress('A', 2, 'running', 2)])).join('\n'),
        /task one\/a was completed and is now running/,
      );
    });
  });

  describe('reRunViolations', () => {
    const x = (
      attempt: number,
      outcome: TaskExecution['outcome'],
      closedAt: number,
      extra: Partial<TaskExecution> = {},
    ): TaskExecution => ({
      phaseRun: 'epic/e/r/p/one#1',
      phaseWorkflowId: 'epic/e/r/p/one',
      run: 1,
      plan: 'p',
      task: 'a',
      kind: 'command',
      attempt,
      scheduledEventId: attempt * 10,
      scheduledAt: closedAt - 1000,
      closedAt,
      outcome,
      succeeded: outcome === 'completed',
      ...extra,
    });

    it('accepts an interrupted attempt that ran again before the task completed', () => {
      assert.deepEqual(
        reRunViolations(
          [x(1, 'timedOut', 5000), x(2, 'completed', 9000)],
          [{ plan: 'p', task: 'a', starts: [1000, 6000], ends: [3000, 8000] }],
        ),
        [],
      );
    });
    it('reports a task scheduled again after it completed', () => {
      assert.match(
        reRunViolations([x(1, 'completed', 5000), x(2, 'completed', 9000)], []).join('\n'),
        /completed \(attempt 1\) and was scheduled again: attempts 2/,
      );
    });
    it('reports a command that started again after its completion was recorded', () => {
      const v = reRunViolations(
        [x(1, 'completed', 5000)],
        [{ plan: 'p', task: 'a', starts: [1000, 7000], ends: [4000, 8000] }],
      );
      assert.match(v.join('\n'), /2 runs in runs\/p-a.txt but 1 execution/);
      assert.match(v.join('\n'), /started again at/);
    });
    it('reports a task that never succeeded', () => {
      assert.match(reRunViolations([x(1, 'timedOut', 5000)], []).join('\n'), /no successful execution/);
    });
  });

  describe('normaliseMirror', () => {
    const doc = (over: object = {}) => ({
      status: 'completed',
      updated: '2026-01-01T00:00:00Z',
      token_budget: { tokens: 100, used_tokens: 7 },
      tasks: [
        {
          id: 'a',
          attempts: 1,
          duration_ms: 5,
          summary: 'exit 0 in 812 ms',
          details_file: '.claude/cache/logs/p--a-1.log',
          usage: { input_tokens: 1 },
        },
      ],
      phaseflow: { revision: 3, owner: 'x#1', workflow_id: 'epic/e' },
      ...over,
    });
    it('ignores timings, attempts, durations, usage, revisions and ids', () => {
      const other = doc({
        updated: '2027-01-01T00:00:00Z',
        token_budget: { tokens: 100, used_tokens: 9 },
        tasks: [
          {
            id: 'a',
            attempts: 3,
            duration_ms: 9,
            summary: 'exit 0 in 1501 ms',
            details_file: '.claude/cache/logs/p--a-3.log',
            usage: { input_tokens: 2 },
          },
        ],
        phaseflow: { revision: 9, owner: 'x#2', workflow_id: 'epic/e2' },
      });
      assert.deepEqual(normaliseMirror(other), normaliseMirror(doc()));
    });
    it('keeps everything else: a status, a summary or a budget limit that differs is a difference', () => {
      assert.notDeepEqual(normaliseMirror(doc({ status: 'blocked' })), normaliseMirror(doc()));
      assert.notDeepEqual(
        normaliseMirror(doc({ tasks: [{ id: 'a', summary: 'exit 1 in 812 ms' }] })),
        normaliseMirror(doc({ tasks: [{ id: 'a', summary: 'exit 0 in 812 ms' }] })),
      );
      assert.notDeepEqual(
        normaliseMirror(doc({ token_budget: { tokens: 200, used_tokens: 7 } })),
        normaliseMirror(doc()),
      );
    });
  });
});
