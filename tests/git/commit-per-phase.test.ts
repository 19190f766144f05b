/**
 * git: a commit per phase on the epic's branch, on the real server with a real repository:
 * one commit per passed phase with its trailer and the phase's files (phaseflow's cache never),
 * the hash in PROGRESS.json, the status query and the Web UI details; a dirty tree refused, or
 * stashed; retry-phase starts again from the phase's start commit with the discarded attempt
 * kept as a patch.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import type { DecisionAnswer, PendingDecision } from '../../src/domain/decisions';
import { decideUpdate, pendingQuery, statusQuery } from '../../src/workflows/messages';
import { ccaspProblems } from '../support/ccasp';
import {
  epicSpec,
  FAST_SETTINGS,
  ids,
  mirrorFile,
  readJson,
  startEpic,
  tempWorkspace,
  testClient,
  uniqueName,
  waitFor,
  withWorker,
} from '../support/worker-harness';
import { commitsSince, gitIn, gitWorkspace } from './repo';

const R = 'main-road';
const P = 'core';

const command = (id: string, cmd: string, extra: object = {}) => ({
  id,
  description: `run ${id}`,
  kind: 'command',
  command: cmd,
  ...extra,
});

function gitEpic(slug: string, ws: string, phases: object[], extra: Record<string, unknown> = {}) {
  return epicSpec({
    slug,
    title: `Epic ${slug}`,
    workspace: ws,
    settings: { ...FAST_SETTINGS, decisionTimeoutSeconds: 600 },
    git: { commitPerPhase: true },
    roadmaps: [{ slug: R, title: 'Road', plans: [{ slug: P, title: 'Core plan', phases }] }],
    ...extra,
  });
}

const twoPhases = [
  {
    slug: 'models',
    title: 'Data models',
    tasks: [
      command('1.1', 'mkdir -p src && echo "export const a = 1;" > src/a.ts'),
      command('1.2', 'echo notes > notes.md'),
    ],
    gate: { commands: ['test -f src/a.ts'] },
  },
  {
    slug: 'api',
    title: 'The API',
    tasks: [command('2.1', 'echo "export const b = 2;" > src/b.ts')],
    gate: { commands: ['test -f src/b.ts'] },
  },
];

describe('git: a commit per phase (real repository, real server)', function () {
  this.timeout(120_000);

  it('commits each passed phase once on phaseflow/<epic> with its trailer; the hash is in PROGRESS.json, status and details', async () => {
    const slug = uniqueName('git');
    const taskQueue = uniqueName('tq-git');
    const { ws } = gitWorkspace();
    const initial = gitIn(ws, 'rev-parse', 'HEAD');
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, gitEpic(slug, ws, twoPhases));
      await handle.result();
      assert.equal(gitIn(ws, 'symbolic-ref', '--short', 'HEAD'), `phaseflow/${slug}`);
      const commits = commitsSince(ws, initial);
      assert.equal(commits.length, 2, `two commits, one per phase: ${JSON.stringify(commits, null, 1)}`);
      const [c1, c2] = commits;
      assert.equal(c1.subject, 'Phase 1: Data models');
      assert.deepEqual(c1.files, ['notes.md', 'src/a.ts']);
      assert.match(c1.body, new RegExp(`\\nPhaseflow-Phase: ${slug}/${R}/${P}/models$`));
      assert.match(c1.body, /- 1\.1: /);
      assert.equal(c2.subject, 'Phase 2: The API');
      assert.deepEqual(c2.files, ['src/b.ts']);
      assert.match(c2.body, new RegExp(`Phaseflow-Phase: ${slug}/${R}/${P}/api$`));
      // git's own trailer parser reads it as a trailer.
      assert.equal(
        gitIn(ws, 'log', '-1', '--format=%(trailers:key=Phaseflow-Phase,valueonly)', c2.hash),
        `${slug}/${R}/${P}/api`,
      );
      // phaseflow's records are not committed, and nothing is left uncommitted but them.
      for (const c of commits) assert.ok(!c.files.some((f) => f.startsWith('.claude/')), c.files.join(', '));
      assert.equal(gitIn(ws, 'status', '--porcelain', '--', '.', ':(exclude).claude'), '');

      const progress = readJson(mirrorFile.progress(ws, P));
      assert.deepEqual(ccaspProblems('progress', progress), []);
      assert.deepEqual(
        progress.phases.map((p: any) => p.commit_hash),
        [c1.hash, c2.hash],
      );
      const plan = await (await testClient()).workflow.getHandle(ids.plan(slug, R, P));
      const tree = await plan.query(statusQuery);
      assert.deepEqual(
        tree.children?.map((c) => c.commit),
        [c1.hash, c2.hash],
      );
      // The phase's Web UI details name its start and its commit.
      const details = await currentDetails(ids.phase(slug, R, P, 'api'));
      assert.match(
        details,
        new RegExp(`Git: started at \`${c1.hash.slice(0, 7)}\` · committed \`${c2.hash.slice(0, 7)}\``),
      );
    });
  });

  it('refuses a dirty tree at the start with the paths; dirtyTree: stash stashes them and goes on', async () => {
    const taskQueue = uniqueName('tq-git-dirty');
    const { ws } = gitWorkspace();
    fs.writeFileSync(path.join(ws, 'README.md'), '# edited by hand\n');
    fs.writeFileSync(path.join(ws, 'scratch.txt'), 'mine\n');
    const initial = gitIn(ws, 'rev-parse', 'HEAD');
    await withWorker(taskQueue, async () => {
      const refused = await startEpic(taskQueue, gitEpic(uniqueName('dirty'), ws, twoPhases));
      const err = await refused.result().then(
        () => assert.fail('a dirty tree must be refused'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError);
      const message = String(err.cause?.message);
      assert.match(message, /has uncommitted changes \(M README\.md, \?\? scratch\.txt\)/);
      assert.match(message, /set git\.dirtyTree: stash/);
      assert.equal(gitIn(ws, 'symbolic-ref', '--short', 'HEAD'), 'main', 'nothing was done');
      assert.equal(fs.readFileSync(path.join(ws, 'scratch.txt'), 'utf8'), 'mine\n');

      const stashing = uniqueName('stash');
      const spec = gitEpic(stashing, ws, twoPhases, {
        git: { commitPerPhase: true, dirtyTree: 'stash', branch: 'work/x' },
      });
      await (await startEpic(taskQueue, spec)).result();
      assert.equal(gitIn(ws, 'symbolic-ref', '--short', 'HEAD'), 'work/x');
      assert.match(gitIn(ws, 'stash', 'list'), new RegExp(`phaseflow: uncommitted changes before epic ${stashing}`));
      const commits = commitsSince(ws, initial);
      assert.equal(commits.length, 2);
      assert.ok(!commits.some((c) => c.files.includes('scratch.txt') || c.files.includes('README.md')));
      assert.equal(fs.readFileSync(path.join(ws, 'README.md'), 'utf8'), '# test repo\n');
    });
  });

  it('refuses a workspace that is not a git repository, naming it', async () => {
    const taskQueue = uniqueName('tq-git-none');
    const ws = tempWorkspace();
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, gitEpic(uniqueName('nogit'), ws, twoPhases));
      const err = await handle.result().then(
        () => assert.fail('must be refused'),
        (e: unknown) => e as WorkflowFailedError,
      );
      assert.match(String(err.cause?.message), new RegExp(`workspace ${ws} is not in a git repository`));
    });
  });

  it('retry-phase resets the workspace to the phase start commit and keeps the discarded attempt as a patch', async () => {
    const slug = uniqueName('git-retry');
    const taskQueue = uniqueName('tq-git-retry');
    const { ws } = gitWorkspace();
    // Outside the workspace: the reset cleans untracked files inside it.
    const okFlag = path.join(tempWorkspace(), 'ok');
    const initial = gitIn(ws, 'rev-parse', 'HEAD');
    // Round 1 writes work.txt and fails; after the reset, work.txt must be gone (else exit 3).
    const phases = [
      {
        slug: 'build',
        title: 'Build',
        tasks: [
          command(
            '1.1',
            `if [ -f work.txt ]; then echo "not reset" >&2; exit 3; fi; echo "round output" > work.txt; echo extra >> README.md; test -f ${okFlag}`,
            { settings: { attempts: 1 } },
          ),
        ],
        gate: { commands: ['test -f work.txt'] },
      },
    ];
    await withWorker(taskQueue, async () => {
      const handle = await startEpic(taskQueue, gitEpic(slug, ws, phases));
      const phaseId = ids.phase(slug, R, P, 'build');
      const q = await waitForQuestion(phaseId);
      assert.equal(q.cause, 'task-failed');
      assert.ok(fs.existsSync(path.join(ws, 'work.txt')));
      fs.writeFileSync(okFlag, '');
      await answer(q, { action: 'retry-phase' });
      await handle.result();

      const patchFile = path.join(ws, `.claude/cache/discarded/${P}--build-retry-1.patch`);
      const patch = fs.readFileSync(patchFile, 'utf8');
      assert.match(patch, /diff --git a\/work\.txt b\/work\.txt\nnew file mode/);
      assert.match(patch, /\+round output/);
      assert.match(patch, /\+extra/);
      // It applies on the start commit: the discarded attempt can be brought back.
      const check = path.join(tempWorkspace(), 'check');
      gitIn(path.dirname(check), 'clone', '-q', ws, check);
      gitIn(check, 'checkout', '-q', initial);
      gitIn(check, 'apply', '--check', patchFile);

      const commits = commitsSince(ws, initial);
      assert.equal(commits.length, 1);
      assert.deepEqual(commits[0].files, ['README.md', 'work.txt']);
      assert.equal(
        gitIn(ws, 'show', `${commits[0].hash}:README.md`),
        '# test repo\nextra',
        'one round of edits, not two',
      );
      const details = await currentDetails(phaseId);
      assert.match(details, /discarded attempt kept in `\.claude\/cache\/discarded\/core--build-retry-1\.patch`/);
    });
  });
});

async function waitForQuestion(workflowId: string): Promise<PendingDecision> {
  const handle = (await testClient()).workflow.getHandle(workflowId);
  return waitFor('a question', async () => (await handle.query(pendingQuery).catch(() => []))[0], 60_000);
}

async function answer(p: PendingDecision, a: DecisionAnswer) {
  const client = await testClient();
  return client.workflow
    .getHandle(p.workflowId)
    .executeUpdate(decideUpdate, { args: [{ decisionId: p.id, by: 'tester', ...a }] });
}

/** A workflow's current details (Temporal's built-in metadata query; a worker replays a closed one). */
async function currentDetails(workflowId: string): Promise<string> {
  const client = await testClient();
  const meta = await client.workflow
    .getHandle(workflowId)
    .query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  return meta.currentDetails ?? '';
}
