/**
 * Our wasm kernels against the cpu backend, from identical random inputs:
 * UnsortedSegmentSum, Conv2DBackpropFilter (and the stock Conv2DBackpropInput next to it),
 * the depthwise conv gradients, the fast BatchMatMul (forward and gradients, every transpose
 * combination, broadcast batch dims, odd sizes), and a sweep over the gradients of the ops
 * our models use, which fails if any kernel they need is missing on wasm.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { WASM_KERNELS, wasmKernelOptions } from '../src/backend/wasm-kernels.ts';
import { stockBatchIndexingIsRight } from '../src/backend/cpu-kernels.ts';
import { expectClose, randomArray, randomInts, runOn, shutdownBackend } from './helpers/backend.ts';

afterAll(() => shutdownBackend());

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const rnd = (s: number[], seed: number, scale = 1) => tf.tensor(randomArray(size(s), seed, scale), s);

/** Same computation on cpu and wasm; all outputs close. */
async function sameOnBoth(what: string, fn: () => tf.Tensor | tf.Tensor[], rtol = 1e-4, atol = 1e-5, cpuFn = fn) {
  const cpu = await runOn('cpu', cpuFn);
  const wasm = await runOn('wasm', fn);
  expect(wasm.shapes, `${what}: shapes`).toEqual(cpu.shapes);
  cpu.values.forEach((v, i) => expectClose(wasm.values[i]!, v, rtol, atol, `${what} output ${i}`));
}

describe('wasm kernel registry', () => {
  it('has every kernel we register, for the wasm backend', async () => {
    await runOn('wasm', () => tf.zeros([1]));
    for (const k of WASM_KERNELS) expect(tf.getKernel(k.kernelName, 'wasm'), k.kernelName).toBeDefined();
  });
});

describe('UnsortedSegmentSum', () => {
  const cases: [number[], number[], number][] = [
    [[6, 4], [6], 5],
    [[10], [10], 3],
    [[7, 1, 3], [7], 9],
  ];
  it.each(cases)('x %j, segmentIds %j, numSegments %d (ids out of range dropped)', async (xs, ss, n) => {
    // ids from -1 to n: both ends are out of range and must be dropped
    const ids = () => tf.tensor(randomInts(size(ss), 3, -1, n + 1), ss, 'int32') as unknown as tf.Tensor1D;
    const ours = () => tf.unsortedSegmentSum(rnd(xs, 1), ids(), n);
    // independent reference: oneHot(ids)^T x (oneHot of an out-of-range id is a zero row)
    const reference = () =>
      tf.matMul(tf.oneHot(ids(), n), rnd(xs, 1).reshape([xs[0]!, -1]), true, false).reshape([n, ...xs.slice(1)]);
    await sameOnBoth('float32 vs oneHot reference', ours, 1e-5, 1e-6, reference);
    const cpuOurs = await runOn('cpu', ours);
    const cpuRef = await runOn('cpu', reference);
    expectClose(cpuOurs.values[0]!, cpuRef.values[0]!, 1e-5, 1e-6, 'cpu kernel vs oneHot reference');
    await sameOnBoth('int32', () => {
      const ids = tf.tensor(randomInts(size(ss), 4, 0, n), ss, 'int32');
      return tf.unsortedSegmentSum(tf.tensor(randomInts(size(xs), 5, -9, 9), xs, 'int32'), ids as tf.Tensor1D, n);
    });
  });

  it('takes multi-dimensional segmentIds (a prefix of x.shape) like TensorFlow, on wasm and cpu', async () => {
    // (tfjs' stock cpu kernel fails on these, so the reference is computed here.)
    const xs = [2, 3, 5];
    const x = randomArray(30, 1);
    const ids = randomInts(6, 3, -1, 5);
    const ref = new Float32Array(4 * 5);
    for (let i = 0; i < 6; i++) if (ids[i]! >= 0 && ids[i]! < 4) for (let j = 0; j < 5; j++) ref[ids[i]! * 5 + j]! += x[i * 5 + j]!;
    for (const b of ['wasm', 'cpu'] as const) {
      const { values, shapes: s } = await runOn(b, () => tf.unsortedSegmentSum(tf.tensor(x, xs), tf.tensor(ids, [2, 3], 'int32') as unknown as tf.Tensor1D, 4));
      expect(s[0]).toEqual([4, 5]);
      expectClose(values[0]!, ref, 1e-6, 1e-6, `segment sums on ${b}`);
    }
  });

  it('is O(tokens x dim) on cpu too: an embedding gradient at vocabulary 16k is quick', async () => {
    const t0 = performance.now();
    const { values } = await runOn('cpu', () => {
      const idx = tf.tensor(randomInts(512, 14, 0, 16000), [4, 128], 'int32');
      return tf.grad((table: tf.Tensor) => tf.sum(tf.gather(table, idx)))(tf.zeros([16000, 64]));
    });
    // every looked-up row gets one 1 per occurrence
    expect(values[0]!.reduce((a, v) => a + v, 0)).toBe(512 * 64);
    expect(performance.now() - t0).toBeLessThan(10_000); // the stock cpu kernel takes about a minute
  });

  it('is the gradient of gather (embedding lookup), for axis 0 and 1', async () => {
    await sameOnBoth('gather axis 0', () => {
      const idx = tf.tensor(randomInts(4 * 7, 8, 0, 50), [4, 7], 'int32');
      const w = rnd([4, 7, 8], 9);
      return tf.grad((table: tf.Tensor) => tf.sum(tf.mul(tf.gather(table, idx), w)))(rnd([50, 8], 10));
    });
    await sameOnBoth('gather axis 1', () => {
      const idx = tf.tensor(randomInts(5, 11, 0, 6), [5], 'int32');
      const w = rnd([3, 5, 2], 12);
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx, 1), w)))(rnd([3, 6, 2], 13));
    });
  });
});

