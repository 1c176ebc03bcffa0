/**
 * `seededDropout` must be `tf.dropout` with the same seed, bit for bit, on every backend: runs
 * recorded with `tf.dropout` (every UEA, LRA and WikiText run before it) then resume, replay and
 * compare unchanged. Also its gradient, and that nothing leaks.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { Rng } from '../src/rng.ts';
import { dropout, seededDropout } from '../src/nn/dropout.ts';
import { tensorflowForTests } from '../src/backend/tensorflow-setup.ts';
import { initBackend, randomArray, shutdownBackend } from './helpers/backend.ts';

const haveTensorflow = tensorflowForTests();

afterAll(async () => {
  await initBackend('cpu');
  await shutdownBackend();
});

/** The same bits: NaN-free float32 arrays compared as integers, so -0 and +0 differ. */
function bits(t: tf.Tensor): Uint32Array {
  return new Uint32Array(Float32Array.from(t.dataSync() as Float32Array).buffer);
}

function sameAsTfDropout(): void {
  // rates whose 1/(1-rate) rounds in different ways, shapes of 1 to 3 axes, seeds as the Rng draws them
  const rng = new Rng(5);
  for (const rate of [0.1, 0.2, 0.3, 0.5, 0.05, 0.9, 1 / 3]) {
    for (const shape of [[1], [257], [3, 7, 11], [20000], [4099], [3, 2, 1367]]) {
      const seed = rng.seed();
      const size = shape.reduce((a, b) => a * b, 1);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const x = tf.tensor(randomArray(size, seed, 3), shape); // negative values too: mul by 0 gives -0
        const ours = seededDropout(x, rate, seed);
        const theirs = tf.dropout(x, rate, undefined, seed);
        expect(ours.shape).toEqual(theirs.shape);
        expect(Array.from(bits(ours)), `rate ${rate}, shape [${shape}], backend ${tf.getBackend()}`).toEqual(Array.from(bits(theirs)));
      });
      expect(tf.memory().numTensors).toBe(before);
    }
  }
}

describe('seededDropout', () => {
  it('equals tf.dropout with the same seed bit for bit on cpu, and so does dropout() in training', async () => {
    await initBackend('cpu');
    sameAsTfDropout();
    const x = tf.tensor(randomArray(1000, 1, 2));
    const seedOf = new Rng(42);
    const expected = tf.dropout(x, 0.1, undefined, seedOf.seed());
    const got = dropout(x, 0.1, { training: true, rng: new Rng(42) });
    expect(Array.from(bits(got))).toEqual(Array.from(bits(expected)));
    tf.dispose([x, expected, got]);
  });

  it('equals tf.dropout bit for bit on wasm', async () => {
    await initBackend('wasm');
    sameAsTfDropout();
    await initBackend('cpu');
  });

  it.skipIf(!haveTensorflow)('equals tf.dropout bit for bit on tensorflow', async () => {
    await initBackend('tensorflow');
    sameAsTfDropout();
    await initBackend('cpu');
  });

  it('has the same gradient as tf.dropout: the kept entries scaled by 1/(1-rate), the dropped ones 0', async () => {
    await initBackend('cpu');
    const x = tf.tensor(randomArray(64, 9, 1), [8, 8]);
    const w = tf.tensor(randomArray(64, 10, 1), [8, 8]);
    const [ours] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(seededDropout(a, 0.25, 77), w)))([x]);
    const [theirs] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(tf.dropout(a, 0.25, undefined, 77), w)))([x]);
    expect(Array.from(bits(ours!))).toEqual(Array.from(bits(theirs!)));
    tf.dispose([x, w, ours!, theirs!]);
  });

  it('refuses a tensor that is not float32, as tf.dropout does', () => {
    const x = tf.tensor([1, 2, 3], [3], 'int32');
    expect(() => seededDropout(x, 0.5, 1)).toThrow(/float32/);
    x.dispose();
  });
});
