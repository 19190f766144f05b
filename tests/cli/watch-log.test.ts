/**
 * The line-per-change log `watch` prints when stdout is not a terminal, and the headline of
 * `status`, from fixture trees: lines come in the order things happened (a level's closing line
 * after what closed inside it), and the headline says what the tree says. (On a real server:
 * watch.test.ts and operator-edges.test.ts.)
 */
import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { ZERO_USAGE } from '../../src/domain/types';
import { headline } from '../../src/cli/status';
import { ChangeLog } from '../../src/cli/watch';
import type { StatusNode } from '../../src/workflows/messages';

const node = (
  level: StatusNode['level'],
  slug: string,
  status: string,
  done: number,
  total: number,
  children?: StatusNode[],
): StatusNode => ({
  level,
  slug,
  title: slug,
  status,
  tasksTotal: total,
  tasksCompleted: done,
  usage: ZERO_USAGE,
  ...(children ? { children } : {}),
});

/** epic e → roadmap r → plan p → phases one, two (one done; two with `two` done tasks of 2). */
const tree = (status: string, two: number, twoStatus: string) =>
  node('epic', 'e', status, 1 + two, 3, [
    node('roadmap', 'r', status, 1 + two, 3, [
      node('plan', 'p', status, 1 + two, 3, [
        node('phase', 'one', 'completed', 1, 1),
        node('phase', 'two', twoStatus, two, 2),
      ]),
    ]),
  ]);

function changeLog() {
  let text = '';
  const out = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  const log = new ChangeLog(out);
  return {
    log,
    lines: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => l.replace(/^\d\d:\d\d:\d\d /, '')),
  };
}

describe('watch change log (not a terminal)', () => {
  it('prints a node as it starts before its children, and as it closes after them', () => {
    const { log, lines } = changeLog();
    log.show(tree('active', 1, 'active'), Date.parse('2026-11-21T12:00:00Z'), []);
    assert.deepEqual(
      lines().map((l) => l.split(' · ')[0]),
      [
        '▶ epic e active',
        '▶ roadmap e/r active',
        '▶ plan e/r/p active',
        '✔ phase e/r/p/one completed',
        '▶ phase e/r/p/two active',
      ],
    );

    // The last phase and every level above it closed between two polls: the phase first, the epic last.
    const before = lines().length;
    log.show(tree('completed', 2, 'completed'), Date.parse('2026-11-21T12:00:05Z'), []);
    assert.deepEqual(
      lines()
        .slice(before)
        .map((l) => l.split(' · ')[0]),
      ['✔ phase e/r/p/two completed', '✔ plan e/r/p completed', '✔ roadmap e/r completed', '✔ epic e completed'],
    );
  });

  it('prints only what changed', () => {
    const { log, lines } = changeLog();
    log.show(tree('active', 0, 'active'), 0, []);
    const before = lines().length;
    log.show(tree('active', 1, 'active'), 1000, []);
    assert.deepEqual(
      lines()
        .slice(before)
        .map((l) => l.split(' · ').slice(0, 2).join(' · ')),
      [
        '▶ epic e active · 2/3 tasks',
        '▶ roadmap e/r active · 2/3 tasks',
        '▶ plan e/r/p active · 2/3 tasks',
        '▶ phase e/r/p/two active · 1/2 tasks',
      ],
    );
  });
});

describe('status headline', () => {
  it('says what the tree says, and the workflow status when it differs', () => {
    // A phase whose task failed completes its workflow and hands "failed" to its plan.
    assert.equal(headline(node('phase', 'two', 'failed', 0, 1), 'COMPLETED'), 'phase failed (workflow completed)');
    assert.equal(headline(node('epic', 'e', 'completed', 1, 1), 'COMPLETED'), 'epic completed');
    assert.equal(headline(node('epic', 'e', 'failed', 0, 1), 'FAILED'), 'epic failed');
    assert.equal(headline(node('epic', 'e', 'waiting', 0, 1), 'RUNNING'), 'epic waiting');
    assert.equal(headline(node('plan', 'p', 'active', 0, 1), 'TERMINATED'), 'plan active (workflow terminated)');
  });
});
