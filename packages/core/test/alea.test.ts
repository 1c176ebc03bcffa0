/**
 * The alea jump-ahead and the four-piece dropout mask give exactly what seedrandom's alea gives
 * draw after draw: the same states, the same mask bits, at every piece boundary.
 */
import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { aleaJump, aleaState, fillDropoutMultiplier, type AleaState } from '../src/nn/alea.ts';

/** seedrandom's own state after k draws. */
function stepped(seed: string, k: number): AleaState {
  const g = seedrandom.alea(seed, { state: true }) as unknown as (() => number) & { state(): AleaState };
  for (let i = 0; i < k; i++) g();
  const { s0, s1, s2, c } = g.state();
  return { s0, s1, s2, c };
}

describe('alea', () => {
  it('aleaJump(state, k) is the state after k draws', () => {
    for (const seed of ['0', '12345', '-987654321', 'flowformer']) {
      const st = aleaState(seed);
      expect(st).toEqual(stepped(seed, 0));
      for (const k of [0, 1, 2, 3, 4, 7, 1000, 65537, 300001]) expect(aleaJump(st, k), `seed ${seed}, k ${k}`).toEqual(stepped(seed, k));
    }
    // composes: two jumps are one
    const st = aleaState('7');
    expect(aleaJump(aleaJump(st, 1234), 5678)).toEqual(aleaJump(st, 1234 + 5678));
    expect(() => aleaJump(st, -1)).toThrow(/non-negative integer/);
  });

  it("fillDropoutMultiplier marks what tfjs's dropout keeps, draw after draw, around every piece boundary", () => {
    for (const [rate, seed] of [[0.1, '42'], [0.5, '7'], [1 / 3, '123456789']] as const) {
      const keep = Math.fround(1 - rate);
      const scale = Math.fround(1 / keep);
      // one chain below 4096 draws, four pieces from there on (sizes that 4 divides and not)
      for (const n of [1, 5, 4095, 4096, 4097, 4098, 4099, 10007, 40000]) {
        const next = seedrandom.alea(seed);
        const expected = new Float32Array(n);
        for (let i = 0; i < n; i++) if (Math.fround(Math.fround(next()) + keep) >= 1) expected[i] = scale;
        const got = new Float32Array(n);
        fillDropoutMultiplier(got, aleaState(seed), keep, scale);
        expect(Buffer.from(got.buffer).equals(Buffer.from(expected.buffer)), `rate ${rate}, n ${n}`).toBe(true);
      }
    }
  });
});
