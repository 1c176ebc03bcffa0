/**
 * Padding ("a padded position is neither a source nor a sink": outputs at real positions equal
 * those of the sequence with its padded positions removed) for the normal and causal forms,
 * the layer and the recurrent step; and the option variants (LRA's relu map and heads-axis
 * competition, the ablations, no clamp) against the float64 reference. wasm and cpu.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { EVAL } from '../src/nn/module.ts';
import { Rng } from '../src/rng.ts';
import { flowAttention } from '../src/attention/flow.ts';
import { disposeFlowCausalState, flowCausalInit, flowCausalStep } from '../src/attention/flow-causal.ts';
import type { FlowAttentionOptions } from '../src/attention/flow-options.ts';
import { FlowAttention } from '../src/attention/layer.ts';
import { initBackend, shutdownBackend } from './helpers/backend.ts';
import { rand, refFlow, relErr, type RefOptions } from './flow-reference.ts';

afterAll(async () => {
  await shutdownBackend();
});

// Two sequences of length 9: the first with padding inside and at both ends, the second with trailing padding.
const MASK = [
  [0, 1, 1, 0, 1, 1, 1, 0, 0],
  [1, 1, 1, 1, 1, 1, 0, 0, 0],
];
const [B, H, L, D, Dv] = [2, 2, 9, 4, 3];

/** Positions of the real tokens of row b. */
const realIdx = (row: number[]) => row.flatMap((m, i) => (m ? [i] : []));

/** Row b of `x` `[B,H,n,d]` restricted to `idx` along axis 2: `[1,H,idx.length,d]`. */
const gatherRow = (x: tf.Tensor, b: number, idx: number[]) => tf.gather(tf.slice(x, [b, 0, 0, 0], [1, -1, -1, -1]), idx, 2);

