/**
 * What a plan's GitHub issue should say, built from the plan's state (pure, workflow-safe): the
 * issue's title and body, its labels (`phase:N/M`, `status:…`), and its comments, each named by a
 * hidden marker `<!-- phaseflow:<key> -->` so a retried or replayed sync edits its comment instead
 * of posting a second one. The sync activity makes the issue match this.
 */
import { ACTIONS, type DecisionAction, type PendingDecision } from '../domain/decisions';
import type { GithubSpec } from '../domain/github-spec';
import { usageLine } from './details';
import { countDone, type PhaseState, type PlanState, shownPlanStatus, sumUsage } from './plan-state';

export interface GithubComment {
  /** The marker's key: `epic/plan/phase`, `epic/plan/phase/task/attempt`, `…/question/<id>`, `epic/plan/final`. */
  key: string;
  body: string;
}

export interface GithubIssueDoc {
  /** The issue's own marker key (`epic/plan`): finds the issue phaseflow created after a restart. */
  key: string;
  title: string;
  body: string;
  labels: string[];
  comments: GithubComment[];
  /** The plan ended: close the issue. */
  close: boolean;
}

export const marker = (key: string) => `<!-- phaseflow:${key} -->`;

/** The comment command that gives `action` (what a person types on the issue). */
export function commandFor(action: DecisionAction, p: PendingDecision): string {
  switch (action) {
    case 'reject':
      return '/phaseflow reject because <reason>';
    case 'raise':
      return `/phaseflow budget --usd <new limit>${p.budgetLevel ? ` (or --tokens N; the ${p.budgetLevel} budget)` : ''}`;
    default:
      return `/phaseflow ${action}`;
  }
}

export function issueDoc(
  state: PlanState,
  spec: GithubSpec,
  extra: { pullRequest?: string; gitBranch?: string; sharedIssue?: boolean },
): GithubIssueDoc {
  const key = `${state.epicSlug}/${state.planSlug}`;
  const shown = shownPlanStatus(state);
  const done = state.phases.filter((p) => p.status === 'completed' || p.status === 'skipped').length;
  const current = Math.min(state.phases.length, Math.max(1, state.currentPhase || 1));
  const comments: GithubComment[] = [];
  for (const phase of state.phases) {
    if (!phase.startedAt && phase.status === 'pending') continue;
    if (phase.source) continue; // done before this run (imported): nothing happened to report
    if (spec.comments === 'per-phase') comments.push({ key: `${key}/${phase.slug}`, body: phaseComment(state, phase) });
    else
      for (const t of phase.tasks)
        if (['completed', 'failed', 'blocked'].includes(t.status) && t.attempts > 0)
          comments.push({
            key: `${key}/${phase.slug}/${t.id}/${t.attempts}`,
            body: [
              `**Task ${t.id}** of phase ${phase.index} (${phase.title}): **${t.status}** after ${t.attempts} attempt(s)`,
              '',
              t.summary ? `> ${t.summary.replace(/\n/g, '\n> ')}` : t.error ? `> ${t.error}` : '',
              '',
              `Usage: ${usageLine(t.usage)}`,
            ].join('\n'),
          });
  }
  for (const d of state.decisions.filter((x) => x.kind !== 'detector'))
    comments.push({ key: `${key}/question/${d.id}`, body: answeredComment(d) });
  if (state.pending)
    comments.push({ key: `${key}/question/${state.pending.id}`, body: questionComment(state.pending) });
  const ended = state.status === 'completed' || state.status === 'failed' || state.status === 'cancelled';
  if (ended)
    comments.push({
      key: `${key}/final`,
      body: [
        `**Plan ${state.planSlug} ${state.status}**: ${done}/${state.phases.length} phases, ${countDone(state.phases.flatMap((p) => p.tasks))}/${state.phases.flatMap((p) => p.tasks).length} tasks · ${usageLine(sumUsage(state.phases.flatMap((p) => p.tasks)))}`,
        ...(state.failureReason ? ['', `Reason: ${state.failureReason}`] : []),
        ...(extra.pullRequest ? ['', `Pull request: ${extra.pullRequest}`] : []),
      ].join('\n'),
    });
  return {
    key,
    title: `phaseflow: ${state.title} (plan ${state.planSlug} of epic ${state.epicSlug})`,
    body: [
      `Progress of plan **${state.planSlug}** (${state.title}) of epic **${state.epicSlug}**, run by phaseflow (workflow \`${state.workflowId}\`).`,
      '',
      ...state.phases.map(
        (p) => `- [${p.status === 'completed' ? 'x' : ' '}] Phase ${p.index}: ${p.title} (${p.status})`,
      ),
      ...(extra.gitBranch ? ['', `Branch: \`${extra.gitBranch}\``] : []),
      '',
      'Questions to a person are posted here with the commands that answer them; people with write access answer by commenting them.',
    ].join('\n'),
    labels: [`phase:${current}/${state.phases.length}`, `status:${labelStatus(shown)}`],
    comments: comments.map((c) => ({ key: c.key, body: `${marker(c.key)}\n${c.body}` })),
    // An issue the epic's or roadmap's spec names is shared by its plans: one plan's end does not close it.
    close: state.status === 'completed' && !extra.sharedIssue,
  };
}