describe('conv2d gradients (Conv2DBackpropFilter ours, Conv2DBackpropInput stock)', () => {
  const cases: { x: number[]; f: number[]; stride: number | [number, number]; pad: 'same' | 'valid' | number }[] = [
    { x: [2, 9, 9, 3], f: [3, 3, 3, 4], stride: 1, pad: 'same' },
    { x: [2, 9, 9, 3], f: [3, 3, 3, 4], stride: 2, pad: 'valid' },
    { x: [2, 16, 16, 3], f: [4, 4, 3, 8], stride: 4, pad: 'valid' }, // patch embedding
    { x: [1, 10, 11, 2], f: [3, 2, 2, 5], stride: [2, 3], pad: 'same' },
    { x: [3, 7, 7, 4], f: [1, 1, 4, 6], stride: 1, pad: 1 },
  ];
  it.each(cases)('%j', async ({ x, f, stride, pad }) => {
    await sameOnBoth(
      'conv2d grads',
      () => {
        const xt = rnd(x, 21);
        const ft = rnd(f, 22);
        const y = tf.conv2d(xt as tf.Tensor4D, ft as tf.Tensor4D, stride, pad);
        const w = rnd(y.shape, 23);
        const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), w)),
        )([xt, ft]);
        return [y, dx!, df!];
      },
      1e-4,
      1e-4,
    );
  });
});

describe('depthwise conv2d gradients', () => {
  const cases: { x: number[]; f: number[]; stride: number; pad: 'same' | 'valid'; dilation: number }[] = [
    { x: [2, 8, 8, 3], f: [3, 3, 3, 1], stride: 1, pad: 'same', dilation: 1 },
    { x: [2, 9, 9, 2], f: [3, 3, 2, 2], stride: 2, pad: 'valid', dilation: 1 },
    // (tfjs has no depthwise gradient for dilation > 1 on any backend)
  ];
  it.each(cases)('%j', async ({ x, f, stride, pad, dilation }) => {
    await sameOnBoth('depthwise grads', () => {
      const xt = rnd(x, 31);
      const ft = rnd(f, 32);
      const op = (a: tf.Tensor, b: tf.Tensor) =>
        tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad, 'NHWC', dilation);
      const y = op(xt, ft);
      const w = rnd(y.shape, 33);
      const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a, b), w)))([xt, ft]);
      return [y, dx!, df!];
    });
  });
});

