import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { Rng } from '../src/rng.ts';
import { EVAL } from '../src/nn/module.ts';
import { checkGradients, relError } from '../src/nn/gradcheck.ts';
import { ReformerAttention } from '../src/attention/reformer.ts';
import { mergeHeads, splitHeads } from '../src/attention/multihead.ts';
import { randn } from './helpers/random.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Full shared-QK attention: keys = normalised queries, self only when alone, optional causal and key mask. */
function fullSharedQK(layer: ReformerAttention, x: tf.Tensor, causal: boolean, keyMask?: number[]) {
  return tf.tidy(() => {
    const H = layer.nHeads;
    const L = x.shape[1]!;
    const q = splitHeads(layer.query.forward(x), H);
    const v = splitHeads(layer.value.forward(x), H);
    const k = tf.div(q, tf.norm(q, 'euclidean', -1, true));
    const raw = tf.mul(tf.matMul(q, k, false, true), q.shape[3]! ** -0.5);
    const add: number[][] = [];
    const replaceSelf: number[][] = [];
    for (let i = 0; i < L; i++) {
      add.push([]);
      replaceSelf.push([]);
      for (let j = 0; j < L; j++) {
        const forbidden = (causal && j > i) || (keyMask !== undefined && keyMask[j] === 0);
        add[i]!.push(i === j ? -5e4 : forbidden ? -1e9 : 0);
        replaceSelf[i]!.push(i === j ? 0 : 1);
      }
    }
    const scores = tf.add(tf.mul(raw, tf.tensor2d(replaceSelf)), tf.tensor2d(add));
    return layer.out.forward(mergeHeads(tf.matMul(tf.softmax(scores, -1), v)));
  });
}

describe('Reformer LSH attention', () => {
  for (const [causal, nHashes] of [
    [false, 1],
    [false, 3],
    [true, 2],
  ] as const) {
    it(`one bucket equals full shared-QK attention (${causal ? 'causal' : 'normal'}, ${nHashes} rounds, padded to the chunk)`, () => {
      const rng = new Rng(1);
      const layer = new ReformerAttention(rng, { dModel: 8, nHeads: 2, causal }, { nBuckets: 1, nHashes, bucketSize: 8 });
      const x = randn(rng, [2, 7, 8]);
      const before = tf.memory().numTensors;
      const y = layer.forward(x, EVAL);
      expect(tf.memory().numTensors).toBe(before + 1);
      expect(relError(y, fullSharedQK(layer, x, causal))).toBeLessThan(1e-5);
    });
  }

  it('one bucket with a key padding mask equals masked full attention; padded queries give 0', () => {
    const rng = new Rng(2);
    const layer = new ReformerAttention(rng, { dModel: 8, nHeads: 2 }, { nBuckets: 1, nHashes: 2, bucketSize: 6 });
    const x = randn(rng, [1, 6, 8]);
    const mask = [1, 1, 1, 1, 0, 0];
    const y = layer.forward(x, EVAL, { keyPaddingMask: tf.tensor2d([mask]) });
    const ref = fullSharedQK(layer, x, false, mask);
    expect(relError(tf.slice(y, [0, 0, 0], [1, 4, 8]), tf.slice(ref, [0, 0, 0], [1, 4, 8]))).toBeLessThan(1e-5);
    expect(Math.max(...Array.from(tf.slice(y, [0, 4, 0], [1, 2, 8]).dataSync()).map(Math.abs))).toBe(0);
  });

  it('a query alone in its window attends to itself', () => {
    // Causal, one bucket, chunk 1: the first position has no earlier key in its chunk and the
    // previous chunk (wrapping) holds a later position, so it can only attend to itself.
    const rng = new Rng(3);
    const layer = new ReformerAttention(rng, { dModel: 4, nHeads: 1, causal: true }, { nBuckets: 1, nHashes: 1, bucketSize: 1 });
    const x = randn(rng, [1, 3, 4]);
    const y = tf.slice(layer.forward(x, EVAL), [0, 0, 0], [1, 1, 4]);
    const own = tf.slice(layer.out.forward(layer.value.forward(x)), [0, 0, 0], [1, 1, 4]);
    expect(relError(y, own)).toBeLessThan(1e-6);
  });

  it('with many buckets, attention stays within hashed chunks: outputs differ from full attention but are deterministic in eval', () => {
    const rng = new Rng(4);
    const layer = new ReformerAttention(rng, { dModel: 16, nHeads: 2 }, { nHashes: 2, bucketSize: 4 });
    const x = randn(rng, [2, 32, 16]);
    const a = layer.forward(x, EVAL);
    const b = layer.forward(x, EVAL);
    expect(relError(a, b)).toBe(0);
    expect(relError(a, fullSharedQK(layer, x, false))).toBeGreaterThan(1e-3);
    // Training draws fresh rotations from ctx.rng: same rng state, same output.
    const t1 = layer.forward(x, { training: true, rng: new Rng(9) });
    const t2 = layer.forward(x, { training: true, rng: new Rng(9) });
    expect(relError(t1, t2)).toBe(0);
  });

  it('causal, chunked (one bucket, chunks of 4, wrap-around look-back): changing the last token leaves earlier outputs unchanged', () => {
    const rng = new Rng(5);
    const layer = new ReformerAttention(rng, { dModel: 8, nHeads: 2, causal: true }, { nBuckets: 1, nHashes: 2, bucketSize: 4 });
    const x = randn(rng, [1, 16, 8]);
    const x2 = tf.concat([tf.slice(x, [0, 0, 0], [1, 15, 8]), randn(rng, [1, 1, 8])], 1);
    const a = layer.forward(x, EVAL);
    const b = layer.forward(x2, EVAL);
    expect(relError(tf.slice(b, [0, 0, 0], [1, 15, 8]), tf.slice(a, [0, 0, 0], [1, 15, 8]))).toBeLessThan(1e-6);
    expect(relError(tf.slice(b, [0, 15, 0], [1, 1, 8]), tf.slice(a, [0, 15, 0], [1, 1, 8]))).toBeGreaterThan(1e-3);
  });

  for (const nBuckets of [1, 4]) {
    it(`gradients match finite differences (${nBuckets} bucket${nBuckets > 1 ? 's' : ''}, 2 rounds)`, () => {
      const rng = new Rng(6);
      const layer = new ReformerAttention(rng, { dModel: 8, nHeads: 2 }, { nBuckets, nHashes: 2, bucketSize: 3 });
      const x = tf.variable(randn(rng, [1, 6, 8]));
      const w = randn(rng, [1, 6, 8]);
      const r = checkGradients(() => tf.sum(tf.mul(layer.forward(x, EVAL), w)) as tf.Scalar, [x, ...layer.trainableVariables()], { h: 1e-3 });
      expect(r.maxRelError).toBeLessThan(3e-2);
    });
  }

  it('validates its options', () => {
    expect(() => new ReformerAttention(new Rng(1), { dModel: 8, nHeads: 2 }, { nBuckets: 3 })).toThrow(/even/);
    const layer = new ReformerAttention(new Rng(1), { dModel: 8, nHeads: 2 });
    expect(() => layer.forward(tf.zeros([1, 4, 8]), EVAL, { context: tf.zeros([1, 4, 8]) })).toThrow(/self-attention only/);
  });
});
