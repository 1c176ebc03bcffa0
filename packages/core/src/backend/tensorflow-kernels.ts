/**
 * Kernel overrides for the tensorflow backend (tfjs-node).
 *
 * Cast to the dtype a tensor already has: tfjs-core's gradients and LayerNorm cast float32 to
 * float32 (about a hundred times in a training step of the tiny char GPT), and tfjs-node runs
 * each as a TensorFlow Cast op, a copy of the tensor and one more kernel launch. A same-dtype
 * cast is the identity, so it shares the input's buffer as tfjs-node's own Identity kernel does
 * (one more reference to the data); any other cast goes to tfjs-node's kernel unchanged.
 *
 * Sum over leading or middle axes (a bias's gradient sums dy over every row, LayerNorm's weight
 * and bias gradients too): TensorFlow's CPU reduction across rows reads [16 * 896, 2048] at about
 * 4 GB/s (28 ms), a quarter of what a product with a row of ones reaches on the same data (7 ms).
 * So such a sum of float32 x, viewed as [outer, M, inner] with the M summed, is ones[1, M] x x.
 * The sums are accumulated in another order, so they agree with the reduction's to float32
 * rounding, not bit for bit.
 */
import { tf } from '../tf.ts';

interface NodeBackend {
  incRef(dataId: tf.DataId): void;
}

let registered = false;

/** Installs the overrides once tfjs-node has registered its kernels; idempotent. */
export function registerTensorflowKernels(): void {
  if (registered) return;
  const stock = tf.getKernel(tf.Cast, 'tensorflow');
  if (stock == null) return; // tfjs-node not loaded into this engine: nothing to override
  tf.unregisterKernel(tf.Cast, 'tensorflow');
  tf.registerKernel({
    ...stock,
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (x.dtype === (args.attrs as { dtype: tf.DataType }).dtype) {
        (args.backend as unknown as NodeBackend).incRef(x.dataId);
        return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
      }
      return stock.kernelFunc(args);
    },
  });
  const stockSum = tf.getKernel(tf.Sum, 'tensorflow')!;
  tf.unregisterKernel(tf.Sum, 'tensorflow');
  tf.registerKernel({
    ...stockSum,
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.Tensor;
      const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
      const rows = x.dtype === 'float32' && x.size >= SUM_BY_PRODUCT_MIN ? rowsSummed(x.shape, axis) : null;
      if (!rows) return stockSum.kernelFunc(args);
      const { outer, m, inner, axes } = rows;
      const outShape = x.shape.flatMap((d, i) => (!axes.includes(i) ? [d] : keepDims ? [1] : []));
      return tf.tidy(() => {
        const ones = tf.ones([1, m]);
        const summed = outer === 1 ? tf.matMul(ones, x.reshape([m, inner])) : tf.matMul(ones.reshape([1, 1, m]), x.reshape([outer, m, inner]));
        return summed.reshape(outShape);
      });
    },
  });
  registered = true;
}

/** Below this many elements the reduction kernel is as fast. */
const SUM_BY_PRODUCT_MIN = 1 << 16;

/**
 * `shape` as [outer, m, inner] when `axis` is one run of adjacent axes that stops short of the
 * last (so inner > 1: a reduction across rows), with those axes sorted; null otherwise.
 */
function rowsSummed(shape: readonly number[], axis: number | number[]): { outer: number; m: number; inner: number; axes: number[] } | null {
  const axes = [...new Set(tf.util.parseAxisParam(axis, [...shape]))].sort((a, b) => a - b);
  if (axes.length === 0) return null;
  const first = axes[0]!;
  const last = axes[axes.length - 1]!;
  if (last - first + 1 !== axes.length || last === shape.length - 1) return null;
  const size = (from: number, to: number) => shape.slice(from, to).reduce((a, b) => a * b, 1);
  return { outer: size(0, first), m: size(first, last + 1), inner: size(last + 1, shape.length), axes };
}
