/**
 * `phaseflow orchestrate "GOAL"` starts orchestrateWorkflow (id `orchestrate/<slug>`) and follows
 * it: it says when the plan waits for approval and how to answer, then prints each stage with the
 * bytes it produced and handed on. `phaseflow demo-orchestrate` (`npm run demo:orchestrate`) runs
 * the whole flow in dry-run with its own worker (and server, if none answers), approving the plan
 * as a person would.
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Client, type WorkflowHandle, WorkflowFailedError } from '@temporalio/client';
import type { OrchestrateOutcome } from '../domain/orchestrate';
import { goalSlug } from '../domain/orchestrate';
import { OrchestrateInput, type OrchestrateInputRaw } from '../domain/orchestrate-input';
import { createLogger } from '../log';
import { connectClient, connectNative, ensureSearchAttributes, temporalConfig } from '../temporal/config';
import { decideUpdate, pendingQuery } from '../workflows/messages';
import { orchestrateWorkflow } from '../workflows/orchestrate';
import { createWorker, installRuntimeLogger } from '../worker';
import { CliError } from './errors';
import { defaultWorkerLog } from './paths';
import { serverForDemo } from './server';
import { noWorkerText, workerPolling, withClient } from './target';

export interface OrchestrateOptions {
  workspace?: string;
  research?: number;
  parallel?: number;
  until?: string;
  out?: string;
  mode?: 'dry-run' | 'claude';
  slug?: string;
  expand?: 'auto' | 'ask' | 'off';
  wait?: boolean;
}

/** The workflow input from the command line, checked by the same zod schema the workflow uses (exit 2 with the field). */
export function orchestrateInput(goal: string, o: OrchestrateOptions): OrchestrateInput {
  const raw: OrchestrateInputRaw = {
    goal,
    workspace: path.resolve(o.workspace ?? '.'),
    ...(o.slug ? { slug: o.slug } : {}),
    ...(o.research !== undefined ? { research: o.research } : {}),
    ...(o.parallel !== undefined ? { researchParallel: o.parallel } : {}),
    ...(o.until ? { until: o.until } : {}),
    ...(o.mode ? { agentMode: o.mode } : {}),
    ...(o.expand ? { expand: o.expand } : {}),
  };
  const parsed = OrchestrateInput.safeParse(raw);
  if (!parsed.success)
    throw new CliError(
      `orchestrate: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      2,
    );
  return parsed.data;
}

export async function orchestrateCommand(goal: string, o: OrchestrateOptions): Promise<void> {
  const input = orchestrateInput(goal, o);
  if (!statSync(input.workspace, { throwIfNoEntry: false })?.isDirectory())
    throw new CliError(`orchestrate: --workspace: no such directory ${input.workspace}; nothing started`, 2);
  const workflowId = `orchestrate/${input.slug ?? goalSlug(goal)}`;
  await withClient(async (client) => {
    const { taskQueue } = temporalConfig();
    if (!(await workerPolling(client, taskQueue))) console.error(`warning: ${noWorkerText(taskQueue)}`);
    const handle = await client.workflow.start(orchestrateWorkflow, { workflowId, taskQueue, args: [input] });
    console.log(
      `Started ${workflowId} (${input.agentMode}) on task queue ${taskQueue}: research → plan → approval → implement → document`,
    );
    if (o.wait === false) return;
    const outcome = await follow(handle, async (q) =>
      console.log(`  ${q}\n  answer: phaseflow approve ${workflowId}  /  phaseflow reject ${workflowId} --note "why"`),
    );
    finish(outcome, o.out);
  });
}

/** Waits for the run, telling `onQuestion` once about each question it asks. */
async function follow(
  handle: WorkflowHandle<typeof orchestrateWorkflow>,
  onQuestion: (question: string, id: string) => Promise<void>,
): Promise<OrchestrateOutcome> {
  const seen = new Set<string>();
  let done = false;
  const result = handle.result().finally(() => (done = true));
  while (!done) {
    const pending = await handle.query(pendingQuery).catch(() => []);
    for (const q of pending)
      if (!seen.has(q.id)) {
        seen.add(q.id);
        await onQuestion(q.question, q.id);
      }
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
  }
  try {
    return await result;
  } catch (err) {
    if (err instanceof WorkflowFailedError)
      throw new CliError(`${handle.workflowId} failed: ${err.cause?.message ?? err.message}`);
    throw err;
  }
}

export function printOrchestrate(o: OrchestrateOutcome): void {
  console.log(`\n${o.slug}: ${o.status}${o.failureReason ? ` (${o.failureReason})` : ''}`);
  if (o.planPath) console.log(`  plan: ${o.planPath}  spec: ${o.specPath}`);
  if (o.epicId) console.log(`  epic: ${o.epicId} (phaseflow status ${o.epicId})`);
  console.log('  stage        status      produced   handed on   reduction');
  for (const s of o.stages)
    console.log(
      `  ${s.stage.padEnd(12)} ${s.status.padEnd(10)} ${`${s.bytesProduced} B`.padStart(9)} ${`${s.bytesHandedOn} B`.padStart(11)} ${s.reductionPercent === undefined ? '' : `${s.reductionPercent} %`.padStart(11)}`,
    );
  const p = o.pruning;
  console.log(
    `  all stages: ${p.bytesProduced} B produced, ${p.bytesHandedOn} B handed on${p.reductionPercent === undefined ? '' : ` (${p.reductionPercent} % less)`}`,
  );
}

function finish(outcome: OrchestrateOutcome, out?: string): void {
  printOrchestrate(outcome);
  if (out) {
    writeFileSync(out, `${JSON.stringify(outcome, null, 2)}\n`);
    console.log(`  outcome written to ${out}`);
  }
  if (outcome.status === 'failed') throw new CliError(`orchestrate ${outcome.slug} failed: ${outcome.failureReason}`);
  if (outcome.status === 'rejected')
    throw new CliError(`orchestrate ${outcome.slug}: the plan was rejected; nothing was started`);
}

/** `npm run demo:orchestrate`: the whole flow in dry-run, no key, no cost. */
export async function demoOrchestrateCommand(opts: { workspace?: string; out?: string }): Promise<void> {
  const started = Date.now();
  const ws = path.resolve(opts.workspace ?? 'demo-orchestrate-workspace');
  rmSync(ws, { recursive: true, force: true });
  mkdirSync(ws, { recursive: true });
  writeFileSync(path.join(ws, 'README.md'), '# Greeter\n\nA small greeting tool.\n');
  const config = temporalConfig();
  const server = await serverForDemo(config);
  installRuntimeLogger(
    createLogger({ name: 'phaseflow-demo-orchestrate', file: process.env.PHASEFLOW_LOG_FILE ?? defaultWorkerLog() }),
  );
  const native = await connectNative(config);
  const client: Client = await connectClient(config);
  try {
    await ensureSearchAttributes(native, config.namespace);
    const taskQueue = `${config.taskQueue}-demo-orchestrate-${process.pid}`;
    const worker = await createWorker({ connection: native, namespace: config.namespace, taskQueue });
    const goal = 'Add a greeting command, document it and test it';
    const input = {
      ...orchestrateInput(goal, { workspace: ws, mode: 'dry-run', slug: `demo-orch-${process.pid}` }),
      simulate: { invalidFirstDraft: true, failingGate: true },
      settings: { timeoutBaseSeconds: 30, retryBackoffSeconds: 0.2 },
    };
    const workflowId = `orchestrate/${input.slug}`;
    console.log(`phaseflow orchestrate "${goal}" --workspace ${ws} (dry-run: simulated agents, real files and gates)`);
    const outcome = await worker.runUntil(async () => {
      const handle = await client.workflow.start(orchestrateWorkflow, { workflowId, taskQueue, args: [input] });
      return follow(handle, async (question, id) => {
        console.log(`  ${workflowId} asks: ${question}`);
        console.log(`  the demo approves, as \`phaseflow approve ${workflowId}\` would`);
        await handle.executeUpdate(decideUpdate, { args: [{ decisionId: id, action: 'approve', by: 'demo' }] });
      });
    });
    finish(outcome, opts.out);
    console.log(`  record: ${path.join(ws, `.claude/orchestrator/orchestrate/${outcome.slug}.json`)}`);
    console.log(`Demo wall time: ${((Date.now() - started) / 1000).toFixed(1)} s (workspace ${ws})`);
  } finally {
    await client.connection.close();
    await native.close();
    await server?.stop();
  }
}
