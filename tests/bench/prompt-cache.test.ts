/**
 * The bench's prompt-cache fake applies Anthropic's caching rules: a read for the longest
 * earlier-written prefix at a breakpoint (or up to 20 blocks before one), within the 5-minute
 * TTL; writes only from the model's minimum length; at most 4 breakpoints.
 */
import { strict as assert } from 'node:assert';
import { CACHE_TTL_MS, PromptCache, PromptCacheError } from '../../bench/fake-api/prompt-cache';

const CC = { cache_control: { type: 'ephemeral' } };
/** A text of about `tokens` tokens (4 characters each). */
const text = (tokens: number, c = 'a') => c.repeat(tokens * 4);

function request(messages: { role: string; content: any[] }[], system = [{ type: 'text', text: text(2000), ...CC }]) {
  return { model: 'claude-sonnet-5-5', system, messages };
}

describe('bench prompt-cache fake', () => {
  it('writes a prefix once, then reads it; the part after the breakpoint is input', () => {
    let now = 0;
    const cache = new PromptCache(() => now);
    const body = request([{ role: 'user', content: [{ type: 'text', text: text(10, 'q') }] }]);
    assert.deepEqual(cache.apply(body), {
      input_tokens: 10,
      cache_creation_input_tokens: 2000,
      cache_read_input_tokens: 0,
    });
    now += 1000;
    assert.deepEqual(cache.apply(body), {
      input_tokens: 10,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 2000,
    });
  });

  it('a moving last-message breakpoint reads the previous turn through the 20-block lookback', () => {
    const cache = new PromptCache(() => 0);
    const turn1 = [{ role: 'user', content: [{ type: 'text', text: text(10, 'q'), ...CC }] }];
    cache.apply(request(turn1));
    const turn2 = [
      { role: 'user', content: [{ type: 'text', text: text(10, 'q') }] },
      { role: 'assistant', content: [{ type: 'text', text: text(5, 'r') }] },
      { role: 'user', content: [{ type: 'text', text: text(7, 's'), ...CC }] },
    ];
    assert.deepEqual(cache.apply(request(turn2)), {
      input_tokens: 0,
      cache_creation_input_tokens: 12,
      cache_read_input_tokens: 2010,
    });
  });

  it('no read after the TTL; none below the minimum length; a changed prefix misses', () => {
    let now = 0;
    const cache = new PromptCache(() => now);
    const body = request([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
    cache.apply(body);
    now += CACHE_TTL_MS + 1;
    assert.equal(cache.apply(body).cache_read_input_tokens, 0, 'expired after 5 minutes unused');
    const short = request(
      [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
      [{ type: 'text', text: text(500), ...CC }],
    );
    assert.deepEqual(cache.apply(short), {
      input_tokens: 501,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    });
    assert.equal(cache.apply(short).cache_read_input_tokens, 0, 'shorter than 1024 tokens: never cached');
    const other = request(
      [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
      [{ type: 'text', text: text(2000, 'b'), ...CC }],
    );
    assert.equal(cache.apply(other).cache_read_input_tokens, 0);
  });

  it('refuses a fifth breakpoint as the API does', () => {
    const cache = new PromptCache(() => 0);
    const content = Array.from({ length: 4 }, () => ({ type: 'text', text: 'x', ...CC }));
    assert.throws(() => cache.apply(request([{ role: 'user', content }])), PromptCacheError);
  });
});
