/** Agent Output Protocol parsing and summary caps. */
import assert from 'node:assert/strict';
import { capSummary, parseAop } from '../../src/activities/agent/aop';
import { SUMMARY_CAPS } from '../../src/domain/spec';

describe('AOP parsing', () => {
  it('reads the three markers', () => {
    const r = parseAop(
      'Work done.\n[AOP:SUMMARY] Added greet()\n[AOP:DETAILS_FILE] .claude/cache/agent-outputs/p--1.1-1.json\n[AOP:STATUS] success\n',
      'code',
    );
    assert.equal(r.status, 'success');
    assert.equal(r.summary, 'Added greet()');
    assert.equal(r.agentDetailsFile, '.claude/cache/agent-outputs/p--1.1-1.json');
    assert.deepEqual(r.markers, { summary: true, detailsFile: true, status: true });
  });

  it('keeps a multi-line summary, and tolerates markdown, case and the START/END markers', () => {
    const text = [
      '[AOP:START] 2026-11-21T10:00:00Z',
      '**[AOP:SUMMARY]**',
      '- Key finding 1',
      '- Key finding 2',
      'Total: 2 items processed, 0 issues found',
      '',
      '`[aop:details_file] x.json`',
      '[AOP:STATUS] **Partial** (tests missing)',
      '[AOP:END] 2026-11-21T10:05:00Z',
    ].join('\n');
    const r = parseAop(text, 'analysis');
    assert.equal(r.status, 'partial');
    assert.equal(r.summary, '- Key finding 1\n- Key finding 2\nTotal: 2 items processed, 0 issues found');
    assert.equal(r.agentDetailsFile, 'x.json');
  });

  it('the last occurrence of a marker wins (the agent may quote the format earlier)', () => {
    const r = parseAop(
      'Format: [AOP:SUMMARY] ... [AOP:STATUS] success|failure|partial\nLater:\n[AOP:SUMMARY] real one\n[AOP:STATUS] failure',
      'code',
    );
    assert.equal(r.summary, 'real one');
    assert.equal(r.status, 'failure');
  });

  it('missing markers: the last 200 characters, status partial', () => {
    const text = `${'a'.repeat(300)}${'b'.repeat(200)}`;
    const r = parseAop(text, 'analysis');
    assert.equal(r.summary, 'b'.repeat(200));
    assert.equal(r.status, 'partial');
    assert.deepEqual(r.markers, { summary: false, detailsFile: false, status: false });
  });

  it('an unknown status word is partial, never success', () => {
    assert.equal(parseAop('[AOP:SUMMARY] x\n[AOP:STATUS] done!', 'code').status, 'partial');
    assert.equal(parseAop('[AOP:SUMMARY] x', 'code').status, 'partial');
  });

  it('caps summaries by output type with an ellipsis', () => {
    for (const [type, cap] of Object.entries(SUMMARY_CAPS) as [keyof typeof SUMMARY_CAPS, number][]) {
      const capped = capSummary('z'.repeat(cap + 50), type);
      assert.equal([...capped].length, cap);
      assert.ok(capped.endsWith('…'));
      assert.equal(capSummary('z'.repeat(cap), type), 'z'.repeat(cap));
    }
    // Code points, not UTF-16 units: emoji are not split.
    const emoji = capSummary('😀'.repeat(400), 'code');
    assert.equal([...emoji].length, 300);
  });
});
