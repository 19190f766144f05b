/**
 * Specialists are system prompts. The stable part (role and rules, per domain) comes first and
 * the task's part second. Both end in a cache breakpoint: within a task every turn re-reads the
 * whole cached prefix (tools → system), and the agents of a phase (any task of the same domain)
 * read the shared tools → specialist prefix from their first request on (`npm run bench -- --only
 * cache`). With the tools' and the last message's, that makes the API's maximum of four.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { detailsFilePath } from '../../domain/paths';
import { SUMMARY_CAPS } from '../../domain/spec';
import type { Domain, TaskRunInput } from '../../domain/types';

const SPECIALISTS: Record<Domain, string> = {
  frontend:
    'You are a senior frontend engineer. You build accessible, responsive user interfaces, follow the component, ' +
    'styling and state-management conventions already present in the project, and keep UI code typed and testable.',
  backend:
    'You are a senior backend engineer. You write correct, well-structured server code: clear APIs, input validation, ' +
    'error handling with context, safe data access, and no secrets in code or logs.',
  testing:
    'You are a senior test engineer. You write focused, deterministic tests that pin down behaviour, cover edge cases ' +
    'and failure paths, run fast, and use the test framework the project already uses.',
  deployment:
    'You are a senior deployment and infrastructure engineer. You write reproducible build, CI and deployment ' +
    'configuration, pin versions, keep secrets out of files, and prefer changes that can be rolled back.',
  general:
    'You are a senior software engineer. You make careful, minimal, well-reasoned changes that fit the existing code.',
};

const RULES = `How you work:
- You work unattended: nobody answers questions while you work. Make reasonable decisions yourself, and state them in your summary.
- Only when you cannot go on without a person, stop and report STATUS blocked (see below): for example a credential, access or service you need and do not have; a requirement that contradicts itself or the code in a way that decides the outcome; or a step that is destructive, irreversible or outside the task and needs someone's consent. Missing details you can reasonably decide are not a reason to block.
- All your work happens inside the workspace directory. Paths may be relative to the workspace or absolute inside it; any path outside it is refused.
- Use the tools to inspect and change files. Read a file before you Edit it; Edit needs old_string to match exactly.
- Bash runs in the workspace with a time limit and no credentials; there is no network guarantee. Keep command output short (pipe through head/tail).
- Stay within the task. Do not rewrite unrelated code. Do not write under .claude/cache/ (phaseflow keeps its records there).
- Be economical: every turn costs time and money, and the task has a time limit.
- Finish with the Agent Output Protocol block described below, as the last thing in your final message.`;

export function systemPrompt(input: TaskRunInput): Anthropic.TextBlockParam[] {
  const { ctx, task } = input;
  const cap = SUMMARY_CAPS[task.outputType];
  const details = detailsFilePath(ctx.planSlug, task.id, input.attempt);
  const files = task.files.length ? task.files.map((f) => `- ${f}`).join('\n') : '- (none named; find what you need)';
  const taskPart = `## Your task
Epic: ${ctx.epicTitle} (${ctx.epicSlug})
Plan: ${ctx.planTitle} (${ctx.planSlug})
Phase ${ctx.phaseIndex}: ${ctx.phaseTitle} (${ctx.phaseSlug})
Task ${task.id} (${task.domain}, output type: ${task.outputType}):
${task.description}

Files named for this task:
${files}

Workspace: ${ctx.workspace}

## Agent Output Protocol (mandatory)
End your final message with exactly this block and nothing after it:

[AOP:SUMMARY] <what you did and the outcome; at most ${cap} characters>
[AOP:DETAILS_FILE] ${details}
[AOP:STATUS] success|failure|partial|blocked

- STATUS is success only if the task is fully done; partial if some of it is done (say what is missing); failure if you could not do it (say why); blocked if you need a person to go on: then the summary starts with what you need from them (the question or the missing thing), then what you have done so far.
- The summary is cut at ${cap} characters (output type "${task.outputType}"); put the essentials first. phaseflow writes the details file itself.`;
  return [
    { type: 'text', text: `${SPECIALISTS[task.domain]}\n\n${RULES}`, cache_control: { type: 'ephemeral' } },
    { type: 'text', text: taskPart, cache_control: { type: 'ephemeral' } },
  ];
}

/** The opening user message of a conversation (fresh start or after a compaction). */
export function taskMessage(input: TaskRunInput): string {
  return [
    `Carry out task ${input.task.id} as described in the system prompt: ${input.task.description}`,
    ...attemptNotes(input),
  ].join('\n\n');
}

/** What a retried attempt must know: why the last one failed, and that its tools are reduced. */
export function attemptNotes(input: TaskRunInput): string[] {
  const notes: string[] = [];
  if (input.attempt > 1 || input.previousFailure) {
    notes.push(
      `This is attempt ${input.attempt} of ${input.maxAttempts}.` +
        (input.previousFailure
          ? ` The previous attempt did not succeed: ${input.previousFailure}. Do not repeat what went wrong.`
          : ''),
    );
  }
  if (input.reducedTools) notes.push('In this attempt only the Read and Write tools are available.');
  return notes;
}

/** Added when an attempt continues the conversation of an agent that reported blocked. */
export const BLOCKED_RESUME_NOTE =
  '[phaseflow] You reported that you were blocked. A person has seen your report and started this attempt for you to go on with the task; if they answered, their answer is in the notes that follow.';

/** Asked (with tool use disabled) when the conversation nears the context limit. */
export const COMPACTION_REQUEST = `The conversation is getting too long for the context window and will be replaced by your summary. Do not use any tools now.
Write a continuation summary that lets you carry on the task without the earlier messages, inside <summary></summary> tags, covering:
1. Task overview: what the task asks for and what "done" means.
2. Current state: what is finished and what is in progress.
3. Files touched: every file created or changed, and what changed in it.
4. Decisions and discoveries: choices made, problems found, things that did not work.
5. Next steps: what remains, in order.
Be complete but concise.`;

export function continuationMessage(input: TaskRunInput, summary: string): string {
  return `${taskMessage(input)}

Earlier work on this task was compacted into this summary:
<summary>
${summary}
</summary>

Continue the task from where the summary leaves off. Files listed there are already in the workspace; Read them rather than rewriting from memory.`;
}
