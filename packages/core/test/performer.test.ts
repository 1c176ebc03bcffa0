import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { Rng } from '../src/rng.ts';
import { EVAL } from '../src/nn/module.ts';
import { checkGradients, relError } from '../src/nn/gradcheck.ts';
import { PerformerAttention, orthogonalRandomFeatures, softmaxKernelFeatures } from '../src/attention/performer.ts';
import { linearAttentionCore } from '../src/attention/linear.ts';
import { mergeHeads, splitHeads } from '../src/attention/multihead.ts';
import { randn } from './helpers/random.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function softmaxAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, causal: boolean) {
  return tf.tidy(() => {
    const L = q.shape[2]!;
    let s = tf.mul(tf.matMul(q, k, false, true), q.shape[3]! ** -0.5);
    if (causal) s = tf.add(s, tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([L, L]), -1, 0)), -1e9));
    return tf.matMul(tf.softmax(s, -1), v);
  });
}

describe('orthogonal random features', () => {
  it('rows of a block are orthogonal, norms are chi-distributed (mean ~ sqrt d)', () => {
    const d = 8;
    const w = orthogonalRandomFeatures(new Rng(1), 20, d); // two full blocks and a partial one
    const row = (i: number) => Array.from(w.subarray(i * d, (i + 1) * d));
    const dot = (a: number[], b: number[]) => a.reduce((s, x, j) => s + x * b[j]!, 0);
    for (let i = 0; i < d; i++)
      for (let j = 0; j < i; j++) {
        const a = row(i), b = row(j);
        expect(Math.abs(dot(a, b)) / Math.sqrt(dot(a, a) * dot(b, b))).toBeLessThan(1e-5);
      }
    const big = orthogonalRandomFeatures(new Rng(2), 4000, d);
    let s = 0;
    for (let i = 0; i < 4000; i++) s += Math.sqrt(big.subarray(i * d, (i + 1) * d).reduce((t, x) => t + x * x, 0));
    expect(s / 4000).toBeGreaterThan(2.6); // E chi_8 = 2.74
    expect(s / 4000).toBeLessThan(2.9);
  });
});

