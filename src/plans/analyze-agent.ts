/**
 * `phaseflow analyze --mode claude`: a Claude agent scores each phase and says why, answering
 * through one forced tool call whose input is checked against a zod schema (a structured answer,
 * not prose to parse). The recommendation still follows the thresholds.
 */
import { z } from 'zod';
import { resolveModelId } from '../domain/models';
import type { EpicSpec } from '../domain/spec';
import { type PhaseComplexity, recommend, type Thresholds } from './analyze';
import { askForToolAnswer, planningClient } from './tool-answer';

const TOOL = 'report_complexity';

export const AgentAnswer = z.strictObject({
  phases: z
    .array(
      z.strictObject({
        number: z.int().min(1).describe('The phase number as listed'),
        complexity: z.int().min(1).max(10).describe('1 (trivial) to 10 (needs splitting)'),
        reason: z.string().min(1).max(400).describe('One sentence: why this score'),
      }),
    )
    .min(1),
});

const SYSTEM =
  'You estimate how complex each phase of a software plan is, 1 (trivial) to 10 (too big for one phase: ' +
  'it should be split into stages). Judge the work the tasks describe: scope, files touched, dependencies, ' +
  'risk. Answer only by calling the tool, with one entry per phase.';

function describe(spec: EpicSpec): string {
  return spec.roadmaps
    .flatMap((r) => r.plans)
    .map(
      (plan) =>
        `Plan ${plan.slug}: ${plan.title}\n` +
        plan.phases
          .map(
            (p, i) =>
              `Phase ${i + 1}: ${p.title}\n${p.description ? `Objective: ${p.description.slice(0, 1000)}\n` : ''}` +
              p.tasks
                .slice(0, 80)
                .map(
                  (t) =>
                    `- ${t.id}: ${t.description.split('\n')[0].slice(0, 200)}${t.dependsOn.length ? ` (after ${t.dependsOn.join(', ')})` : ''}`,
                )
                .join('\n'),
          )
          .join('\n\n'),
    )
    .join('\n\n');
}

export async function analyzeWithAgent(
  spec: EpicSpec,
  thresholds: Thresholds,
  env: NodeJS.ProcessEnv = process.env,
): Promise<PhaseComplexity[]> {
  const client = planningClient(env, 'analyze --mode claude');
  const out: PhaseComplexity[] = [];
  for (const plan of spec.roadmaps.flatMap((r) => r.plans)) {
    const one: EpicSpec = { ...spec, roadmaps: [{ ...spec.roadmaps[0], plans: [plan] }] };
    const answer = await askForToolAnswer(client, {
      who: `plan ${plan.slug}`,
      model: resolveModelId(spec.settings?.model, 'default'),
      maxTokens: 4096,
      system: SYSTEM,
      tool: { name: TOOL, description: 'Report the complexity of every phase', answer: AgentAnswer },
      content: describe(one),
    });
    plan.phases.forEach((phase, i) => {
      const a = answer.phases.find((p) => p.number === i + 1);
      if (!a) throw new Error(`plan ${plan.slug}: the agent's answer has no phase ${i + 1}`);
      out.push({
        plan: plan.slug,
        number: i + 1,
        slug: phase.slug,
        title: phase.title,
        complexity: a.complexity,
        reason: `agent: ${a.reason}`,
        recommendation: recommend(a.complexity, thresholds),
      });
    });
  }
  return out;
}
