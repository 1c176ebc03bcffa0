/**
 * The corrected Cumsum gradient, against central finite differences of the scalar loss
 * sum(cumsum(x) * w), for every axis (negative ones too), exclusive and reverse, on square
 * and non-square shapes. float32 on cpu (the gradient is backend-independent; wasm is
 * checked once as well).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import '../src/backend/gradients.ts';
import { expectClose, randomArray, runOn, shutdownBackend } from './helpers/backend.ts';

afterAll(() => shutdownBackend());

interface Case {
  shape: number[];
  axis: number;
  exclusive: boolean;
  reverse: boolean;
}

const cases: Case[] = [];
// (tfjs' cumsum forward rejects negative axes, so only 0..rank-1.)
for (const shape of [[3, 3], [2, 3, 4], [3, 3, 3], [5]]) {
  for (let axis = 0; axis < shape.length; axis++) {
    for (const exclusive of [false, true]) {
      for (const reverse of [false, true]) cases.push({ shape, axis, exclusive, reverse });
    }
  }
}

function lossFn(c: Case, w: tf.Tensor) {
  return (x: tf.Tensor) => tf.sum(tf.mul(tf.cumsum(x, c.axis, c.exclusive, c.reverse), w));
}

/**
 * Central differences of the loss for every element at once: row i of the batch is x0 with
 * element i moved by +-h, and the prefix sum runs along axis+1 of the batch.
 */
function finiteDifferences(c: Case, x0: Float32Array, w0: Float32Array, h: number): Float32Array {
  const n = x0.length;
  return tf.tidy(() => {
    const x = tf.tensor(x0, [1, ...c.shape]);
    const eye = tf.eye(n).reshape([n, ...c.shape]);
    const w = tf.tensor(w0, [1, ...c.shape]);
    const loss = (xs: tf.Tensor) =>
      tf.sum(tf.mul(tf.cumsum(xs, c.axis + 1, c.exclusive, c.reverse), w), c.shape.map((_, d) => d + 1));
    const lp = loss(tf.add(x, tf.mul(eye, h)));
    const lm = loss(tf.sub(x, tf.mul(eye, h)));
    return Float32Array.from(tf.div(tf.sub(lp, lm), 2 * h).dataSync());
  });
}

describe('Cumsum gradient (re-registered)', () => {
  it.each(cases.map((c) => [`shape [${c.shape}] axis ${c.axis} exclusive ${c.exclusive} reverse ${c.reverse}`, c] as const))(
    'matches finite differences: %s',
    async (_name, c) => {
      const n = c.shape.reduce((a, b) => a * b, 1);
      const x0 = randomArray(n, 11 + n, 1);
      const w0 = randomArray(n, 97 + n, 1);
      const { values } = await runOn('cpu', () => {
        const w = tf.tensor(w0, c.shape);
        return tf.grad(lossFn(c, w))(tf.tensor(x0, c.shape));
      });
      const fd = finiteDifferences(c, x0, w0, 1e-2);
      expectClose(values[0]!, fd, 2e-3, 2e-3, 'analytic vs finite differences');
    },
  );

  it('is right on wasm too (square shape, non-last axis, where tfjs transposed it)', async () => {
    const c: Case = { shape: [4, 4], axis: 0, exclusive: true, reverse: false };
    const x0 = randomArray(16, 5);
    const w0 = randomArray(16, 6);
    const grad = () => {
      const w = tf.tensor(w0, c.shape);
      return tf.grad(lossFn(c, w))(tf.tensor(x0, c.shape));
    };
    const cpu = await runOn('cpu', grad);
    const wasm = await runOn('wasm', grad);
    expectClose(wasm.values[0]!, cpu.values[0]!, 1e-5, 1e-6, 'wasm vs cpu');
    // the exact gradient: dx_j = sum over i > j of w_i along axis 0 (exclusive, forward)
    const exact = new Float32Array(16);
    for (let j = 0; j < 4; j++) for (let col = 0; col < 4; col++) for (let i = j + 1; i < 4; i++) exact[j * 4 + col]! += w0[i * 4 + col]!;
    expectClose(cpu.values[0]!, exact, 1e-5, 1e-6, 'cpu vs exact');
  });

  it('GatherNd has a gradient (ours): scatter back, summing repeated indices, same on cpu and wasm', async () => {
    const p0 = randomArray(24, 21);
    const idx = [[0, 1], [2, 3], [0, 1], [1, 0]]; // [0,1] twice
    const w0 = randomArray(4 * 2, 22);
    const g = () => {
      const w = tf.tensor(w0, [4, 2]);
      return tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.gatherND(p, tf.tensor2d(idx, [4, 2], 'int32')), w)))(tf.tensor(p0, [3, 4, 2]));
    };
    const exact = new Float32Array(24);
    idx.forEach(([i, j], r) => {
      for (let k = 0; k < 2; k++) exact[(i! * 4 + j!) * 2 + k]! += w0[r * 2 + k]!;
    });
    for (const b of ['cpu', 'wasm'] as const) {
      const { values } = await runOn(b, g);
      expectClose(values[0]!, exact, 1e-6, 1e-6, `gatherND gradient on ${b}`);
    }
  });

  it('is registered once importing the core', async () => {
    await import('../src/index.ts');
    const g = tf.getGradient(tf.Cumsum);
    expect(g).toBeDefined();
    // our gradFunc is the one in backend/gradients.ts: it does not transpose, so a non-square
    // non-last axis works
    const { shapes } = await runOn('cpu', () => tf.grad((x: tf.Tensor) => tf.sum(tf.cumsum(x, 0)))(tf.ones([2, 3])));
    expect(shapes[0]).toEqual([2, 3]);
  });
});
