/**
 * The Temporal Web UI, in a real browser (Debian's chromium driven by playwright-core), shows a
 * person what a waiting epic asks: the epic is found with the `PhaseflowStatus="waiting"` filter,
 * and its current details carry the question, how to answer it, when the default fires, and the
 * progress. After the answer the epic leaves the filter.
 *
 * The shared test server runs headless, so this test starts a dev server of its own with the UI
 * (and a worker on it). npm test installs chromium first (scripts/test-prereqs.js); without it the
 * test fails, with how to install it; set PHASEFLOW_SKIP_BROWSER=1 to skip it instead. Screenshots
 * go to a temporary directory (printed), or to PHASEFLOW_SCREENSHOT_DIR.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import type { PendingDecision } from '../../src/domain/decisions';
import { decideUpdate, pendingQuery, statusQuery } from '../../src/workflows/messages';
import { type DevServerHandle, freePort, startDevServer } from '../../src/temporal/dev-server';
import { testTemporal } from '../support/temporal-server';
import {
  agentTask,
  epicSpec,
  realActivities,
  tempWorkspace,
  uniqueName,
  waitFor,
  workflowBundle,
} from '../support/worker-harness';
import { epicWorkflow } from '../../src/workflows/epic';

const WAITING = 'PhaseflowStatus="waiting"';

/** chromium from PHASEFLOW_CHROMIUM, /usr/bin/chromium or PATH; undefined when none is installed. */
function findChromium(): string | undefined {
  for (const p of [process.env.PHASEFLOW_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'])
    if (p && fs.existsSync(p)) return p;
  try {
    return (
      execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim() ||
      undefined
    );
  } catch {
    return undefined;
  }
}

/** The same quiet SDK runtime as the worker harness, when this file runs on its own. */
function quietRuntime(): void {
  if (Runtime._instance || process.env.PHASEFLOW_TEST_SDK_LOGS) return;
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) } },
  });
}

