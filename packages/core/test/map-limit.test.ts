import { describe, expect, it } from 'vitest';
import { mapLimit } from '../src/io/index.ts';

describe('mapLimit', () => {
  it('keeps input order, passes indices, and never has more than `limit` calls in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit([50, 10, 30, 0, 20], 2, async (ms, i) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, ms));
      inFlight--;
      return `${i}:${ms}`;
    });
    expect(out).toEqual(['0:50', '1:10', '2:30', '3:0', '4:20']);
    expect(most).toBe(2);
  });

  it('a limit below 1 runs one call at a time rather than none; no items, no calls', async () => {
    expect(await mapLimit([1, 2, 3], 0, async (x) => 2 * x)).toEqual([2, 4, 6]);
    expect(await mapLimit([], 4, async () => { throw new Error('called'); })).toEqual([]);
  });
});
