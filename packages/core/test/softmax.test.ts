/**
 * Softmax attention (the vanilla Transformer baseline) against a direct float64 computation,
 * with causal and key-padding masks; the layer's heads, cross-attention and generation cache.
 * wasm and cpu.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { EVAL } from '../src/nn/module.ts';
import { Rng } from '../src/rng.ts';
import { softmaxAttention } from '../src/attention/softmax.ts';
import { SoftmaxAttention } from '../src/attention/layer.ts';
import { initBackend, shutdownBackend } from './helpers/backend.ts';
import { rand, relErr } from './flow-reference.ts';

afterAll(async () => {
  await shutdownBackend();
});

/** softmax_j(scale q_i . k_j over allowed j) v_j, in float64 loops. */
function direct(q: Float32Array, k: Float32Array, v: Float32Array, B: number, H: number, L: number, S: number, D: number, Dv: number, causal: boolean, mask: number[][] | null, scale: number): Float64Array {
  const out = new Float64Array(B * H * L * Dv);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < L; i++) {
        const logits: number[] = [];
        const allowed: number[] = [];
        for (let j = 0; j < S; j++) {
          if ((causal && j > i) || (mask && !mask[b]![j])) continue;
          let s = 0;
          for (let d = 0; d < D; d++) s += q[((b * H + h) * L + i) * D + d]! * k[((b * H + h) * S + j) * D + d]!;
          logits.push(s * scale);
          allowed.push(j);
        }
        const mx = Math.max(...logits);
        const e = logits.map((x) => Math.exp(x - mx));
        const z = e.reduce((a, c) => a + c, 0);
        for (let m = 0; m < Dv; m++) {
          let acc = 0;
          allowed.forEach((j, n) => (acc += (e[n]! / z) * v[((b * H + h) * S + j) * Dv + m]!));
          out[((b * H + h) * L + i) * Dv + m] = acc;
        }
      }
  return out;
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`softmax attention on ${backend}`, () => {
    it('equals the direct computation (plain, causal, key padding, custom scale)', async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      const [B, H, D, Dv] = [2, 3, 4, 5];
      const mask = [
        [1, 1, 0, 1, 1, 1, 0],
        [1, 1, 1, 1, 0, 0, 0],
      ];
      const cases = [
        { L: 6, S: 7, causal: false, mask: null, scale: undefined },
        { L: 7, S: 7, causal: true, mask: null, scale: undefined },
        { L: 5, S: 7, causal: false, mask, scale: 0.3 },
        { L: 7, S: 7, causal: true, mask, scale: undefined },
      ];
      for (const c of cases) {
        const q = rand(B * H * c.L * D, 1, 2);
        const k = rand(B * H * c.S * D, 2, 2);
        const v = rand(B * H * c.S * Dv, 3, 2);
        const got = tf.tidy(() =>
          softmaxAttention(tf.tensor(q, [B, H, c.L, D]), tf.tensor(k, [B, H, c.S, D]), tf.tensor(v, [B, H, c.S, Dv]), {
            causal: c.causal,
            keyPaddingMask: c.mask ? tf.tensor(c.mask) : undefined,
            scale: c.scale,
          }).dataSync(),
        );
        const want = direct(q, k, v, B, H, c.L, c.S, D, Dv, c.causal, c.mask, c.scale ?? 1 / Math.sqrt(D));
        expect(relErr(got, want), JSON.stringify({ ...c, mask: !!c.mask })).toBeLessThan(1e-5);
      }
      expect(tf.memory().numTensors, 'tensor leak').toBe(before);
    });

    it('hand-written gradient == autodiff gradient (plain, causal, padding), with less peak memory', async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      const [B, H, L, D, Dv] = [2, 2, 24, 4, 3];
      const mask = tf.tensor([Array.from({ length: L }, (_, i) => (i % 5 === 2 ? 0 : 1)), Array.from({ length: L }, (_, i) => (i < 17 ? 1 : 0))]);
      const q = tf.tensor(rand(B * H * L * D, 4, 2), [B, H, L, D]);
      const k = tf.tensor(rand(B * H * L * D, 5, 2), [B, H, L, D]);
      const v = tf.tensor(rand(B * H * L * Dv, 6, 2), [B, H, L, Dv]);
      const w = tf.tensor(rand(B * H * L * Dv, 7), [B, H, L, Dv]);
      for (const o of [{}, { causal: true }, { keyPaddingMask: mask }, { causal: true, keyPaddingMask: mask }]) {
        const grads = (customGradient: boolean) => {
          const g = tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(softmaxAttention(a, b, c, { ...o, customGradient }), w)))([q, k, v]));
          const vals = g.map((t) => t.dataSync());
          tf.dispose(g);
          return { vals };
        };
        const custom = grads(true);
        const auto = grads(false);
        ['q', 'k', 'v'].forEach((n, i) => expect(relErr(custom.vals[i]!, auto.vals[i]!), `grad ${n} ${JSON.stringify(Object.keys(o))}`).toBeLessThan(1e-5));
      }
      const peakOf = async (customGradient: boolean) =>
        (await tf.profile(() => tf.dispose(tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => softmaxAttention(a, b, c, { causal: true, customGradient }))([q, k, v])))).peakBytes;
      expect(await peakOf(true)).toBeLessThan(await peakOf(false));
      tf.dispose([mask, q, k, v, w]);
      expect(tf.memory().numTensors, 'tensor leak').toBe(before);
    });

    it('layer: heads are contiguous column slices, cross-attention works, generation cache == forward', async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      const layer = new SoftmaxAttention(new Rng(1), { dModel: 8, nHeads: 2, dInput: 6, dOutput: 4 });
      tf.tidy(() => {
        const x = tf.tensor(rand(2 * 5 * 6, 11), [2, 5, 6]);
        const ctxX = tf.tensor(rand(2 * 7 * 6, 12), [2, 7, 6]);
        const y = layer.forward(x, EVAL, { context: ctxX });
        // the same computation written out: project, take columns h*4..h*4+3 as head h, attend, concat, project
        const proj = (d: typeof layer.query, t: tf.Tensor) => tf.add(tf.matMul(t.reshape([-1, 6]), d.kernel), d.bias!);
        const heads = [0, 1].map((h) => {
          const cols = (t: tf.Tensor, n: number) => tf.slice(t, [0, h * 4], [-1, 4]).reshape([2, 1, n, 4]);
          return softmaxAttention(cols(proj(layer.query, x), 5), cols(proj(layer.key!, ctxX), 7), cols(proj(layer.value, ctxX), 7)).reshape([2, 5, 4]);
        });
        const manual = tf.add(tf.matMul(tf.concat(heads, 2).reshape([-1, 8]), layer.out.kernel), layer.out.bias!).reshape([2, 5, 4]);
        expect(relErr(y.dataSync(), manual.dataSync())).toBeLessThan(1e-6);
      });
      layer.dispose();

      const causal = new SoftmaxAttention(new Rng(2), { dModel: 8, nHeads: 2, causal: true });
      const x = tf.tensor(rand(2 * 6 * 8, 13), [2, 6, 8]);
      const full = causal.forward(x, EVAL);
      let state = causal.initState(2);
      const outs: tf.Tensor[] = [];
      for (let t = 0; t < 6; t++) {
        const xt = tf.tidy(() => tf.squeeze(tf.slice(x, [0, t, 0], [-1, 1, -1]), [1]));
        const r = causal.step(xt, state, EVAL);
        causal.disposeState(state);
        state = r.state;
        outs.push(r.output);
        xt.dispose();
      }
      const stepped = tf.stack(outs, 1);
      expect(relErr(stepped.dataSync(), full.dataSync())).toBeLessThan(1e-6);
      causal.disposeState(state);
      tf.dispose([x, full, stepped, ...outs]);
      causal.dispose();
      expect(tf.memory().numTensors, 'tensor leak').toBe(before);
    });
  });
}
