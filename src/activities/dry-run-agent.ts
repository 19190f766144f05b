/**
 * The simulated agent of dry-run mode: deterministic duration, outcome and usage from the spec
 * (or from the task id), a real details file and a real AOP result, at no cost. Its simulated
 * work ends at once when the activity is cancelled (Context.sleep rejects with CancelledFailure).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Context } from '@temporalio/activity';
import { costOf } from '../domain/models';
import { detailsFilePath } from '../domain/paths';
import type { AgentStatus, TaskResult, TaskRunInput, Usage } from '../domain/types';
import { transientFailure } from './failures';
import { heartbeatEveryMs } from './heartbeat';
import { capSummary } from './summaries';
import { writeFileAtomic } from './fs-atomic';
import { realWorkspace, resolveInWorkspace, toRelative } from './agent/workspace';
import { inWorkspace } from './workspace';

function seed(input: TaskRunInput): number {
  return createHash('sha256').update(`${input.ctx.planSlug}/${input.task.id}`).digest().readUInt32BE(0);
}

export function dryRunDurationMs(input: TaskRunInput): number {
  return input.task.dryRun?.durationMs ?? 100 + (seed(input) % 500);
}

export function dryRunUsage(input: TaskRunInput): Usage {
  const s = seed(input);
  const base = {
    inputTokens: 1000 + (s % 4000),
    outputTokens: 200 + (s % 800),
    cacheWriteTokens: 0,
    cacheReadTokens: 0,
  };
  return { ...base, costUsd: costOf(input.model, base), simulated: true };
}

export async function runDryRunAgent(input: TaskRunInput): Promise<TaskResult> {
  const activity = Context.current();
  const { task, attempt } = input;
  const behaviour = task.dryRun ?? {};
  const durationMs = dryRunDurationMs(input);
  // Heartbeat while "working" so a long simulated task behaves like a real one.
  activity.heartbeat({ simulated: task.id });
  const beat = setInterval(() => activity.heartbeat({ simulated: task.id }), heartbeatEveryMs(activity));
  try {
    await activity.sleep(durationMs);
  } finally {
    clearInterval(beat);
  }
  if (attempt <= (behaviour.failAttempts ?? 0)) {
    throw transientFailure(
      `simulated transient failure of task ${task.id} in ${input.ctx.planSlug} (attempt ${attempt} of ${behaviour.failAttempts} set to fail)`,
    );
  }
  const status = behaviour.outcome ?? 'success';
  const written = await writeSimulatedFiles(input.ctx.workspace, behaviour.writes ?? []);
  const fullSummary = behaviour.summary ?? defaultSummary(input, status);
  const usage = dryRunUsage(input);
  const detailsFile = detailsFilePath(input.ctx.planSlug, task.id, attempt);
  const output = simulatedOutput(input, behaviour.outputBytes ?? 2048);
  await writeFileAtomic(
    inWorkspace(input.ctx.workspace, detailsFile),
    JSON.stringify(
      {
        task: task.id,
        plan: input.ctx.planSlug,
        phase: input.ctx.phaseSlug,
        attempt,
        mode: 'dry-run',
        model: input.model,
        status,
        summary: fullSummary,
        final_text: `${output}\n[AOP:SUMMARY] ${fullSummary}\n[AOP:DETAILS_FILE] ${detailsFile}\n[AOP:STATUS] ${status}`,
        tool_calls: [],
        files_changed: written,
        usage,
        duration_ms: durationMs,
      },
      null,
      2,
    ),
  );
  return {
    taskId: task.id,
    kind: 'agent',
    status,
    summary: capSummary(fullSummary, task.outputType),
    detailsFile,
    attempt,
    durationMs,
    usage,
    model: input.model,
    filesChanged: written.length,
    ...(written.length ? { changedPaths: written } : {}),
  };
}

/** `dryRun.writes`: the simulated agent's file changes, confined to the workspace like a real agent's Write. */
async function writeSimulatedFiles(
  workspace: string,
  writes: { path: string; content: string; prepend?: boolean }[],
): Promise<string[]> {
  const root = await realWorkspace(workspace);
  for (const w of writes) {
    const full = await resolveInWorkspace(root, w.path);
    await fs.mkdir(path.dirname(full), { recursive: true });
    const before = w.prepend ? await fs.readFile(full, 'utf8').catch(() => '') : '';
    await writeFileAtomic(full, w.content + before);
  }
  return writes.map((w) => toRelative(root, path.resolve(root, w.path)));
}

function defaultSummary(input: TaskRunInput, status: AgentStatus): string {
  const { task } = input;
  if (status === 'blocked') {
    return `Blocked: the simulated ${task.domain} agent needs a person's decision to go on with task ${task.id} ("${task.description}").`;
  }
  return `Simulated ${task.domain} agent: ${status} on "${task.description}"`;
}

function simulatedOutput(input: TaskRunInput, bytes: number): string {
  const line = `[dry-run] ${input.ctx.planSlug}/${input.task.id}: simulated work on "${input.task.description}".\n`;
  return line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes);
}
