/**
 * The epic every fault test runs: 2 roadmaps, 3 plans, 5 phases, 19 tasks (dry-run agents and
 * real commands, dependsOn, gates, one agent that fails once). About 20 s undisturbed.
 *
 * Every command task leaves evidence of each run in `runs/<plan>-<task>.txt`: a `start <ns>` line
 * when it begins and an `end <ns>` line when it finishes (wall-clock nanoseconds), so a run of a
 * task after its completion was recorded shows up in the files, not only in the history.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EpicSpec } from '../../../src/domain/spec';
import { agentTask, epicSpec } from '../../support/worker-harness';

/** One slug for all runs (undisturbed and faulty), so their mirrors compare field by field. */
export const FAULT_EPIC = 'faults';

const cmd = (plan: string, id: string, seconds: number, extra: Record<string, unknown> = {}) => {
  const file = `runs/${plan}-${id}.txt`;
  return {
    id,
    description: `command ${id} of ${plan}`,
    kind: 'command',
    command: `echo "start $(date +%s%N)" >> ${file}; sleep ${seconds}; echo "end $(date +%s%N)" >> ${file}`,
    ...extra,
  };
};

export function faultEpic(workspace: string): EpicSpec {
  fs.mkdirSync(path.join(workspace, 'runs'), { recursive: true });
  return epicSpec({
    slug: FAULT_EPIC,
    title: 'Fault test epic',
    workspace,
    settings: {
      maxParallel: 3,
      // Every kill can cost a running task an attempt (its heartbeat stops): room for many kills.
      attempts: 20,
      timeoutBaseSeconds: 30,
      timeoutFactor: 1,
      retryBackoffSeconds: 0.2,
      // Above the 2 s at which command tasks heartbeat; a killed attempt is retried after 3 s.
      heartbeatSeconds: 3,
    },
    roadmaps: [
      {
        slug: 'app',
        title: 'App',
        plans: [
          {
            slug: 'backend',
            title: 'Backend',
            phases: [
              {
                slug: 'schema',
                title: 'Schema',
                tasks: [
                  cmd('backend', 'a', 1.2),
                  agentTask('b', 900),
                  cmd('backend', 'c', 0.8, { dependsOn: ['a'] }),
                  agentTask('d', 1200, { dependsOn: ['b'] }),
                ],
                gate: {
                  commands: ['test -s runs/backend-a.txt', 'test -s runs/backend-c.txt'],
                  successCriteria: ['schema commands ran'],
                },
              },
              {
                slug: 'api',
                title: 'API',
                tasks: [
                  agentTask('e', 700, { dryRun: { failAttempts: 1 } }),
                  cmd('backend', 'f', 1.4),
                  cmd('backend', 'g', 0.6, { dependsOn: ['e', 'f'] }),
                  agentTask('h', 600),
                ],
              },
            ],
          },
          {
            slug: 'frontend',
            title: 'Frontend',
            phases: [
              {
                slug: 'ui',
                title: 'UI',
                tasks: [
                  cmd('frontend', 'a', 1),
                  cmd('frontend', 'b', 0.9),
                  agentTask('c', 1100),
                  cmd('frontend', 'd', 0.7, { dependsOn: ['c'] }),
                ],
                gate: { commands: ['test -s runs/frontend-d.txt'] },
              },
            ],
          },
        ],
      },
      {
        slug: 'ops',
        title: 'Ops',
        plans: [
          {
            slug: 'deploy',
            title: 'Deploy',
            phases: [
              {
                slug: 'build',
                title: 'Build',
                tasks: [
                  cmd('deploy', 'a', 1.5),
                  agentTask('b', 800),
                  cmd('deploy', 'c', 0.6, { dependsOn: ['a'] }),
                  agentTask('g', 500),
                ],
              },
              {
                slug: 'release',
                title: 'Release',
                tasks: [
                  cmd('deploy', 'r', 0.9),
                  agentTask('s', 900, { dependsOn: ['r'] }),
                  cmd('deploy', 't', 0.5, { dependsOn: ['s'] }),
                ],
                gate: { commands: ['test -s runs/deploy-t.txt'], successCriteria: ['released'] },
              },
            ],
          },
        ],
      },
    ],
  });
}

/** The runs of one command task as its file tells them: start and end times in ms (wall clock). */
export interface CommandRuns {
  plan: string;
  task: string;
  starts: number[];
  ends: number[];
}

export function commandRuns(workspace: string): CommandRuns[] {
  const dir = path.join(workspace, 'runs');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => {
      const [plan, task] = f.slice(0, -4).split('-');
      const lines = fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean);
      const at = (kind: string) =>
        lines.filter((l) => l.startsWith(`${kind} `)).map((l) => Number(BigInt(l.split(' ')[1]) / 1_000_000n));
      return { plan, task, starts: at('start'), ends: at('end') };
    });
}
