import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { Rng } from '../src/rng.ts';
import { EVAL } from '../src/nn/module.ts';
import { checkGradients, relError } from '../src/nn/gradcheck.ts';
import { LinearAttention, linearAttentionCore } from '../src/attention/linear.ts';
import { splitHeads } from '../src/attention/multihead.ts';
import { randn } from './helpers/random.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Quadratic-form reference: (phi(q) phi(k)^T masked) v / (row sums + eps). */
function direct(qf: tf.Tensor, kf: tf.Tensor, v: tf.Tensor, causal: boolean, eps: number) {
  return tf.tidy(() => {
    let a = tf.matMul(qf, kf, false, true);
    if (causal) a = tf.mul(a, tf.linalg.bandPart(tf.ones([qf.shape[2]!, kf.shape[2]!]), -1, 0));
    return tf.div(tf.matMul(a, v), tf.add(tf.sum(a, -1, true), eps));
  });
}

describe('linear attention core', () => {
  it('normal form equals the quadratic form (L != S)', () => {
    const rng = new Rng(1);
    const qf = tf.abs(randn(rng, [2, 3, 7, 4]));
    const kf = tf.abs(randn(rng, [2, 3, 5, 4]));
    const v = randn(rng, [2, 3, 5, 6]);
    expect(relError(linearAttentionCore(qf, kf, v, { causal: false }), direct(qf, kf, v, false, 1e-6))).toBeLessThan(1e-5);
  });

  for (const chunk of [1, 3, 4, 16]) {
    it(`causal chunked (chunk ${chunk}, L 10) equals the masked quadratic form, forward and gradients`, () => {
      const rng = new Rng(2);
      const qf = tf.variable(tf.abs(randn(rng, [1, 2, 10, 3])));
      const kf = tf.variable(tf.abs(randn(rng, [1, 2, 10, 3])));
      const v = tf.variable(randn(rng, [1, 2, 10, 5]));
      const w = randn(rng, [1, 2, 10, 5]);
      const before = tf.memory().numTensors;
      const out = linearAttentionCore(qf, kf, v, { causal: true, chunkSize: chunk });
      expect(tf.memory().numTensors).toBe(before + 1);
      expect(relError(out, direct(qf, kf, v, true, 1e-6))).toBeLessThan(1e-5);
      const ours = tf.variableGrads(() => tf.sum(tf.mul(linearAttentionCore(qf, kf, v, { causal: true, chunkSize: chunk }), w)) as tf.Scalar, [qf, kf, v]);
      const ref = tf.variableGrads(() => tf.sum(tf.mul(direct(qf, kf, v, true, 1e-6), w)) as tf.Scalar, [qf, kf, v]);
      for (const x of [qf, kf, v]) expect(relError(ours.grads[x.name]!, ref.grads[x.name]!)).toBeLessThan(1e-4);
    });
  }
});

describe('LinearAttention layer', () => {
  const args = { dModel: 8, nHeads: 2 };

  it('is elu+1 feature attention over projected heads', () => {
    const rng = new Rng(3);
    const layer = new LinearAttention(rng, args);
    const x = randn(rng, [2, 6, 8]);
    const y = layer.forward(x, EVAL);
    const ref = tf.tidy(() => {
      const phi = (t: tf.Tensor) => tf.add(tf.elu(t), 1);
      const q = splitHeads(layer.query.forward(x), 2);
      const k = splitHeads(layer.key!.forward(x), 2);
      const v = splitHeads(layer.value.forward(x), 2);
      const o = direct(phi(q), phi(k), v, false, 1e-6);
      return layer.out.forward(o.transpose([0, 2, 1, 3]).reshape([2, 6, 8]));
    });
    expect(relError(y, ref)).toBeLessThan(1e-5);
  });

  for (const causal of [false, true]) {
    it(`${causal ? 'causal' : 'normal'}: right padding gives the outputs of the unpadded sequence; padded queries give 0`, () => {
      const rng = new Rng(4);
      const layer = new LinearAttention(rng, { ...args, causal }, { chunkSize: 3 });
      const x = randn(rng, [1, 7, 8]);
      const mask = tf.tensor2d([[1, 1, 1, 1, 1, 0, 0]]);
      const padded = layer.forward(x, EVAL, { keyPaddingMask: mask });
      const trimmed = layer.forward(tf.slice(x, [0, 0, 0], [1, 5, 8]), EVAL);
      expect(relError(tf.slice(padded, [0, 0, 0], [1, 5, 8]), trimmed)).toBeLessThan(1e-5);
      expect(Math.max(...Array.from(tf.slice(padded, [0, 5, 0], [1, 2, 8]).dataSync()).map(Math.abs))).toBe(0);
    });
  }

  it('causal: changing token t leaves outputs before t unchanged', () => {
    const rng = new Rng(5);
    const layer = new LinearAttention(rng, { ...args, causal: true }, { chunkSize: 4 });
    const x = randn(rng, [1, 9, 8]);
    const x2 = tf.concat([tf.slice(x, [0, 0, 0], [1, 6, 8]), randn(rng, [1, 3, 8])], 1);
    const a = layer.forward(x, EVAL);
    const b = layer.forward(x2, EVAL);
    expect(relError(tf.slice(b, [0, 0, 0], [1, 6, 8]), tf.slice(a, [0, 0, 0], [1, 6, 8]))).toBeLessThan(1e-6);
    expect(relError(tf.slice(b, [0, 6, 0], [1, 3, 8]), tf.slice(a, [0, 6, 0], [1, 3, 8]))).toBeGreaterThan(1e-3);
    expect(() => layer.forward(x, EVAL, { context: randn(rng, [1, 4, 8]) })).toThrow(/self-attention only/);
  });

  for (const causal of [false, true]) {
    it(`${causal ? 'causal' : 'normal'} layer gradients match finite differences`, () => {
      const rng = new Rng(6);
      const layer = new LinearAttention(rng, { ...args, causal }, { chunkSize: 2 });
      const x = tf.variable(randn(rng, [1, 5, 8]));
      const w = randn(rng, [1, 5, 8]);
      const r = checkGradients(() => tf.sum(tf.mul(layer.forward(x, EVAL), w)) as tf.Scalar, [x, ...layer.trainableVariables()]);
      expect(r.maxRelError).toBeLessThan(2e-2);
    });
  }
});
