/**
 * Learned positions over a window that fills the table take the whole table (no slice): the same
 * values and the same gradient as the sliced form that shorter windows take.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { Rng } from '../src/rng.ts';
import { LearnedPositions } from '../src/nn/embedding.ts';
import { randn } from './helpers/random.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('LearnedPositions', () => {
  it('a full-length window equals the sliced table, forward and backward', () => {
    const lp = new LearnedPositions(new Rng(5), { dim: 4, maxLen: 6 });
    const x = randn(new Rng(1), [2, 6, 4]);
    const w = randn(new Rng(2), [2, 6, 4]);
    const full = tf.variableGrads(() => tf.sum(tf.mul(lp.forward(x), w)) as tf.Scalar, [lp.weight]);
    const sliced = tf.variableGrads(() => tf.sum(tf.mul(tf.add(x, tf.slice(lp.weight, [0, 0], [6, 4])), w)) as tf.Scalar, [lp.weight]);
    expect(full.value.dataSync()[0]).toBe(sliced.value.dataSync()[0]);
    expect(Array.from(full.grads[lp.weight.name]!.dataSync())).toEqual(Array.from(sliced.grads[lp.weight.name]!.dataSync()));
    // a shorter window and an offset still slice
    const part = lp.forward(tf.zeros([1, 2, 4]), 3).arraySync() as number[][][];
    expect(part[0]![1]).toEqual((lp.weight.arraySync() as number[][])[4]);
    expect(() => lp.forward(tf.zeros([1, 7, 4]))).toThrow(/maxLen is 6/);
    tf.dispose([x, w, full.value, sliced.value, ...Object.values(full.grads), ...Object.values(sliced.grads)]);
    lp.dispose();
  });
});