describe('BatchMatMul (fast wasm kernel)', () => {
  // [a shape, b shape] before transposition flags are applied
  const shapes: [number[], number[], string][] = [
    [[4, 7, 5], [4, 5, 3], 'batched, odd sizes'],
    [[2, 1, 6, 4], [3, 4, 5], 'broadcast batch dims [2,1] x [3]'],
    [[6, 4], [3, 4, 5], '2-D x batched'],
    [[3, 6, 4], [4, 5], 'batched x 2-D (shared right operand)'],
    [[2, 3, 1, 4], [2, 3, 4, 1], 'M=1, N=1'],
    [[2, 8, 1], [2, 1, 9], 'K=1 (outer product)'],
    [[5, 16], [16, 12], 'plain 2-D'],
  ];
  // tinyProduct 0: every product through our XNNPACK path; default: tiny ones on the stock loop
  for (const [as, bs, label] of shapes) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        it.each([0, wasmKernelOptions.tinyProduct])(`${label}: transposeA=${ta} transposeB=${tb}, forward and gradients (tinyProduct %d)`, async (tiny) => {
          const saved = wasmKernelOptions.tinyProduct;
          wasmKernelOptions.tinyProduct = tiny;
          try {
            const tr = (s: number[], t: boolean) => (t ? [...s.slice(0, -2), s.at(-1)!, s.at(-2)!] : s);
            const run = (explicitBroadcast: boolean) => () => {
              const a = rnd(tr(as, ta), 41);
              const b = rnd(tr(bs, tb), 42);
              // The cpu reference broadcasts explicitly first (BroadcastTo's gradient sums back),
              // independently of the BatchMatMul kernels' own broadcasting.
              const bc = (x: tf.Tensor, z: tf.Tensor): [tf.Tensor, tf.Tensor] => {
                if (!explicitBroadcast) return [x, z];
                const batch = tf.backend_util.assertAndGetBroadcastShape(x.shape.slice(0, -2), z.shape.slice(0, -2));
                return [tf.broadcastTo(x, [...batch, ...x.shape.slice(-2)]), tf.broadcastTo(z, [...batch, ...z.shape.slice(-2)])];
              };
              const mm = (x: tf.Tensor, z: tf.Tensor) => tf.matMul(...bc(x, z), ta, tb);
              const y = mm(a, b);
              const w = rnd(y.shape, 43);
              const [da, db] = tf.grads((x: tf.Tensor, z: tf.Tensor) => tf.sum(tf.mul(mm(x, z), w)))([a, b]);
              return [y, da!, db!];
            };
            await sameOnBoth('matMul', run(false), 1e-4, 1e-5, run(true));
            // and the cpu kernel (with our broadcasting fix) agrees with the explicit broadcast
            const direct = await runOn('cpu', run(false));
            const ref = await runOn('cpu', run(true));
            ref.values.forEach((v, i) => expectClose(direct.values[i]!, v, 1e-5, 1e-6, `cpu matMul output ${i}`));
          } finally {
            wasmKernelOptions.tinyProduct = saved;
          }
        });
      }
    }
  }

  it('knows when the stock cpu indexing is right', () => {
    expect(stockBatchIndexingIsRight([2, 3], [3], [2, 3])).toBe(true);
    expect(stockBatchIndexingIsRight([], [4], [4])).toBe(true);
    expect(stockBatchIndexingIsRight([2, 1], [3], [2, 3])).toBe(false);
    expect(stockBatchIndexingIsRight([3, 1], [3], [3, 3])).toBe(false);
    expect(stockBatchIndexingIsRight([2, 3], [2, 1], [2, 3])).toBe(false);
  });

  it('matches exact products on a case computable by hand', async () => {
    const { values } = await runOn('wasm', () =>
      tf.matMul(tf.tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]), tf.tensor([1, 0, 0, 1, 2, 0, 0, 2], [2, 2, 2]), false, true),
    );
    expect(Array.from(values[0]!)).toEqual([1, 2, 3, 4, 10, 12, 14, 16]);
  });

  it('handles empty operands (K=0 gives zeros)', async () => {
    const { values, shapes: s } = await runOn('wasm', () => tf.matMul(tf.zeros([2, 3, 0]), tf.zeros([2, 0, 4])));
    expect(s[0]).toEqual([2, 3, 4]);
    expect(Array.from(values[0]!).every((v) => v === 0)).toBe(true);
  });
});

