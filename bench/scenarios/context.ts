/**
 * Context kept out of Temporal: agents whose full outputs are 20 KB (dryRun.outputBytes).
 * Produced = the details files on disk; reached history = the task activities' result payloads
 * in the histories of all the epic's workflows (where an agent's output would enter Temporal).
 * Also reported: all history bytes of the epic, and whether any output text appears in them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { temporal } from '@temporalio/proto';
import { activities, fetchHistories, listEpicRuns } from '../history';
import { figure } from '../report';
import { benchEpic, taskCount, workflowCount } from '../specs';
import type { Scenario } from './scenario';

const OUTPUT_BYTES = 20_000;
const SHAPE = { roadmaps: 1, plans: 1, phases: 2, tasks: 10 };
/** Every line of a dry-run agent's simulated output carries this text. */
const OUTPUT_MARKER = Buffer.from('simulated work on');

export const context: Scenario = {
  name: 'context',
  uses: [],
  async run({ env, runId }) {
    const slug = `bench-ctx-${runId}`;
    const workspace = env.workspace(slug);
    await env.runEpic(
      benchEpic({
        slug,
        workspace,
        shape: SHAPE,
        durationMs: 0,
        outputBytes: OUTPUT_BYTES,
        settings: { maxParallel: SHAPE.tasks },
      }),
    );

    const outDir = path.join(workspace, '.claude', 'cache', 'agent-outputs');
    const files = fs.readdirSync(outDir).filter((f) => f.endsWith('.json'));
    if (files.length !== taskCount(SHAPE))
      throw new Error(`context: ${files.length} details files in ${outDir}, expected ${taskCount(SHAPE)}`);
    const produced = files.reduce((n, f) => n + fs.statSync(path.join(outDir, f)).size, 0);

    const histories = await fetchHistories(env.client, await listEpicRuns(env.client, slug, workflowCount(SHAPE)));
    const results = histories.flatMap((h) => activities(h).filter((a) => a.type === 'runAgentTask'));
    const resultBytes = results.reduce((n, a) => n + a.resultBytes, 0);
    const historyBytes = histories.reduce((n, h) => n + h.bytes, 0);
    const markerHits = histories.reduce(
      (n, h) =>
        n +
        countOccurrences(
          Buffer.from(temporal.api.history.v1.History.encode({ events: h.events }).finish()),
          OUTPUT_MARKER,
        ),
      0,
    );

    return {
      figures: [
        figure({
          key: 'context.keptOut',
          label: `context kept out of history (${OUTPUT_BYTES / 1000} KB outputs)`,
          value: 100 * (1 - resultBytes / produced),
          unit: '%',
          target: { op: '>=', value: 99 },
          basis: `1 − task result payloads in history (${resultBytes} B, ${results.length} results) / details files on disk (${produced} B, ${files.length} files)`,
        }),
        figure({
          key: 'context.keptOutAllHistory',
          label: `  same, against all history bytes of the epic`,
          value: 100 * (1 - historyBytes / produced),
          unit: '%',
          basis: `1 − all ${histories.length} workflow run histories (${historyBytes} B, incl. specs, mirror patches, signals) / details files (${produced} B)`,
        }),
        figure({
          key: 'context.outputTextInHistory',
          label: `  output lines found in history`,
          value: markerHits,
          unit: '',
          basis: `occurrences of "${OUTPUT_MARKER}" (on every simulated output line) in the encoded histories`,
        }),
      ],
      details: {
        shape: SHAPE,
        outputBytes: OUTPUT_BYTES,
        detailsFiles: files.length,
        producedBytes: produced,
        taskResultBytes: resultBytes,
        taskResultBytesEach: resultBytes / results.length,
        historyBytes,
        perRun: histories.map((h) => ({
          workflowId: h.workflowId,
          runId: h.runId,
          events: h.events.length,
          bytes: h.bytes,
        })),
        outputMarkerHits: markerHits,
      },
    };
  },
};

function countOccurrences(haystack: Buffer, needle: Buffer): number {
  let n = 0;
  for (let i = haystack.indexOf(needle); i !== -1; i = haystack.indexOf(needle, i + needle.length)) n++;
  return n;
}
