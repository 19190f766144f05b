/** Worker options phaseflow sets beyond the SDK's defaults (src/worker.ts). */
import { strict as assert } from 'node:assert';
import { DEFAULT_MAX_CACHED_WORKFLOWS, maxCachedWorkflows } from '../src/worker';

describe('worker options', () => {
  it('caches 1,000 workflows unless PHASEFLOW_MAX_CACHED_WORKFLOWS says otherwise; a bad value is refused by name', () => {
    assert.equal(maxCachedWorkflows({}), DEFAULT_MAX_CACHED_WORKFLOWS);
    assert.equal(DEFAULT_MAX_CACHED_WORKFLOWS, 1000);
    assert.equal(maxCachedWorkflows({ PHASEFLOW_MAX_CACHED_WORKFLOWS: '' }), 1000);
    assert.equal(maxCachedWorkflows({ PHASEFLOW_MAX_CACHED_WORKFLOWS: '64' }), 64);
    for (const bad of ['1', 'lots', '-5', '2.5'])
      assert.throws(
        () => maxCachedWorkflows({ PHASEFLOW_MAX_CACHED_WORKFLOWS: bad }),
        new RegExp(
          `^Error: PHASEFLOW_MAX_CACHED_WORKFLOWS: expected a whole number of at least 2, got "${bad.replace('.', '\\.')}"$`,
        ),
      );
  });
});