describe('gradients of the ops our models use, wasm vs cpu', () => {
  const x = () => rnd([3, 4, 5], 51, 2);
  const ops: [string, (t: tf.Tensor) => tf.Tensor][] = [
    ['layerNorm pieces (moments, rsqrt)', (t) => {
      const { mean, variance } = tf.moments(t, -1, true);
      return tf.mul(tf.sub(t, mean), tf.rsqrt(tf.add(variance, 1e-5)));
    }],
    ['erf / exact gelu', (t) => tf.mul(tf.mul(t, 0.5), tf.add(1, tf.erf(tf.div(t, Math.SQRT2))))],
    ['tanh gelu', (t) => tf.mul(tf.mul(t, 0.5), tf.add(1, tf.tanh(tf.mul(0.7978845608, tf.add(t, tf.mul(0.044715, tf.mul(t, tf.mul(t, t))))))))],
    ['softplus', (t) => tf.softplus(t)],
    ['logSigmoid', (t) => tf.logSigmoid(t)],
    ['sigmoid, relu, elu, leakyRelu, selu', (t) => tf.addN([tf.sigmoid(t), tf.relu(t), tf.elu(t), tf.leakyRelu(t, 0.1), tf.selu(t)])],
    ['max / min reductions', (t) => tf.add(tf.max(t, -1).sum(-1), tf.min(t, 1).sum(-1))],
    ['maximum / minimum', (t) => tf.add(tf.maximum(t, 0.3), tf.minimum(t, -0.2))],
    ['cumsum along axis 1 and 2', (t) => tf.add(tf.cumsum(t, 1, false, true).sum(1), tf.cumsum(t, 2, true).sum(1))],
    ['tile', (t) => tf.tile(t, [1, 2, 3])],
    ['pad', (t) => tf.pad(t, [[0, 0], [1, 2], [3, 0]])],
    // the mask is data, not a function of t (Greater has no gradient in tfjs)
    ['where (masking)', (t) => tf.where(tf.tensor(randomInts(60, 7, 0, 2), [3, 4, 5], 'bool'), t, tf.mul(t, -3))],
    ['softmax / logSoftmax (last axis)', (t) => tf.add(tf.softmax(t), tf.logSoftmax(t))],
    ['exp, log, sqrt, square, abs, reciprocal', (t) => tf.addN([tf.exp(t), tf.log(tf.add(tf.abs(t), 1)), tf.sqrt(tf.add(tf.square(t), 1)), tf.reciprocal(tf.add(tf.abs(t), 1))])],
    ['clipByValue', (t) => tf.clipByValue(t, -0.5, 0.5)],
    // (StridedSlice and TopK have no gradient in tfjs on any backend)
    ['concat / split / slice', (t) => {
      const [p, q] = tf.split(t, [2, 3], 2);
      return tf.concat([q!, p!, tf.slice(t, [0, 1, 1], [3, 2, 3]).tile([1, 2, 1])], 2);
    }],
    ['transpose / reshape / expandDims / squeeze / reverse', (t) => tf.reverse(tf.squeeze(tf.expandDims(tf.transpose(t, [2, 0, 1]).reshape([5, 12]), 0)), 1)],
    ['mean / sum / prod', (t) => tf.add(tf.mean(t, [1, 2]), tf.add(tf.sum(t, 1).sum(1), tf.prod(tf.add(t, 2), 2).sum(1)))],
    ['pow, div, sub, mul (broadcast)', (t) => tf.div(tf.pow(tf.add(tf.abs(t), 1), tf.scalar(1.5)), tf.add(tf.abs(tf.sum(t, 0, true)), 1))],
    ['unsortedSegmentSum', (t) => tf.unsortedSegmentSum(t, tf.tensor([2, 0, 2], [3], 'int32'), 4)],
    ['batched matMul (attention-like)', (t) => tf.softmax(tf.matMul(t, t, false, true)).matMul(t)],
    ['maxPool 2x2/1 same (our MaxPoolGrad), 3x3/2 valid', (t) => {
      const im = t.reshape([1, 3, 4, 5]) as tf.Tensor4D;
      return tf.concat([tf.maxPool(im, 2, 1, 'same').reshape([-1]), tf.maxPool(tf.pad(im, [[0, 0], [1, 1], [1, 0], [0, 0]]), 3, 2, 'valid').reshape([-1])]);
    }],
    ['avgPool', (t) => tf.avgPool(t.reshape([1, 3, 4, 5]) as tf.Tensor4D, 2, 1, 'same')],
  ];
  it.each(ops)('%s', async (_name, f) => {
    await sameOnBoth('gradient', () => {
      const t = x();
      const y = f(t);
      const w = rnd(y.shape, 52);
      return [y, tf.grad((u: tf.Tensor) => tf.sum(tf.mul(f(u), w)))(t)];
    }, 2e-4, 2e-5);
  });
});
