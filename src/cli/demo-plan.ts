/**
 * `phaseflow demo-plan` (`npm run demo:plan`): a plan written for another tool, end to end, in
 * dry-run (no API key): import the Markdown plan `examples/plans/001_greeter_plan.md` → analyze
 * it → expand the phase the analysis recommends (the durable workflow: checkpoint, specialist,
 * diff, approval, apply) → import the expanded plan and start it as an epic; the phase imported
 * as completed does not run. Server and worker as in `phaseflow demo`.
 */
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import YAML from 'yaml';
import { workflowIds } from '../domain/ids';
import { decideUpdate, pendingQuery } from '../workflows/messages';
import { planReshapeWorkflow } from '../workflows/plan-reshape';
import { EpicSpec } from '../domain/spec';
import { createLogger } from '../log';
import { analysisTable, analyzeSpec } from '../plans/analyze';
import { formatWarning, importPlans } from '../plans/import';
import { connectClient, connectNative, ensureSearchAttributes, temporalConfig } from '../temporal/config';
import { createWorker, installRuntimeLogger } from '../worker';
import { CliError } from './errors';
import { defaultWorkerLog } from './paths';
import { printReshape } from './plans';
import { serverForDemo } from './server';
import { startEpic } from './start';
import { watchEpic } from './watch';

const EXAMPLE = path.resolve(__dirname, '../../examples/plans/001_greeter_plan.md');

export async function demoPlanCommand(opts: { workspace?: string }): Promise<void> {
  const started = Date.now();
  const ws = path.resolve(opts.workspace ?? 'demo-plan-workspace');
  rmSync(ws, { recursive: true, force: true });
  mkdirSync(path.join(ws, '.claude'), { recursive: true });
  mkdirSync(path.join(ws, 'specs', 'plans'), { recursive: true });
  const plan = path.join(ws, 'specs', 'plans', path.basename(EXAMPLE));
  copyFileSync(EXAMPLE, plan);

  console.log(`\n1. phaseflow import ${path.relative(process.cwd(), plan)}`);
  const imported = importPlans([plan], { workspace: ws, agentMode: 'dry-run' });
  for (const w of imported.warnings) console.log(`   warning: ${formatWarning(w)}`);
  writeFileSync(path.join(ws, 'epic.yaml'), YAML.stringify(imported.spec, { lineWidth: 0 }));
  const spec = EpicSpec.parse(imported.spec);
  const phases = spec.roadmaps[0].plans[0].phases;
  console.log(
    `   ${path.join(ws, 'epic.yaml')}: ${phases.length} phases, ${phases.flatMap((p) => p.tasks).length} tasks; completed: ${phases
      .filter((p) => p.status === 'completed')
      .map((p) => p.title)
      .join(', ')} (source imported)`,
  );

  console.log(`\n2. phaseflow analyze ${path.relative(process.cwd(), plan)}`);
  process.stdout.write(analysisTable(analyzeSpec(spec)).replace(/^/gm, '   '));

  const config = temporalConfig();
  const server = await serverForDemo(config);
  const logFile = process.env.PHASEFLOW_LOG_FILE ?? defaultWorkerLog();
  installRuntimeLogger(createLogger({ name: 'phaseflow-demo-plan', file: logFile }));
  const native = await connectNative(config);
  const client = await connectClient(config);
  try {
    await ensureSearchAttributes(native, config.namespace);
    const taskQueue = `${config.taskQueue}-demo-plan-${process.pid}`;
    const worker = await createWorker({ connection: native, namespace: config.namespace, taskQueue });
    const ok = await worker.runUntil(async () => {
      console.log(`\n3. phaseflow expand ${path.relative(process.cwd(), plan)} --auto`);
      const reshapeId = `reshape/demo-plan-${process.pid}`;
      const handle = await client.workflow.start(planReshapeWorkflow, {
        workflowId: reshapeId,
        taskQueue,
        args: [{ planPath: plan, op: 'expand', auto: true, decisionTimeoutSeconds: 300 }],
      });
      for (;;) {
        const [q] = await handle.query(pendingQuery);
        if (q?.kind === 'approval') {
          console.log(`   ${reshapeId} asks: ${q.question}`);
          console.log(`   (${q.detail}); the demo approves, as \`phaseflow approve ${reshapeId}\` would`);
          await handle.executeUpdate(decideUpdate, { args: [{ decisionId: q.id, action: 'approve', by: 'demo' }] });
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      const outcome = await handle.result();
      printReshape(outcome);

      const planDir = path.join(ws, 'specs', 'plans', path.basename(plan, '.md'));
      console.log(
        `\n4. phaseflow import ${path.relative(process.cwd(), planDir)} --out epic.yaml && phaseflow start epic.yaml`,
      );
      const again = EpicSpec.parse(importPlans([planDir], { workspace: ws, agentMode: 'dry-run' }).spec);
      again.slug = 'demo-plan';
      writeFileSync(path.join(ws, 'epic.yaml'), YAML.stringify(again, { lineWidth: 0 }));
      const id = workflowIds.epic(again.slug);
      try {
        await client.workflow.getHandle(id).terminate('replaced by a new demo-plan run');
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError) && !/already completed|not found/i.test(String(err))) throw err;
      }
      await startEpic(client, again, { taskQueue });
      const result = await watchEpic(client, id);
      console.log(result.message);
      return result.ok;
    });
    console.log(`Demo wall time: ${((Date.now() - started) / 1000).toFixed(1)} s (workspace ${ws})`);
    if (!ok) throw new CliError('the imported epic did not complete', 1);
  } finally {
    await client.connection.close();
    await native.close();
    await server?.stop();
  }
}