describe('FAVOR+', () => {
  it('with many features the output approaches softmax attention (error falls with m)', () => {
    // FAVOR+ is unbiased but its variance grows like exp(|q' + k'|^2): moderate inputs keep
    // the check sharp at a size that runs in a second.
    const rng = new Rng(3);
    const q = randn(rng, [1, 2, 16, 8], 0.5);
    const k = randn(rng, [1, 2, 16, 8], 0.5);
    const v = randn(rng, [1, 2, 16, 4]);
    const exact = softmaxAttention(q, k, v, false);
    const uniform = relError(tf.tile(tf.mean(v, 2, true), [1, 1, 16, 1]), exact); // ~0.28: what ignoring q.k costs
    const err = (m: number, seed: number) => {
      const w = tf.tensor2d(orthogonalRandomFeatures(new Rng(seed), m, 8), [m, 8]);
      const out = linearAttentionCore(softmaxKernelFeatures(q, w, true), softmaxKernelFeatures(k, w, false), v, { causal: false, eps: 0 });
      return relError(out, exact);
    };
    const small = (err(8, 10) + err(8, 11) + err(8, 12)) / 3;
    const large = err(16384, 13);
    expect(large).toBeLessThan(0.04);
    expect(large).toBeLessThan(uniform / 5);
    expect(large).toBeLessThan(small / 8);
  });

  it('causal chunked form equals the masked quadratic form on the same features', () => {
    const rng = new Rng(4);
    const layer = new PerformerAttention(rng, { dModel: 8, nHeads: 2, causal: true }, { nbFeatures: 16, chunkSize: 3 });
    const x = randn(rng, [2, 7, 8]);
    const ref = tf.tidy(() => {
      const q = softmaxKernelFeatures(splitHeads(layer.query.forward(x), 2), layer.projection, true);
      const k = softmaxKernelFeatures(splitHeads(layer.key!.forward(x), 2), layer.projection, false);
      const v = splitHeads(layer.value.forward(x), 2);
      const a = tf.mul(tf.matMul(q, k, false, true), tf.linalg.bandPart(tf.ones([7, 7]), -1, 0));
      return layer.out.forward(mergeHeads(tf.div(tf.matMul(a, v), tf.add(tf.sum(a, -1, true), 1e-6))));
    });
    expect(relError(layer.forward(x, EVAL), ref)).toBeLessThan(1e-5);
  });

  it('right padding gives the outputs of the unpadded sequence (normal form)', () => {
    const rng = new Rng(5);
    const layer = new PerformerAttention(rng, { dModel: 8, nHeads: 2 }, { nbFeatures: 32 });
    const x = randn(rng, [1, 6, 8]);
    const padded = layer.forward(x, EVAL, { keyPaddingMask: tf.tensor2d([[1, 1, 1, 1, 0, 0]]) });
    const trimmed = layer.forward(tf.slice(x, [0, 0, 0], [1, 4, 8]), EVAL);
    // Equal up to the 1e-4 feature offset scaled by a key maximum that may differ.
    expect(relError(tf.slice(padded, [0, 0, 0], [1, 4, 8]), trimmed)).toBeLessThan(1e-3);
  });

  for (const causal of [false, true]) {
    it(`${causal ? 'causal' : 'normal'} gradients match finite differences`, () => {
      const rng = new Rng(6);
      const layer = new PerformerAttention(rng, { dModel: 8, nHeads: 2, causal }, { nbFeatures: 12, chunkSize: 2 });
      const x = tf.variable(randn(rng, [1, 5, 8]));
      const w = randn(rng, [1, 5, 8]);
      const r = checkGradients(() => tf.sum(tf.mul(layer.forward(x, EVAL), w)) as tf.Scalar, [x, ...layer.trainableVariables()]);
      expect(r.maxRelError).toBeLessThan(2e-2);
    });
  }

  it('features are a non-trainable parameter, redrawn every redrawInterval training calls', () => {
    const rng = new Rng(7);
    const layer = new PerformerAttention(rng, { dModel: 8, nHeads: 2 }, { nbFeatures: 6, redrawInterval: 2 });
    expect(layer.trainableVariables()).not.toContain(layer.projection);
    expect(layer.namedParams().find((p) => p.name === 'projection')!.trainable).toBe(false);
    const x = randn(rng, [1, 3, 8]);
    const ctx = { training: true, rng: new Rng(8) };
    const snap = () => Array.from(layer.projection.dataSync());
    const p0 = snap();
    layer.forward(x, ctx);
    layer.forward(x, ctx);
    expect(snap()).toEqual(p0);
    layer.forward(x, ctx);
    expect(snap()).not.toEqual(p0);
    layer.forward(x, EVAL);
    expect(layer.callsSinceRedraw.dataSync()[0]).toBe(1);
    // The count and the features are parameters: restoring them resumes the redraw schedule.
    const state = Object.fromEntries(layer.namedParams().map((p) => [p.name, tf.clone(p.variable)]));
    const twin = new PerformerAttention(new Rng(99), { dModel: 8, nHeads: 2 }, { nbFeatures: 6, redrawInterval: 2 });
    twin.loadState(state);
    const ctxA = { training: true, rng: new Rng(5) };
    const ctxB = { training: true, rng: new Rng(5) };
    for (let i = 0; i < 3; i++) expect(relError(twin.forward(x, ctxB), layer.forward(x, ctxA))).toBe(0);
    expect(Array.from(twin.projection.dataSync())).toEqual(snap());
    expect(layer.options.nbFeatures).toBe(6);
    expect(new PerformerAttention(rng, { dModel: 16, nHeads: 2 }).options.nbFeatures).toBe(Math.round(8 * Math.log(8)));
  });
});
