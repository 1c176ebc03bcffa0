import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { Rng } from '../src/rng.ts';
import { EVAL } from '../src/nn/module.ts';
import { checkGradients, relError } from '../src/nn/gradcheck.ts';
import { CosformerAttention } from '../src/attention/cosformer.ts';
import { mergeHeads, splitHeads } from '../src/attention/multihead.ts';
import { randn } from './helpers/random.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/**
 * The authors' "left product" check, written from the paper's definition: weights
 * relu(q_i).relu(k_j) cos(pi/2 (i - j)/M), positions 1..n, M = max(L, S), causal mask,
 * rows normalised by max(sum, eps).
 */
function leftProduct(layer: CosformerAttention, x: tf.Tensor, ctxIn: tf.Tensor, causal: boolean) {
  return tf.tidy(() => {
    const H = layer.nHeads;
    const q = tf.relu(splitHeads(layer.query.forward(x), H));
    const k = tf.relu(splitHeads(layer.key!.forward(ctxIn), H));
    const v = splitHeads(layer.value.forward(ctxIn), H);
    const L = x.shape[1]!;
    const S = ctxIn.shape[1]!;
    const M = Math.max(L, S);
    const cosW = tf.tensor2d(
      Array.from({ length: L }, (_, i) => Array.from({ length: S }, (_, j) => Math.cos((Math.PI / 2) * ((i - j) / M)))),
    );
    let w = tf.mul(tf.matMul(q, k, false, true), cosW);
    if (causal) w = tf.mul(w, tf.linalg.bandPart(tf.ones([L, S]), -1, 0));
    const o = tf.matMul(tf.div(w, tf.maximum(tf.sum(w, -1, true), 1e-6)), v);
    return layer.out.forward(mergeHeads(o));
  });
}

describe('cosFormer attention', () => {
  it('normal form equals the left product (cross-attention, L=4 != S=7)', () => {
    const rng = new Rng(1);
    const layer = new CosformerAttention(rng, { dModel: 8, nHeads: 2 });
    const x = randn(rng, [2, 4, 8]);
    const c = randn(rng, [2, 7, 8]);
    expect(relError(layer.forward(x, EVAL, { context: c }), leftProduct(layer, x, c, false))).toBeLessThan(1e-5);
  });

  it('causal chunked form equals the masked left product', () => {
    const rng = new Rng(2);
    const layer = new CosformerAttention(rng, { dModel: 8, nHeads: 2, causal: true }, { chunkSize: 3 });
    const x = randn(rng, [2, 8, 8]);
    expect(relError(layer.forward(x, EVAL), leftProduct(layer, x, x, true))).toBeLessThan(1e-5);
  });

  it('right padding: M counts real positions, so outputs equal the unpadded run', () => {
    const rng = new Rng(3);
    const layer = new CosformerAttention(rng, { dModel: 8, nHeads: 2 });
    const x = randn(rng, [1, 6, 8]);
    const padded = layer.forward(x, EVAL, { keyPaddingMask: tf.tensor2d([[1, 1, 1, 1, 0, 0]]) });
    const trimmed = layer.forward(tf.slice(x, [0, 0, 0], [1, 4, 8]), EVAL);
    expect(relError(tf.slice(padded, [0, 0, 0], [1, 4, 8]), trimmed)).toBeLessThan(1e-5);
  });

  for (const causal of [false, true]) {
    it(`${causal ? 'causal' : 'normal'} gradients match finite differences`, () => {
      const rng = new Rng(4);
      const layer = new CosformerAttention(rng, { dModel: 8, nHeads: 2, causal }, { chunkSize: 2 });
      const x = tf.variable(randn(rng, [1, 5, 8]));
      const w = randn(rng, [1, 5, 8]);
      const r = checkGradients(() => tf.sum(tf.mul(layer.forward(x, EVAL), w)) as tf.Scalar, [x, ...layer.trainableVariables()]);
      expect(r.maxRelError).toBeLessThan(2e-2);
    });
  }
});
