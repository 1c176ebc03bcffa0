/**
 * The attention benchmark at tiny sizes (the real one is run by `flowformer bench attention`):
 * rows, timing, peak memory, skipping by estimated memory, and the markdown table.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { BENCH_VARIANTS, benchAttention, estimatePeakBytes, formatAttentionBenchTable } from '../src/bench/attention.ts';
import { initBackend, shutdownBackend } from './helpers/backend.ts';

afterAll(async () => {
  await shutdownBackend();
});

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`attention benchmark on ${backend}`, () => {
    it('times forward+backward and measures peak memory of every variant; estimates bound the peaks', async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      const seen: string[] = [];
      const rows = await benchAttention({ lengths: [32, 80], variants: BENCH_VARIANTS, B: 1, H: 2, D: 8, runs: 2, warmup: 1, chunkSize: 16, onRow: (r) => seen.push(r.variant) });
      expect(rows).toHaveLength(BENCH_VARIANTS.length * 2);
      expect(seen).toEqual(rows.map((r) => r.variant));
      for (const r of rows) {
        expect(r.skipped, `${r.variant} L=${r.L}`).toBeUndefined();
        expect(r.backend).toBe(backend);
        expect([r.B, r.H, r.D]).toEqual([1, 2, 8]);
        expect(r.timesMs).toHaveLength(2);
        expect(r.fwdBwdMs).toBeGreaterThan(0);
        // at least the inputs q, k, v and their gradients
        expect(r.peakBytes!).toBeGreaterThanOrEqual(6 * r.B * r.H * r.L * r.D * 4);
        expect(r.peakBytes!, `${r.variant} L=${r.L}: measured peak above the estimate`).toBeLessThanOrEqual(r.estimatedPeakBytes);
      }
      const byKey = (v: string, L: number) => rows.find((r) => r.variant === v && r.L === L)!;
      expect(byKey('flow-causal-chunked', 80).impl).toBe('chunked');
      expect(byKey('flow-causal-chunked', 80).chunkSize).toBe(16);
      expect(byKey('softmax', 32)).toMatchObject({ attention: 'softmax', causal: false, impl: 'dense' });
      expect(byKey('flow', 32)).toMatchObject({ attention: 'flow', causal: false, impl: 'normal' });
      expect(byKey('flow-causal-parallel', 32)).toMatchObject({ attention: 'flow', causal: true, impl: 'parallel' });
      // the quadratic and the [L,D,D] forms grow faster in memory than the linear ones
      const growth = (v: string) => byKey(v, 80).peakBytes! / byKey(v, 32).peakBytes!;
      expect(growth('softmax')).toBeGreaterThan(growth('flow'));
      // flow memory is linear in L: 2.5x the length, at most ~2.5x the bytes
      for (const v of ['flow', 'flow-causal-chunked']) expect(growth(v), v).toBeLessThan(2.5 * 1.05);
      const table = formatAttentionBenchTable(rows);
      expect(table.split('\n')[0]).toMatch(/^\| attention \| causal \| impl \| L \|/);
      expect(table).toContain('| flow | yes | chunked (C=16) | 80 | 1 | 2 | 8 |');
      expect(tf.memory().numTensors, 'tensor leak').toBe(before);
    });
  });
}

describe('attention benchmark skipping', () => {
  it('skips a configuration whose estimated peak exceeds the limit, and says why', async () => {
    await initBackend('cpu');
    const limit = estimatePeakBytes('softmax', 64, 1, 2, 8) - 1;
    const rows = await benchAttention({ lengths: [16, 64], variants: ['softmax', 'flow'], H: 2, D: 8, runs: 1, warmup: 0, memoryLimitBytes: limit });
    const softmax64 = rows.find((r) => r.variant === 'softmax' && r.L === 64)!;
    expect(softmax64.skipped).toMatch(/^estimated peak .* > limit /);
    expect(softmax64.fwdBwdMs).toBeNull();
    expect(rows.filter((r) => r.skipped)).toHaveLength(1);
    expect(formatAttentionBenchTable(rows)).toContain('skipped: estimated peak');
    await expect(benchAttention({ lengths: [0] })).rejects.toThrow(/every length must be a positive integer/);
    await expect(benchAttention({ variants: ['nope' as never] })).rejects.toThrow(/unknown variant 'nope'/);
  });
});
