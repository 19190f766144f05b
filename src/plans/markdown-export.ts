/**
 * An epic spec written as Structure-Level Markdown plans, one per plan (`NNN_<plan>.md` at Level
 * 0, a `NNN_<plan>/` directory with phase files at Level 1, phase directories with stage files at
 * Level 2). What a person reads is plain Markdown (headings with status markers, checkboxes,
 * Objective, Testing blocks); what Markdown has no place for (slugs, settings, task kinds,
 * dry-run behaviour …) rides in a `<!-- phaseflow {…} -->` comment, so `import(export(x))` is `x`.
 * Pure: returns the files to write.
 */
import type { EpicSpec, PhaseSpec, PlanSpec, TaskSpec } from '../domain/spec';

export type Level = 0 | 1 | 2;

/** path (relative to the export directory) → content */
export type FileSet = Map<string, string>;

const TASK_DEFAULTS: Partial<Record<keyof TaskSpec, unknown>> = {
  kind: 'agent',
  domain: 'general',
  outputType: 'code',
  complexity: 'default',
};

const comment = (o: Record<string, unknown>) =>
  Object.keys(o).length ? `<!-- phaseflow ${JSON.stringify(o).replace(/--/g, '\\u002d\\u002d')} -->` : '';

function omit<T extends object>(o: T, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => !keys.includes(k) && v !== undefined));
}

/** Task fields the Markdown line does not show (defaults left out). */
function taskExtra(t: TaskSpec): Record<string, unknown> {
  const extra = omit(t, ['status', 'source', 'dependsOn']);
  for (const [k, v] of Object.entries(TASK_DEFAULTS)) if (extra[k] === v) delete extra[k];
  if (Array.isArray(extra.files) && (extra.files as unknown[]).length === 0) delete extra.files;
  if (!String(t.description).includes('\n')) delete extra.description;
  return extra;
}

function taskLine(t: TaskSpec): string {
  const deps = t.dependsOn?.length ? ` *(depends on ${t.dependsOn.join(', ')})*` : '';
  const first = t.description.split('\n')[0];
  return `- [${t.status === 'completed' ? 'x' : ' '}] **${t.id}**: ${first}${deps} ${comment(taskExtra(t))}`.trimEnd();
}

const marker = (p: PhaseSpec) =>
  p.status === 'completed' ? ' [COMPLETED]' : p.status === 'skipped' ? ' [SKIPPED]' : '';

function phaseExtra(p: PhaseSpec): Record<string, unknown> {
  const extra = omit(p, ['tasks', 'status', 'source', 'description']);
  if (p.description.includes('\n')) extra.description = p.description;
  return extra;
}

/** The body of a phase after its heading: comment, Objective, tasks, Testing, Success Criteria. */
function phaseBody(p: PhaseSpec, h: string, withTasks = true): string[] {
  const lines = [comment(phaseExtra(p)), ''];
  if (p.description) lines.push(`**Objective**: ${p.description.split('\n')[0]}`, '');
  if (withTasks) lines.push('Tasks:', ...p.tasks.map(taskLine), '');
  if (p.gate.commands.length) {
    lines.push(`${h} Testing`, '');
    for (const c of p.gate.commands) lines.push('```bash', typeof c === 'string' ? c : c.run, '```', '');
  }
  if (p.gate.successCriteria.length)
    lines.push(`${h} Success Criteria`, '', ...p.gate.successCriteria.map((c) => `- [ ] ${c}`), '');
  return lines;
}

const fileSlug = (s: string) => s.replace(/-/g, '_');

export function exportMarkdown(spec: EpicSpec, level: Level = 0): FileSet {
  const files: FileSet = new Map();
  let n = 0;
  for (const roadmap of spec.roadmaps) {
    for (const plan of roadmap.plans) {
      n++;
      const stem = `${String(n).padStart(3, '0')}_${fileSlug(plan.slug)}`;
      const head = {
        slug: plan.slug,
        plan: omit(plan, ['slug', 'phases']),
        roadmap: { slug: roadmap.slug, title: roadmap.title, extra: omit(roadmap, ['slug', 'title', 'plans']) },
        epic: omit(spec, ['roadmaps']),
      };
      writePlan(files, level === 0 ? `${stem}.md` : `${stem}/${stem}.md`, plan, head, level);
    }
  }
  return files;
}

