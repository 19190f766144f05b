/**
 * The spec side of the claude-code runtime, as a user meets it through the compiled command
 * (`npm test` builds first): `agentRuntime` is a setting at every level, and a task that runs in
 * Claude Code and names an `agent` needs `.claude/agents/<name>.md` in the workspace, else
 * `validate` and `start` refuse the spec with the field path and line (exit 2), and start nothing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { claudeCodeAgentProblems } from '../../src/domain/agent-runtime';
import { validateEpic } from '../../src/domain/validate';

const BIN = path.resolve(__dirname, '../../bin/phaseflow.js');

function phaseflow(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const SPEC = `slug: mixed
title: Mixed runtimes
workspace: ws
agentMode: claude
settings:
  agentRuntime: claude-code
roadmaps:
  - slug: r
    title: R
    plans:
      - slug: p
        title: P
        phases:
          - slug: one
            title: One
            tasks:
              - { id: "1.1", description: Docs, agent: doc-writer }
              - { id: "1.2", description: Loop, agent: reviewer, settings: { agentRuntime: tool-loop } }
`;

describe('claude-code runtime: the spec', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pf-cc-spec-'));
    mkdirSync(path.join(dir, 'ws'));
    writeFileSync(path.join(dir, 'epic.yaml'), SPEC);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('validate refuses a Claude Code agent with no .claude/agents/<name>.md, naming the field path and line', () => {
    const r = phaseflow(['validate', path.join(dir, 'epic.yaml')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /roadmaps\[0\]\.plans\[0\]\.phases\[0\]\.tasks\[0\]\.agent \(line 17\): no Claude Code agent "doc-writer": \.claude\/agents\/doc-writer\.md does not exist in the workspace/,
    );
    // 1.2 runs in the tool loop: its agent is only a name for PROGRESS.json.
    assert.doesNotMatch(r.stderr, /reviewer/);
  });

  it('validate accepts it once the agent file is there', () => {
    mkdirSync(path.join(dir, 'ws', '.claude', 'agents'), { recursive: true });
    writeFileSync(
      path.join(dir, 'ws', '.claude', 'agents', 'doc-writer.md'),
      '---\nname: doc-writer\n---\nWrite docs.\n',
    );
    const r = phaseflow(['validate', path.join(dir, 'epic.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /valid epic "mixed"/);
  });

  it('agentRuntime takes only tool-loop or claude-code', () => {
    writeFileSync(path.join(dir, 'epic.yaml'), SPEC.replace('agentRuntime: claude-code', 'agentRuntime: claude'));
    const r = phaseflow(['validate', path.join(dir, 'epic.yaml')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /settings\.agentRuntime \(line 6\): .*"tool-loop"\|"claude-code"/);
  });

  it('the rule: the effective runtime per task (task over phase over plan over roadmap over epic), names that are file names', () => {
    const spec = validateEpic(
      {
        slug: 'e',
        title: 'E',
        workspace: '/ws',
        roadmaps: [
          {
            slug: 'r',
            title: 'R',
            plans: [
              {
                slug: 'p',
                title: 'P',
                settings: { agentRuntime: 'claude-code' },
                phases: [
                  {
                    slug: 'a',
                    title: 'A',
                    tasks: [
                      { id: '1', description: 'x', agent: 'here' },
                      { id: '2', description: 'x', agent: '../escape' },
                      { id: '3', description: 'x', agent: 'gone' },
                      { id: '4', description: 'x', agent: 'gone', settings: { agentRuntime: 'tool-loop' } },
                      { id: '5', description: 'x', kind: 'command', command: 'true' },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      },
      'inline',
    );
    const problems = claudeCodeAgentProblems(spec, (rel) => rel === '.claude/agents/here.md');
    assert.deepEqual(
      problems.map((p) => p.path),
      ['roadmaps[0].plans[0].phases[0].tasks[1].agent', 'roadmaps[0].plans[0].phases[0].tasks[2].agent'],
    );
    assert.match(problems[0].message, /expected the name of a Claude Code agent/);
  });
});
