/**
 * The expand/collapse specialist in claude mode (Levels 0 ↔ 1): one Claude call per phase, answering
 * through a forced tool call whose input is checked against a zod schema (as `analyze --mode
 * claude` does). It returns the new file's Markdown and a one-line summary; the caller writes the
 * file and checks it (it must import cleanly and keep every task) before it counts.
 */
import { z } from 'zod';
import { askForToolAnswer, planningClient } from './tool-answer';
import { resolveModelId } from '../domain/models';

export const SPECIALIST_TOOL = 'write_plan_file';

export const SpecialistAnswer = z.strictObject({
  markdown: z.string().min(1).describe('The whole new file (or section), Markdown'),
  summary: z.string().min(1).max(300).describe('One sentence: what you did'),
});

const SYSTEM =
  'You reshape Structure-Level Markdown software plans. You move one phase between the main plan and its own ' +
  'phase file. Keep every task line: the same checkbox state ([x] or [ ]), the same text, the same order; ' +
  'keep the Objective, Testing blocks and Success Criteria. You may add clarifying notes, never drop or merge tasks. ' +
  'Answer only by calling the tool.';

export interface SpecialistRequest {
  op: 'expand' | 'collapse';
  phase: string;
  /** expand: the phase's section in the main plan; collapse: the phase file. */
  source: string;
  /** The heading depth of phases in the main plan (### → 3). */
  depth: number;
}

function prompt(r: SpecialistRequest): string {
  const sub = '#'.repeat(Math.min(6, r.depth + 1));
  return r.op === 'expand'
    ? `Expand phase ${r.phase} into its own phase file. Its first line is "# Phase ${r.phase}: <title>" ` +
        '(drop any [EXPANDED] tag, keep status markers such as [COMPLETED]); its sub-headings start at "##".\n\n' +
        `The phase's section in the main plan:\n\n${r.source}`
    : `Collapse this phase file back into a section of the main plan. Its first line is ` +
        `"${'#'.repeat(r.depth)} Phase ${r.phase}: <title>" (no [EXPANDED] tag); its sub-headings start at "${sub}".\n\n` +
        `The phase file:\n\n${r.source}`;
}

export async function reshapeWithAgent(
  r: SpecialistRequest,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ text: string; summary: string }> {
  const answer = await askForToolAnswer(planningClient(env, `the ${r.op} specialist in claude mode`), {
    who: `phase ${r.phase}`,
    model: resolveModelId(undefined, 'default'),
    maxTokens: 16_000,
    system: SYSTEM,
    tool: { name: SPECIALIST_TOOL, description: 'Write the reshaped Markdown and a summary', answer: SpecialistAnswer },
    content: prompt(r),
  });
  return { text: answer.markdown.replace(/\n*$/, '\n'), summary: answer.summary };
}