function labelStatus(shown: string): 'active' | 'waiting' | 'failed' | 'completed' {
  if (shown === 'completed') return 'completed';
  if (shown === 'failed' || shown === 'cancelled') return 'failed';
  if (shown === 'waiting' || shown === 'paused') return 'waiting';
  return 'active';
}

function phaseComment(state: PlanState, phase: PhaseState): string {
  const lines = [
    `**Phase ${phase.index}/${state.phases.length}: ${phase.title}**: **${phase.status}** · ${countDone(phase.tasks)}/${phase.tasks.length} tasks · ${usageLine(sumUsage(phase.tasks))}`,
    '',
    '| task | status | attempts | summary |',
    '|---|---|---|---|',
    ...phase.tasks.map(
      (t) => `| ${t.id} | ${t.status} | ${t.attempts} | ${cell(t.summary ?? t.error ?? t.description)} |`,
    ),
  ];
  if (phase.gate) {
    lines.push('', `Gate: ${phase.gate.passed ? 'passed' : `**failed**: ${phase.gate.reason ?? ''}`}`);
    const evidence = phase.gate.checks.find((c) => !c.passed) ?? phase.gate.checks[phase.gate.checks.length - 1];
    if (evidence?.outputExcerpt)
      lines.push(
        '',
        `\`${evidence.command}\` (exit ${evidence.exitCode}):`,
        '```',
        evidence.outputExcerpt.slice(-600),
        '```',
      );
  }
  if (phase.commit) lines.push('', `Commit: \`${phase.commit}\``);
  if (phase.failureReason) lines.push('', `Reason: ${phase.failureReason}`);
  return lines.join('\n');
}

function questionComment(p: PendingDecision): string {
  return [
    `**Question (${p.kind}, ${p.id})**: ${p.question}`,
    '',
    p.detail ? `> ${p.detail.replace(/\n/g, '\n> ')}` : '',
    '',
    'Answer with one of these comments (people with write access to this repository):',
    '',
    ...ACTIONS[p.kind].filter((a) => p.actions.includes(a)).map((a) => `- \`${commandFor(a, p)}\``),
    '',
    `If nobody answers by ${p.defaultAt}, the default is taken: \`${p.defaultAction}\`.`,
  ].join('\n');
}

function answeredComment(d: PlanState['decisions'][number]): string {
  return [
    `**Question (${d.kind}, ${d.id})**: ${d.question}`,
    '',
    `Answered: **${d.action}** ${d.source === 'default' ? 'by default (no answer in time)' : `by ${d.by ?? 'a person'}`} at ${d.decidedAt}${d.note ? `: ${d.note}` : ''}`,
  ].join('\n');
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 200);