describe('Temporal Web UI (chromium): what a waiting epic asks', function () {
  this.timeout(240_000);

  let executablePath: string | undefined;
  let dir: string;
  let shots: string;
  let server: DevServerHandle | undefined;
  let client: Client | undefined;
  let native: NativeConnection | undefined;
  let browser: Browser | undefined;

  before(async function () {
    executablePath = findChromium();
    if (!executablePath) {
      const how =
        'install it with `apt-get install -y chromium` (npm test does, through scripts/test-prereqs.js), or point PHASEFLOW_CHROMIUM at a chromium binary';
      if (process.env.PHASEFLOW_SKIP_BROWSER === '1') {
        console.error(
          `\n  !!! SKIPPING the Web UI browser test: no chromium found and PHASEFLOW_SKIP_BROWSER=1; ${how}\n`,
        );
        this.skip();
      }
      throw new Error(
        `the Web UI browser test needs chromium and none was found; ${how} (PHASEFLOW_SKIP_BROWSER=1 skips this test)`,
      );
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phaseflow-webui-'));
    shots = process.env.PHASEFLOW_SCREENSHOT_DIR ?? path.join(dir, 'screenshots');
    fs.mkdirSync(shots, { recursive: true });
    server = await startDevServer({
      binary: testTemporal().binary,
      dbFile: path.join(dir, 'temporal.sqlite'),
      logFile: path.join(dir, 'server.log'),
      port: await freePort(),
      uiPort: await freePort(),
    });
    assert.ok(server.uiUrl, 'the dev server was started with its Web UI');
    // The UI is served by the same process; it may answer a moment after the frontend.
    await waitFor('the Web UI to answer', async () => (await fetch(server!.uiUrl!).catch(() => undefined))?.ok, 30_000);
    client = new Client({ connection: await Connection.connect({ address: server.address }), namespace: 'default' });
    quietRuntime();
    native = await NativeConnection.connect({ address: server.address });
    browser = await chromium.launch({ executablePath, headless: true });
  });

  after(async () => {
    await browser?.close();
    await client?.connection.close();
    await native?.close();
    await server?.stop();
    if (dir && !process.env.PHASEFLOW_KEEP_TEST_DIRS && !process.env.PHASEFLOW_SCREENSHOT_DIR)
      fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds the epic under PhaseflowStatus="waiting" and shows the question, how to answer, the default and the progress', async () => {
    const taskQueue = uniqueName('webui-q');
    const slug = uniqueName('webui');
    const busySlug = uniqueName('webui-busy');
    const epicId = `epic/${slug}`;
    const phaseId = `${epicId}/build/api/models`;
    const spec = (s: string, tasks: object[]) =>
      epicSpec({
        slug: s,
        title: `Web UI ${s}`,
        workspace: tempWorkspace(),
        settings: { attempts: 1, timeoutBaseSeconds: 30, retryBackoffSeconds: 0.2, decisionTimeoutSeconds: 3600 },
        roadmaps: [
          {
            slug: 'build',
            title: 'Build',
            plans: [
              {
                slug: 'api',
                title: 'API',
                phases: [
                  { slug: 'models', title: 'Data models', tasks },
                  { slug: 'routes', title: 'Routes', tasks: [agentTask('2.1', 50)] },
                ],
              },
            ],
          },
        ],
      });

    const worker = await Worker.create({
      connection: native!,
      namespace: 'default',
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: realActivities,
      shutdownGraceTime: '1 second',
    });
    await worker.runUntil(async () => {
      // One epic whose phase fails and asks a person, one that is merely busy (must not be listed).
      await client!.workflow.start(epicWorkflow, {
        taskQueue,
        workflowId: epicId,
        args: [spec(slug, [agentTask('1.1', 50), agentTask('1.2', 50, { dryRun: { outcome: 'failure' } })])],
      });
      await client!.workflow.start(epicWorkflow, {
        taskQueue,
        workflowId: `epic/${busySlug}`,
        args: [spec(busySlug, [agentTask('1.1', 120_000)])],
      });
      const asked = await waitFor(
        'the escalation',
        async () => (await client!.workflow.getHandle(epicId).query(pendingQuery))[0],
        60_000,
      );
      assert.equal(asked.workflowId, phaseId);

      const page = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
      try {
        // The list, filtered as a person would: every level at or above the waiting phase, nothing else.
        const listUrl = `${server!.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(WAITING)}`;
        const listed = await listedIds(page, listUrl, (ids) => ids.includes(phaseId) && ids.includes(epicId));
        assert.deepEqual(listed.filter((id) => id.includes(slug)).sort(), [
          epicId,
          `${epicId}/build`,
          `${epicId}/build/api`,
          phaseId,
        ]);
        assert.ok(
          !listed.some((id) => id.includes(busySlug)),
          `the busy epic is not waiting, yet listed: ${listed.join(', ')}`,
        );
        await page.screenshot({ path: path.join(shots, '1-waiting-list.png'), fullPage: true });

        // Open the epic from the list, then its user metadata (summary, details, current details).
        const epicNode = await client!.workflow.getHandle(epicId).query(statusQuery);
        const epicText = await openDetails(page, epicId);
        assert.match(epicText, new RegExp(`Epic Web UI ${slug}`), epicText);
        assert.match(epicText, /\bwaiting\b/, `status word in: ${epicText}`);
        // Progress as the epic knows it (its figures roll up per phase), as a bar and as numbers.
        assert.match(
          epicText,
          progress(epicNode.tasksCompleted, epicNode.tasksTotal),
          `progress ${epicNode.tasksCompleted}/${epicNode.tasksTotal} in: ${epicText}`,
        );
        assertAsks(epicText, asked);
        await page.screenshot({ path: path.join(shots, '2-epic-current-details.png'), fullPage: true });

        // The phase that asks: live progress (task 1.1 done, 1.2 failed) and the same question.
        await page.goto(listUrl, { waitUntil: 'domcontentloaded' });
        const phaseText = await openDetails(page, phaseId);
        assert.match(phaseText, progress(1, 2), `phase progress 1/2 in: ${phaseText}`);
        assertAsks(phaseText, asked);
        await page.screenshot({ path: path.join(shots, '3-phase-current-details.png'), fullPage: true });

        // Answered: the phase goes on (skip), and the epic leaves the waiting filter.
        await client!.workflow
          .getHandle(phaseId)
          .executeUpdate(decideUpdate, { args: [{ action: 'skip', decisionId: asked.id, by: 'webui-test' }] });
        const after = await listedIds(page, listUrl, (ids) => !ids.includes(epicId));
        assert.ok(!after.includes(phaseId), `answered phase still listed as waiting: ${after.join(', ')}`);
        await page.screenshot({ path: path.join(shots, '4-after-answer.png'), fullPage: true });
      } finally {
        await page.close();
      }
      await client!.workflow.getHandle(`epic/${busySlug}`).terminate('test done');
      await client!.workflow.getHandle(epicId).result();
    });
    console.log(`    screenshots: ${shots}`);
  });
});

/** Workflow ids listed at `url`, reloading (visibility is eventually consistent) until `ok` holds. */
async function listedIds(page: Page, url: string, ok: (ids: string[]) => boolean): Promise<string[]> {
  let ids: string[] = [];
  await waitFor(
    `the workflow list at ${url} to show the expected workflows`,
    async () => {
      await page.goto(url, { waitUntil: 'domcontentloaded' });
      // The table's rows link each workflow id to its page; an empty list shows no such link.
      await page
        .locator('a[href*="/workflows/epic"]')
        .first()
        .waitFor({ timeout: 10_000 })
        .catch(() => undefined);
      ids = (await page.locator('a[href*="/workflows/epic"]').allTextContents())
        .map((t) => t.trim())
        .filter((t) => t.startsWith('epic/'));
      return ok(ids);
    },
    60_000,
    1000,
  ).catch((err) => {
    throw new Error(`${(err as Error).message}; listed: ${ids.join(', ') || 'nothing'}`);
  });
  return ids;
}

/** From the workflow list on `page`: opens `workflowId` and its User Metadata tab; the current details' text. */
async function openDetails(page: Page, workflowId: string): Promise<string> {
  await page.getByRole('link', { name: workflowId, exact: true }).click();
  await page.waitForURL((u) => decodeURIComponent(u.pathname).includes(`/workflows/${workflowId}/`));
  await page.getByText('User Metadata', { exact: true }).first().click();
  const frame = await currentDetails(page, 'Waiting for a decision');
  return frame.evaluate(() => document.body.innerText);
}

/** A 20-cell bar then done/total; the UI's markdown renders the slash as U+2044 (fraction slash). */
const progress = (done: number, total: number) => new RegExp(`[█░]{20}\\s*${done}\\s*[/\u2044]\\s*${total}\\b`);

/** What is asked, which task failed, how to answer (phaseflow and plain temporal), the default and when it fires. */
function assertAsks(text: string, asked: PendingDecision): void {
  assert.ok(text.includes(asked.question), `question "${asked.question}" in: ${text}`);
  assert.match(text, /\b1\.2\b/, `the failed task in: ${text}`);
  assert.ok(text.includes(`phaseflow resolve ${asked.workflowId}`), `phaseflow answer command in: ${text}`);
  assert.ok(
    text.includes(`temporal workflow update execute --workflow-id ${asked.workflowId} --name decide`),
    `plain temporal answer in: ${text}`,
  );
  assert.match(
    text,
    new RegExp(`Default\\s+${asked.defaultAction}\\s+at\\s+${asked.defaultAt.replace(/[.]/g, '\\.')}`),
    `default ${asked.defaultAction} at ${asked.defaultAt} in: ${text}`,
  );
}

/** The frame the UI renders a workflow's current details (markdown) in, once it shows `marker`. */
async function currentDetails(page: Page, marker: string): Promise<Frame> {
  return waitFor(
    `current details showing "${marker}"`,
    async () => {
      for (const f of page.frames()) {
        if (!f.url().includes('/render?')) continue;
        const text = await f.evaluate(() => document.body?.innerText ?? '').catch(() => '');
        if (text.includes(marker)) return f;
      }
      return undefined;
    },
    30_000,
    500,
  );
}