function checkPadding(opts: FlowAttentionOptions): void {
  tf.tidy(() => {
    const q = tf.tensor(rand(B * H * L * D, 61, 2), [B, H, L, D]);
    const k = tf.tensor(rand(B * H * L * D, 62, 2), [B, H, L, D]);
    const v = tf.tensor(rand(B * H * L * Dv, 63, 2), [B, H, L, Dv]);
    const mask = tf.tensor(MASK, [B, L], 'int32');
    const out = flowAttention(q, k, v, { ...opts, keyPaddingMask: mask });
    const outArr = out.arraySync() as number[][][][];
    for (let b = 0; b < B; b++) {
      const idx = realIdx(MASK[b]!);
      const alone = flowAttention(gatherRow(q, b, idx), gatherRow(k, b, idx), gatherRow(v, b, idx), opts).arraySync() as number[][][][];
      for (let h = 0; h < H; h++) {
        idx.forEach((l, j) => {
          expect(relErr(outArr[b]![h]![l]!, alone[0]![h]![j]!), `row ${b} head ${h} position ${l}`).toBeLessThan(2e-6);
        });
        for (let l = 0; l < L; l++) if (!MASK[b]![l]) expect(outArr[b]![h]![l]!.every((x) => x === 0), `padded output ${l} is zero`).toBe(true);
      }
    }
    // padded positions get no gradient, and nothing is NaN
    const grads = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(flowAttention(a, c, d, { ...opts, keyPaddingMask: mask })))([q, k, v]);
    for (const g of grads) {
      const arr = g.arraySync() as number[][][][];
      for (let b = 0; b < B; b++)
        for (let l = 0; l < L; l++)
          if (!MASK[b]![l]) for (let h = 0; h < H; h++) expect(arr[b]![h]![l]!.every((x) => x === 0)).toBe(true);
      expect(g.dataSync().every(Number.isFinite)).toBe(true);
    }
  });
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`Flow-Attention padding and variants on ${backend}`, () => {
    it('normal form: padded positions are neither sources nor sinks', async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      checkPadding({});
      checkPadding({ competitionAxis: 'heads', featureMap: 'relu', clamp: null });
      expect(tf.memory().numTensors, 'tensor leak').toBe(before);
    });

    it('causal form (parallel and chunked): padded positions are neither sources nor sinks', async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      checkPadding({ causal: true, causalImpl: 'parallel' });
      checkPadding({ causal: true, causalImpl: 'chunked', chunkSize: 4 });
      expect(tf.memory().numTensors, 'tensor leak').toBe(before);
    });

    it('cross-attention (L != S): padded keys are left out', async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const Lq = 5;
        const q = tf.tensor(rand(B * H * Lq * D, 71, 2), [B, H, Lq, D]);
        const k = tf.tensor(rand(B * H * L * D, 72, 2), [B, H, L, D]);
        const v = tf.tensor(rand(B * H * L * Dv, 73, 2), [B, H, L, Dv]);
        const out = flowAttention(q, k, v, { keyPaddingMask: tf.tensor(MASK, [B, L]) }).arraySync() as number[][][][];
        for (let b = 0; b < B; b++) {
          const idx = realIdx(MASK[b]!);
          const qb = tf.slice(q, [b, 0, 0, 0], [1, -1, -1, -1]);
          const alone = flowAttention(qb, gatherRow(k, b, idx), gatherRow(v, b, idx)).dataSync();
          expect(relErr(out[b]!.flat(2), alone)).toBeLessThan(2e-6);
        }
      });
      expect(tf.memory().numTensors, 'tensor leak').toBe(before);
    });

    it('layer: a key padding mask in self-attention equals removing the padded tokens', async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      for (const causal of [false, true]) {
        const layer = new FlowAttention(new Rng(7), { dModel: 8, nHeads: 2, dInput: 5, causal });
        tf.tidy(() => {
          const x = tf.tensor(rand(B * L * 5, 81, 2), [B, L, 5]);
          const y = layer.forward(x, EVAL, { keyPaddingMask: tf.tensor(MASK, [B, L]) }).arraySync() as number[][][];
          for (let b = 0; b < B; b++) {
            const idx = realIdx(MASK[b]!);
            const alone = layer.forward(tf.gather(tf.slice(x, [b, 0, 0], [1, -1, -1]), idx, 1), EVAL).arraySync() as number[][][];
            idx.forEach((l, j) => expect(relErr(y[b]![l]!, alone[0]![j]!), `causal ${causal} row ${b} position ${l}`).toBeLessThan(2e-6));
            // the layer contract (AttentionCallOptions): outputs at padded queries are zero, out.bias included
            MASK[b]!.forEach((m, l) => m === 0 && expect(y[b]![l]!.every((u) => u === 0), `causal ${causal} row ${b} padded ${l}`).toBe(true));
          }
        });
        layer.dispose();
      }
      expect(tf.memory().numTensors, 'tensor leak').toBe(before);
    });

    it('recurrent step with padded steps == causal form with the mask', async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const q = tf.tensor(rand(B * H * L * D, 91, 2), [B, H, L, D]);
        const k = tf.tensor(rand(B * H * L * D, 92, 2), [B, H, L, D]);
        const v = tf.tensor(rand(B * H * L * Dv, 93, 2), [B, H, L, Dv]);
        const mask = tf.tensor(MASK, [B, L]);
        const full = flowAttention(q, k, v, { causal: true, keyPaddingMask: mask });
        let state = flowCausalInit(B, H, D, Dv);
        const outs: tf.Tensor[] = [];
        for (let t = 0; t < L; t++) {
          const at = (x: tf.Tensor) => tf.squeeze(tf.slice(x, [0, 0, t, 0], [-1, -1, 1, -1]), [2]);
          const r = flowCausalStep(at(q), at(k), at(v), state, {}, tf.slice(mask, [0, t], [-1, 1]).reshape([B]));
          disposeFlowCausalState(state);
          state = r.state;
          outs.push(r.output);
        }
        expect(relErr(tf.stack(outs, 2).dataSync(), full.dataSync())).toBeLessThan(2e-6);
        disposeFlowCausalState(state);
      });
      expect(tf.memory().numTensors, 'tensor leak').toBe(before);
    });

    it('options match the float64 reference: relu map, heads-axis competition, ablations, no clamp, L != S, Dv != D', async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      const variants: RefOptions[] = [
        {},
        { featureMap: 'relu', clamp: null, competitionAxis: 'heads' }, // the LRA code
        { competition: false },
        { allocation: false },
        { clamp: null, eps: 1e-3 },
        { causal: true, competition: false, allocation: false },
        { causal: true, featureMap: 'relu', clamp: 5 },
      ];
      for (const o of variants) {
        const dims = { B: 2, H: 3, L: o.causal ? 7 : 6, S: 7, D: 4, Dv: 5 };
        const qa = rand(dims.B * dims.H * dims.L * dims.D, 101, 3);
        const ka = rand(dims.B * dims.H * dims.S * dims.D, 102, 3);
        const va = rand(dims.B * dims.H * dims.S * dims.Dv, 103, 3);
        const got = tf.tidy(() =>
          flowAttention(
            tf.tensor(qa, [dims.B, dims.H, dims.L, dims.D]),
            tf.tensor(ka, [dims.B, dims.H, dims.S, dims.D]),
            tf.tensor(va, [dims.B, dims.H, dims.S, dims.Dv]),
            { ...o, chunkSize: 3 },
          ).dataSync(),
        );
        expect(relErr(got, refFlow(qa, ka, va, dims, o)), JSON.stringify(o)).toBeLessThan(1e-5);
      }
      expect(tf.memory().numTensors, 'tensor leak').toBe(before);
    });
  });
}

describe('Flow-Attention option errors', () => {
  it('names the option and what to do', async () => {
    await initBackend('cpu');
    const q = tf.zeros([1, 2, 4, 3]);
    const k = tf.zeros([1, 2, 5, 3]);
    expect(() => flowAttention(q, k, k, { causal: true })).toThrow(/causal form needs L == S/);
    expect(() => flowAttention(q, q, q, { causal: true, competitionAxis: 'heads' })).toThrow(/competitionAxis 'heads'/);
    expect(() => flowAttention(q, k, k, { keyPaddingMask: tf.ones([1, 4]) })).toThrow(/keyPaddingMask must have shape \[B=1, 5\]/);
    expect(() => flowAttention(q, k, tf.zeros([1, 2, 4, 3]))).toThrow(/same length S/);
    expect(() => flowAttention(q, q, q, { chunkSize: 0 })).toThrow(/chunkSize/);
    tf.dispose([q, k]);
  });
});
