/**
 * The agents of `phaseflow orchestrate` as agent tasks: what each is told (research, planner,
 * document), and, for dry-run, what its simulation writes. Pure and deterministic (workflow
 * code): a simulated agent's files follow from the goal, the survey and the summaries alone.
 */
import type { Survey, Topic } from '../activities/orchestrate';
import type { PhaseSummary } from '../activities/orchestrate';
import { type OrchestrateInput, pruneWords } from '../domain/orchestrate';
import type { EpicSpecInput, TaskSpec } from '../domain/spec';

/** What a research agent hands on: its report's path and at most 50 words. */
export interface ResearchNote {
  topic: string;
  path: string;
  summary: string;
}

const agentTask = (
  t: Pick<TaskSpec, 'id' | 'description' | 'domain' | 'outputType' | 'files' | 'dryRun'>,
): TaskSpec => ({
  kind: 'agent',
  complexity: 'default',
  dependsOn: [],
  ...t,
});

export function researchTask(input: OrchestrateInput, survey: Survey, topic: Topic): TaskSpec {
  const summary = pruneWords(
    `${topic.title}: the workspace has ${survey.fileCount} files${survey.files.length ? ` (${survey.files.slice(0, 3).join(', ')})` : ''}; recommend small phases, each behind a gate of real commands, and notes of the decisions in docs/decisions.`,
  );
  return agentTask({
    id: `research-${topic.n}`,
    description: [
      `Research for the goal: "${input.goal}".`,
      `Your topic (${topic.n} of ${survey.topics.length}): ${topic.title}.`,
      `Look at the workspace (Glob, Grep, Read) and use what you know. Write your findings as Markdown to ${topic.reportPath}`,
      `(sections: Findings, Recommendations, Risks). Your AOP summary (at most 50 words) is all the planner sees unless it opens your report.`,
    ].join('\n'),
    domain: 'general',
    outputType: 'search',
    files: [topic.reportPath],
    dryRun: {
      summary,
      writes: [{ path: topic.reportPath, content: simulatedReport(input, survey, topic) }],
    },
  });
}

export function plannerTask(
  input: OrchestrateInput,
  survey: Survey,
  notes: ResearchNote[],
  specPath: string,
  draft: number,
  problems: { path: string; message: string }[],
): TaskSpec {
  const invalid = input.simulate?.invalidFirstDraft === true && draft === 1;
  return agentTask({
    // One id per draft: each draft is its own conversation (transcript) and details file.
    id: `planner-${draft}`,
    description: [
      `Plan the goal: "${input.goal}".`,
      `Research reports (path: summary); open a report with Read only if its summary is not enough:`,
      ...notes.map((n) => `- ${n.path}: ${n.summary}`),
      `Write the epic spec as JSON to ${specPath}: {"title", "description", "roadmaps": [{"slug", "title", "plans": [{"slug", "title",`,
      `"phases": [{"slug", "title", "description", "tasks": [{"id", "description", "kind": "agent"|"command", "command"?, "domain",`,
      `"outputType", "files", "dependsOn"}], "gate": {"commands": ["shell command", ...], "successCriteria": [...]}}]}]}]}.`,
      `Slugs are lowercase-with-dashes; task ids are unique in a plan; dependsOn names tasks of the same phase; every phase has a gate`,
      `of real commands that prove it works. Do not set workspace or agentMode: the run sets them.`,
      ...(problems.length
        ? [
            `Your previous draft (${draft - 1}) was refused; fix exactly these problems (field path: problem):`,
            ...problems.map((p) => `- ${p.path || '(root)'}: ${p.message}`),
          ]
        : []),
    ].join('\n'),
    domain: 'general',
    outputType: 'analysis',
    files: [specPath],
    dryRun: {
      summary: `Draft ${draft}: ${invalid ? 'a first draft' : 'the plan'} for "${pruneWords(input.goal, 12)}" in ${specPath}.`,
      writes: [{ path: specPath, content: JSON.stringify(simulatedSpec(input, survey, notes, invalid), null, 2) }],
    },
  });
}

export function documentTask(input: OrchestrateInput, slug: string, phases: PhaseSummary[]): TaskSpec {
  const entry = [
    `## ${slug}: ${pruneWords(input.goal, 20)}`,
    '',
    ...phases.map((p) => `- ${p.title} (${p.status}): ${p.summary}`),
    '',
    '',
  ].join('\n');
  return agentTask({
    id: 'document',
    description: [
      `Document the work done for the goal: "${input.goal}". Update README.md (what a user needs to know now) and add an entry at the top of`,
      `CHANGELOG.md (create it if missing). The phases and what they reported:`,
      ...phases.map((p) => `- phase ${p.phase} ${p.title} (${p.status}): ${p.summary}`),
    ].join('\n'),
    domain: 'general',
    outputType: 'code',
    files: ['README.md', 'CHANGELOG.md'],
    dryRun: {
      summary: `CHANGELOG.md: an entry for ${slug} with ${phases.length} phase summaries.`,
      writes: [{ path: 'CHANGELOG.md', content: entry, prepend: true }],
    },
  });
}