function writePlan(files: FileSet, main: string, plan: PlanSpec, head: Record<string, unknown>, level: Level): void {
  const dir = main.includes('/') ? main.slice(0, main.lastIndexOf('/') + 1) : '';
  const expanded = level === 0 ? [] : plan.phases.map((_, i) => i + 1);
  const lines = [
    `# ${plan.title}`,
    '',
    comment(head),
    '',
    '## Metadata',
    `- **Structure Level**: ${level}`,
    `- **Expanded Phases**: [${expanded.join(', ')}]`,
    ...(plan.description ? [`- **Feature**: ${plan.description.split('\n')[0]}`] : []),
    '',
    '## Implementation Phases',
    '',
  ];
  plan.phases.forEach((p, i) => {
    const num = i + 1;
    const name = `phase_${num}_${fileSlug(p.slug)}`;
    if (level === 0) {
      lines.push(`### Phase ${num}: ${p.title}${marker(p)}`, ...phaseBody(p, '####'));
      return;
    }
    lines.push(
      `### Phase ${num}: ${p.title}${marker(p)} [EXPANDED]`,
      '',
      `See [${name}](${level === 1 ? `${name}.md` : `${name}/${name}.md`}).`,
      '',
    );
    if (level === 1) files.set(`${dir}${name}.md`, phaseFile(p, num));
    else writePhaseDir(files, `${dir}${name}/`, name, p, num);
  });
  files.set(
    main,
    `${lines
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trimEnd()}\n`,
  );
}

export function phaseFile(p: PhaseSpec, num: number | string): string {
  const lines = [`# Phase ${num}: ${p.title}${marker(p)}`, '', ...phaseBody(p, '##')];
  return `${lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

/** Level 2: the phase's tasks in stages, one stage per dependency wave (a wave of more than 5 is cut). */
export function stagesOf(tasks: TaskSpec[]): TaskSpec[][] {
  const depth = new Map<string, number>();
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const walk = (t: TaskSpec, seen: Set<string>): number => {
    if (depth.has(t.id)) return depth.get(t.id)!;
    if (seen.has(t.id)) return 0;
    seen.add(t.id);
    const d = Math.max(0, ...t.dependsOn.map((x) => (byId.has(x) ? walk(byId.get(x)!, seen) + 1 : 0)));
    depth.set(t.id, d);
    return d;
  };
  tasks.forEach((t) => walk(t, new Set()));
  const waves: TaskSpec[][] = [];
  for (const t of tasks) (waves[depth.get(t.id)!] ??= []).push(t);
  return waves.filter(Boolean).flatMap((w) => {
    const out: TaskSpec[][] = [];
    for (let i = 0; i < w.length; i += 5) out.push(w.slice(i, i + 5));
    return out;
  });
}

export function writePhaseDir(files: FileSet, dir: string, name: string, p: PhaseSpec, num: number | string): void {
  const stages = stagesOf(p.tasks);
  const overview = [
    `# Phase ${num}: ${p.title}${marker(p)}`,
    '',
    ...phaseBody(p, '##', false),
    '## Metadata',
    `- **Expanded Stages**: [${stages.map((_, i) => i + 1).join(', ')}]`,
    '',
  ];
  stages.forEach((tasks, i) => {
    const s = i + 1;
    overview.push(
      `### Stage ${s}: tasks ${tasks[0].id}…${tasks[tasks.length - 1].id}`,
      '',
      `See stage_${s}_tasks.md.`,
      '',
    );
    const done = tasks.every((t) => t.status === 'completed');
    files.set(
      `${dir}stage_${s}_tasks.md`,
      [`# Stage ${s}: Phase ${num} tasks${done ? ' [COMPLETED]' : ''}`, '', ...tasks.map(taskLine), ''].join('\n'),
    );
  });
  files.set(
    `${dir}${name}.md`,
    `${overview
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trimEnd()}\n`,
  );
}
