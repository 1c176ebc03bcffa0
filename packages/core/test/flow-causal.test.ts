/**
 * The causal form: four implementations (parallel, chunked, fused, recurrent step) of one
 * function, its gradients against finite differences, the causal property, and the prefix
 * sum whose gradient it relies on. Every check runs on the wasm and the cpu backends.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { EVAL } from '../src/nn/module.ts';
import { Rng } from '../src/rng.ts';
import { flowAttention } from '../src/attention/flow.ts';
import { disposeFlowCausalState, flowCausalInit, flowCausalStep } from '../src/attention/flow-causal.ts';
import { resolveCausalImpl, type FlowAttentionOptions } from '../src/attention/flow-options.ts';
import { prefixSum } from '../src/attention/prefix-sum.ts';
import { FlowAttention } from '../src/attention/layer.ts';
import { initBackend, shutdownBackend } from './helpers/backend.ts';
import { rand, refFlow, relErr, type RefOptions } from './flow-reference.ts';

afterAll(async () => {
  await shutdownBackend();
});

const [B, H, L, D, Dv] = [2, 2, 13, 4, 3];
const qkv = (seed: number, scale = 2) =>
  [tf.tensor(rand(B * H * L * D, seed, scale), [B, H, L, D]), tf.tensor(rand(B * H * L * D, seed + 1, scale), [B, H, L, D]), tf.tensor(rand(B * H * L * Dv, seed + 2, scale), [B, H, L, Dv])] as const;

/** Output and gradients of sum(out * w) w.r.t. q, k, v as plain arrays. */
function outAndGrads(opts: FlowAttentionOptions, seed = 1): Float32Array[] {
  return tf.tidy(() => {
    const [q, k, v] = qkv(seed);
    const w = tf.tensor(rand(B * H * L * Dv, seed + 9), [B, H, L, Dv]);
    const out = flowAttention(q, k, v, opts);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(flowAttention(a, b, c, opts), w)))([q, k, v]);
    return [out, ...g].map((t) => t.dataSync() as Float32Array);
  });
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`causal Flow-Attention on ${backend}`, () => {
    it('chunked == fused == parallel, forward and gradients, for chunk sizes that do and do not divide L', async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      for (const extra of [{}, { clamp: null, competition: false }, { allocation: false, featureMap: 'relu' as const }]) {
        const ref = outAndGrads({ causal: true, causalImpl: 'parallel', ...extra });
        // every chunk size on the default options; one that leaves a remainder on the others
        for (const chunkSize of Object.keys(extra).length ? [5] : [1, 3, 4, 5, 13, 64]) {
          const got = outAndGrads({ causal: true, causalImpl: 'chunked', chunkSize, ...extra });
          ['output', 'grad q', 'grad k', 'grad v'].forEach((what, i) => {
            expect(relErr(got[i]!, ref[i]!), `${what}, chunk ${chunkSize}, ${JSON.stringify(extra)}`).toBeLessThan(2e-6);
          });
        }
        // the fused single-chunk form, explicitly and as 'auto' picks it (L = 13 <= 128)
        for (const causalImpl of ['fused', 'auto'] as const) {
          const got = outAndGrads({ causal: true, causalImpl, ...extra });
          ['output', 'grad q', 'grad k', 'grad v'].forEach((what, i) => {
            expect(relErr(got[i]!, ref[i]!), `${what}, ${causalImpl}, ${JSON.stringify(extra)}`).toBeLessThan(2e-6);
          });
        }
      }
      expect(tf.memory().numTensors, 'tensor leak').toBe(before);
    });

    it("'auto' picks fused for one chunk without padding, chunked otherwise; fused refuses a mask", async () => {
      await initBackend(backend);
      expect(resolveCausalImpl('auto', 64, 128, false)).toBe('fused');
      expect(resolveCausalImpl('auto', 128, 128, false)).toBe('fused');
      expect(resolveCausalImpl('auto', 129, 128, false)).toBe('chunked');
      expect(resolveCausalImpl('auto', 64, 128, true)).toBe('chunked');
      for (const impl of ['fused', 'chunked', 'parallel'] as const) expect(resolveCausalImpl(impl, 4096, 128, true)).toBe(impl);
      const before = tf.memory().numTensors;
      const [q, k, v] = qkv(21);
      const mask = tf.tensor2d(Array.from({ length: B * L }, (_, i) => (i % L < L - 3 ? 1 : 0)), [B, L]);
      expect(() => flowAttention(q, k, v, { causal: true, causalImpl: 'fused', keyPaddingMask: mask })).toThrow(/'fused' takes no padding mask/);
      // with a mask, 'auto' is the chunked form (bit for bit: the same code)
      const auto = flowAttention(q, k, v, { causal: true, keyPaddingMask: mask });
      const chunked = flowAttention(q, k, v, { causal: true, causalImpl: 'chunked', keyPaddingMask: mask });
      expect(Array.from(auto.dataSync())).toEqual(Array.from(chunked.dataSync()));
      // beyond one chunk too
      const auto3 = flowAttention(q, k, v, { causal: true, chunkSize: 5 });
      const chunked3 = flowAttention(q, k, v, { causal: true, causalImpl: 'chunked', chunkSize: 5 });
      expect(Array.from(auto3.dataSync())).toEqual(Array.from(chunked3.dataSync()));
      tf.dispose([q, k, v, mask, auto, chunked, auto3, chunked3]);
      expect(tf.memory().numTensors, 'tensor leak').toBe(before);
    });

    it('recurrent step over the sequence == parallel form', async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      for (const extra of [{}, { clamp: 10 }, { competition: false, allocation: false }]) {
        const opts: FlowAttentionOptions = { causal: true, causalImpl: 'parallel', ...extra };
        const [q, k, v] = qkv(5);
        const full = flowAttention(q, k, v, opts); // [B,H,L,Dv]
        let state = flowCausalInit(B, H, D, Dv);
        const outs: tf.Tensor[] = [];
        for (let t = 0; t < L; t++) {
          const at = (x: tf.Tensor) => tf.tidy(() => tf.squeeze(tf.slice(x, [0, 0, t, 0], [-1, -1, 1, -1]), [2]));
          const [qt, kt, vt] = [at(q), at(k), at(v)];
          const r = flowCausalStep(qt, kt, vt, state, opts);
          disposeFlowCausalState(state);
          state = r.state;
          outs.push(r.output);
          tf.dispose([qt, kt, vt]);
        }
        const stepped = tf.stack(outs, 2);
        expect(relErr(stepped.dataSync(), full.dataSync()), JSON.stringify(extra)).toBeLessThan(2e-6);
        disposeFlowCausalState(state);
        tf.dispose([q, k, v, full, stepped, ...outs]);
      }
      expect(tf.memory().numTensors, 'tensor leak').toBe(before);
    });

    it('gradients equal finite differences of the float64 reference (every implementation)', async () => {
      await initBackend(backend);
      const dims = { B: 1, H: 2, L: 6, S: 6, D: 3, Dv: 2 };
      const n = dims.B * dims.H * dims.L * dims.D;
      const nv = dims.B * dims.H * dims.L * dims.Dv;
      const q0 = Float64Array.from(rand(n, 11, 2));
      const k0 = Float64Array.from(rand(n, 12, 2));
      const v0 = Float64Array.from(rand(nv, 13, 2));
      const w = Float64Array.from(rand(nv, 14));
      const ropts: RefOptions = { causal: true, clamp: 1 };
      const loss = (q: Float64Array, k: Float64Array, v: Float64Array) => refFlow(q, k, v, dims, ropts).reduce((s, o, i) => s + o * w[i]!, 0);
      // central differences in float64: truncation error ~h^2, far below the float32 tolerance
      const h = 1e-5;
      const fd = [q0, k0, v0].map((x, which) =>
        Float64Array.from(x, (_, i) => {
          const plus = [q0, k0, v0].map((y) => Float64Array.from(y));
          const minus = [q0, k0, v0].map((y) => Float64Array.from(y));
          plus[which]![i]! += h;
          minus[which]![i]! -= h;
          return (loss(plus[0]!, plus[1]!, plus[2]!) - loss(minus[0]!, minus[1]!, minus[2]!)) / (2 * h);
        }),
      );
      const refOut = refFlow(q0, k0, v0, dims, ropts);
      for (const causalImpl of ['parallel', 'chunked', 'fused'] as const) {
        const got = tf.tidy(() => {
          const q = tf.tensor(Float32Array.from(q0), [1, 2, 6, 3]);
          const k = tf.tensor(Float32Array.from(k0), [1, 2, 6, 3]);
          const v = tf.tensor(Float32Array.from(v0), [1, 2, 6, 2]);
          const wt = tf.tensor(Float32Array.from(w), [1, 2, 6, 2]);
          const opts = { causal: true, causalImpl, chunkSize: 4 };
          const out = flowAttention(q, k, v, opts);
          const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(flowAttention(a, b, c, opts), wt)))([q, k, v]);
          return [out, ...g].map((t) => t.dataSync() as Float32Array);
        });
        expect(relErr(got[0]!, refOut), `${causalImpl} output vs reference`).toBeLessThan(1e-5);
        ['q', 'k', 'v'].forEach((name, i) => expect(relErr(got[i + 1]!, fd[i]!), `${causalImpl} grad ${name} vs finite differences`).toBeLessThan(1e-4));
      }
    });

    it('causal property: changing token t leaves every output before t unchanged', async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      const t = 7;
      for (const causalImpl of ['parallel', 'chunked', 'fused'] as const) {
        tf.tidy(() => {
          const [q, k, v] = qkv(21);
          const opts = { causal: true, causalImpl, chunkSize: 4 };
          const out1 = flowAttention(q, k, v, opts).arraySync() as number[][][][];
          // new values at position t of q, k and v
          const bump = tf.oneHot([t], L).reshape([1, 1, L, 1]).mul(3);
          const out2 = flowAttention(q.add(bump), k.sub(bump), v.add(bump), opts).arraySync() as number[][][][];
          for (let b = 0; b < B; b++)
            for (let h = 0; h < H; h++) {
              for (let l = 0; l < t; l++) expect(out2[b]![h]![l], `${causalImpl} output ${l} < t changed`).toEqual(out1[b]![h]![l]);
              expect(relErr(out2[b]![h]![t]!, out1[b]![h]![t]!), `${causalImpl} output t must change`).toBeGreaterThan(1e-3);
            }
        });
      }
      // and through the layer
      const layer = new FlowAttention(new Rng(3), { dModel: 8, nHeads: 2, causal: true, chunkSize: 4 });
      tf.tidy(() => {
        const x = tf.tensor(rand(2 * L * 8, 31), [2, L, 8]);
        const y1 = layer.forward(x, EVAL).arraySync() as number[][][];
        const x2 = x.add(tf.oneHot([t], L).reshape([1, L, 1]).mul(2));
        const y2 = layer.forward(x2, EVAL).arraySync() as number[][][];
        for (let b = 0; b < 2; b++) for (let l = 0; l < t; l++) expect(y2[b]![l]).toEqual(y1[b]![l]);
      });
      layer.dispose();
      expect(tf.memory().numTensors, 'tensor leak').toBe(before);
    });

    it('layer step (generation) == layer forward', async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      const layer = new FlowAttention(new Rng(4), { dModel: 12, nHeads: 3, dInput: 6, dOutput: 5, causal: true, clamp: 5 });
      const x = tf.tensor(rand(2 * 9 * 6, 41, 2), [2, 9, 6]);
      const full = layer.forward(x, EVAL);
      let state = layer.initState(2);
      const outs: tf.Tensor[] = [];
      for (let t = 0; t < 9; t++) {
        const xt = tf.tidy(() => tf.squeeze(tf.slice(x, [0, t, 0], [-1, 1, -1]), [1]));
        const r = layer.step(xt, state, EVAL);
        layer.disposeState(state);
        state = r.state;
        outs.push(r.output);
        xt.dispose();
      }
      const stepped = tf.stack(outs, 1);
      expect(relErr(stepped.dataSync(), full.dataSync())).toBeLessThan(2e-6);
      layer.disposeState(state);
      tf.dispose([x, full, stepped, ...outs]);
      layer.dispose();
      expect(tf.memory().numTensors, 'tensor leak').toBe(before);
    });

    it('prefixSum: values equal tf.cumsum and gradients equal finite differences on a non-last axis', async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      const shape = [2, 5, 3];
      const x0 = rand(30, 51);
      const w0 = rand(30, 52);
      for (const opts of [{}, { exclusive: true }, { reverse: true }, { exclusive: true, reverse: true }]) {
        tf.tidy(() => {
          const x = tf.tensor(x0, shape);
          const w = tf.tensor(w0, shape);
          expect(Array.from(prefixSum(x, 1, opts).dataSync())).toEqual(Array.from(tf.cumsum(x, 1, opts.exclusive, opts.reverse).dataSync()));
          const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(prefixSum(a, 1, opts), w)))(x).dataSync();
          // the loss is linear in x, so its derivative is exact: sum of w over the positions that include x_j
          const expected = new Float32Array(30);
          for (let i = 0; i < 2; i++)
            for (let j = 0; j < 5; j++)
              for (let c = 0; c < 3; c++)
                for (let o = 0; o < 5; o++) {
                  const includes = opts.reverse ? (opts.exclusive ? o < j : o <= j) : opts.exclusive ? o > j : o >= j;
                  if (includes) expected[(i * 5 + j) * 3 + c] += w0[(i * 5 + o) * 3 + c]!;
                }
          expect(relErr(g, expected), JSON.stringify(opts)).toBeLessThan(1e-6);
        });
      }
      expect(tf.memory().numTensors, 'tensor leak').toBe(before);
    });
  });
}