function simulatedReport(input: OrchestrateInput, survey: Survey, topic: Topic): string {
  return [
    `# Research ${topic.n}: ${topic.title}`,
    '',
    `Goal: ${input.goal}`,
    '',
    '## Findings',
    '',
    `- The workspace holds ${survey.fileCount} files.`,
    ...survey.files.map((f) => `  - \`${f}\``),
    `- Nothing in it addresses "${topic.title}" yet, by file name.`,
    '',
    '## Recommendations',
    '',
    '- Keep each phase small enough that one gate of real commands proves it.',
    '- Record each decision in `docs/decisions/` so that later phases (and people) can read why.',
    '- Put the behaviour behind a file the gate can check, so "done" is decided by commands, not claims.',
    '',
    '## Risks',
    '',
    '- A phase without a gate would pass on an agent’s word; every phase gets one.',
    '- Simulated research (dry-run): these findings come from the file list only.',
    '',
  ].join('\n');
}

/**
 * The simulated planner's epic: decisions from each report, the build (a file the gate checks)
 * and a verification phase. `invalid`: a task depends on one that does not exist (a first draft
 * to be corrected). `failingGate`: the build writes "status: todo", its gate wants "status: done",
 * and only the debug agent's simulation writes that.
 */
function simulatedSpec(
  input: OrchestrateInput,
  survey: Survey,
  notes: ResearchNote[],
  invalid: boolean,
): Omit<EpicSpecInput, 'workspace'> {
  const artefact = `src/${survey.slug}.txt`;
  const done = `goal: ${input.goal}\nstatus: done\n`;
  const decisions = notes.map((n, i) => ({ note: n, file: `docs/decisions/${String(i + 1).padStart(2, '0')}.md` }));
  return {
    slug: survey.slug,
    title: pruneWords(input.goal, 10),
    description: input.goal,
    agentMode: 'dry-run',
    roadmaps: [
      {
        slug: 'delivery',
        title: 'Delivery',
        plans: [
          {
            slug: survey.slug,
            title: pruneWords(input.goal, 10),
            phases: [
              {
                slug: 'decisions',
                title: 'Record the decisions',
                description: 'One decision note per research report.',
                tasks: (decisions.length ? decisions : [{ note: undefined, file: 'docs/decisions/01.md' }]).map(
                  (d, i) => ({
                    id: `1.${i + 1}`,
                    description: d.note ? `Record the decisions of ${d.note.path}` : 'Record the decisions',
                    domain: 'general' as const,
                    outputType: 'analysis' as const,
                    files: [d.file],
                    dryRun: { writes: [{ path: d.file, content: `# Decision\n\n${d.note?.summary ?? input.goal}\n` }] },
                  }),
                ),
                gate: {
                  commands: (decisions.length ? decisions : [{ file: 'docs/decisions/01.md' }]).map(
                    (d) => `test -s ${d.file}`,
                  ),
                  successCriteria: ['Every report has a decision note'],
                },
              },
              {
                slug: 'build',
                title: 'Build it',
                description: input.goal,
                tasks: [
                  {
                    id: '2.1',
                    description: `Implement: ${input.goal}`,
                    domain: 'backend',
                    outputType: 'code',
                    files: [artefact],
                    dryRun: {
                      writes: [
                        { path: artefact, content: input.simulate?.failingGate ? done.replace('done', 'todo') : done },
                      ],
                    },
                  },
                  {
                    id: '2.2',
                    description: 'Count the lines written',
                    kind: 'command',
                    command: `wc -l ${artefact}`,
                    dependsOn: [invalid ? '2.9' : '2.1'],
                  },
                ],
                gate: {
                  commands: [`grep -q '^status: done' ${artefact}`],
                  successCriteria: [`${artefact} says the work is done`],
                  dryRunDebug: {
                    summary: `Set ${artefact} to status: done`,
                    writes: [{ path: artefact, content: done }],
                  },
                },
              },
              {
                slug: 'verify',
                title: 'Verify',
                description: 'A check a person can re-run.',
                tasks: [
                  {
                    id: '3.1',
                    description: `Write a check for ${artefact}`,
                    domain: 'testing',
                    outputType: 'tests',
                    files: [`tests/${survey.slug}.sh`],
                    dryRun: {
                      writes: [{ path: `tests/${survey.slug}.sh`, content: `grep -q '^status: done' ${artefact}\n` }],
                    },
                  },
                ],
                gate: { commands: [`sh tests/${survey.slug}.sh`], successCriteria: ['The check passes'] },
              },
              ...(input.simulate?.heavyPhase ? [heavyPhase()] : []),
            ],
          },
        ],
      },
    ],
  };
}

/** `simulate.heavyPhase`: 32 tasks, 6 files, a chain of dependencies and a long objective: complexity 10. */
function heavyPhase() {
  return {
    slug: 'polish',
    title: 'Polish everything',
    description: 'Go over every module and make it consistent. '.repeat(70),
    tasks: Array.from({ length: 32 }, (_, i) => ({
      id: `4.${i + 1}`,
      description: `Polish module ${i + 1}`,
      files: i < 6 ? [`src/module${i + 1}.txt`] : [],
      ...(i > 0 && i <= 6 ? { dependsOn: [`4.${i}`] } : {}),
      dryRun: { durationMs: 20 },
    })),
    gate: { commands: ['true'], successCriteria: ['Everything is polished'] },
  };
}
