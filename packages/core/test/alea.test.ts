/**
 * The dropout keep mask from alea.wat is what seedrandom's alea and tfjs's float32 keep test give
 * draw after draw, and the module it runs is the one its source compiles to.
 */
import fs from 'node:fs';
import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { aleaState, fillKeepMask, keepThreshold } from '../src/nn/alea.ts';
import { generatedModule, wasmSources } from '../../../scripts/build-wasm.ts';

/** tfjs's dropout test on one draw u: floor(u + keep) in float32, u rounded to float32. */
const tfjsKeeps = (u: number, keep: number) => Math.fround(Math.fround(u) + keep) >= 1;

describe('alea', () => {
  it("fillKeepMask marks what tfjs's dropout keeps, draw after draw, across the module's 4 Mi-draw pieces", () => {
    for (const [rate, seed, n] of [[0.1, '42', 1], [0.1, '42', 2], [0.5, '7', 3], [1 / 3, '123456789', 4], [0.1, '-5', 10007], [0.25, 'flowformer', (1 << 22) * 2 + 5]] as const) {
      const keep = Math.fround(1 - rate);
      const next = seedrandom.alea(seed);
      const expected = new Uint8Array(n);
      for (let i = 0; i < n; i++) expected[i] = tfjsKeeps(next(), keep) ? 1 : 0;
      const got = new Uint8Array(n);
      fillKeepMask(got, aleaState(seed), keep);
      expect(Buffer.from(got).equals(Buffer.from(expected)), `rate ${rate}, seed ${seed}, n ${n}`).toBe(true);
    }
  });

  it('keepThreshold is where the float32 test turns: every x below it drops, every x from it keeps', () => {
    for (const rate of [0.05, 0.1, 0.2, 1 / 3, 0.5, 0.9, 0.999]) {
      const keep = Math.fround(1 - rate);
      const t = keepThreshold(keep);
      expect(t).toBeGreaterThan(0);
      for (let d = -300; d <= 300; d++) {
        const x = t + d;
        if (x < 0 || x > 2 ** 32 - 1) continue;
        expect(tfjsKeeps(x * 2 ** -32, keep), `rate ${rate}, x = threshold ${d >= 0 ? '+' : ''}${d}`).toBe(d >= 0);
      }
    }
  });

  it('each generated WebAssembly module is what its .wat source compiles to (scripts/build-wasm.ts)', async () => {
    const sources = wasmSources();
    expect(sources.length).toBeGreaterThan(0);
    for (const { wat, generated } of sources) expect(fs.readFileSync(generated, 'utf8'), `${generated}: run npx tsx scripts/build-wasm.ts`).toBe(await generatedModule(wat));
  });
});
