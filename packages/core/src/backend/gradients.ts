/**
 * Gradient fixes, registered for every backend when @flowformer/core is imported.
 *
 * Cumsum: tfjs 4.22's gradient transposes the result when `axis` is not the last one, which
 * throws for non-square shapes and is silently wrong for square ones. The true adjoint of an
 * (exclusive / reverse) prefix sum along `axis` is the same prefix sum run the other way along
 * the same axis:
 *   y = cumsum(x, axis, exclusive, reverse)  =>  dx = cumsum(dy, axis, exclusive, !reverse)
 * (inclusive: y_i = sum_{j<=i} x_j, so dx_j = sum_{i>=j} dy_i; exclusive: strict inequalities).
 *
 * BatchMatMul: tfjs 4.22's gradient forgets to sum over broadcast batch dimensions, so
 * matMul([2,1,M,K], [3,K,N]) or matMul([M,K], [B,K,N]) fails in backprop ("gradient of input
 * 'a' has shape ... which does not match"). Ours computes the same products and then reduces
 * each gradient to its input's shape.
 *
 * GatherNd: tfjs 4.22 has no gradient for it. The adjoint of picking slices is scattering
 * dy back to where they came from, summing repeated indices: dParams = scatterND(indices, dy).
 *
 * Sigmoid: tfjs's own formula, dy * (y * (1 - y)), three passes over the tensor; on tensorflow
 * with the fused XLA kernels one (Flow-Attention's sigmoid feature maps are [B, H, L, D]).
 */
import { tf } from '../tf.ts';
import { fusedOr, xlaKernel } from './xla-kernels.ts';

const cumsumGradConfig: tf.GradConfig = {
  kernelName: tf.Cumsum,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const { axis, exclusive, reverse } = attrs as unknown as { axis: number; exclusive: boolean; reverse: boolean };
    const ax = axis < 0 ? axis + x!.rank : axis;
    return { x: () => tf.cumsum(dy as tf.Tensor, ax, exclusive, !reverse) };
  },
};

/** Sum `g` over the axes along which `x` was broadcast, and reshape to `x`'s shape. */
function reduceToShape(g: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, g.shape);
  const r = axes.length > 0 ? tf.sum(g, axes) : g;
  return r.shape.length === shape.length && r.shape.every((d, i) => d === shape[i]) ? r : tf.reshape(r, shape);
}

const batchMatMulGradConfig: tf.GradConfig = {
  kernelName: tf.BatchMatMul,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved as [tf.Tensor, tf.Tensor];
    const d = dy as tf.Tensor;
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    // y = op(a) op(b); da, db below have the (broadcast) batch shape of y.
    let da: () => tf.Tensor;
    let db: () => tf.Tensor;
    if (!transposeA && !transposeB) {
      da = () => tf.matMul(d, b, false, true); //   dy b^T
      db = () => tf.matMul(a, d, true, false); //   a^T dy
    } else if (!transposeA && transposeB) {
      da = () => tf.matMul(d, b, false, false); //  dy b
      db = () => tf.matMul(d, a, true, false); //   dy^T a
    } else if (transposeA && !transposeB) {
      da = () => tf.matMul(b, d, false, true); //   b dy^T
      db = () => tf.matMul(a, d, false, false); //  a dy
    } else {
      da = () => tf.matMul(b, d, true, true); //    b^T dy^T
      db = () => tf.matMul(d, a, true, true); //    dy^T a^T
    }
    return { a: () => reduceToShape(da(), a.shape), b: () => reduceToShape(db(), b.shape) };
  },
};

const gatherNdGradConfig: tf.GradConfig = {
  kernelName: tf.GatherNd,
  inputsToSave: ['params', 'indices'],
  gradFunc: (dy, saved) => {
    const [params, indices] = saved as [tf.Tensor, tf.Tensor];
    return {
      params: () => tf.scatterND(indices, dy as tf.Tensor, params.shape),
      indices: () => tf.zerosLike(indices),
    };
  },
};

let registered = false;

/** Re-register our gradients (idempotent; runs on import). */
const sigmoidGradConfig: tf.GradConfig = {
  kernelName: tf.Sigmoid,
  outputsToSave: [true],
  gradFunc: (dy, saved) => {
    const [y] = saved as [tf.Tensor];
    const d = dy as tf.Tensor;
    const unfused = () => tf.mul(d, tf.mul(y, tf.sub(tf.scalar(1), y)));
    const fused = y.rank > 0 && y.size > 0 ? xlaKernel('sigmoid_grad') : null;
    if (!fused) return { x: unfused };
    const cols = y.shape[y.rank - 1]!;
    return { x: () => fusedOr(() => fused({ y: y.reshape([-1, cols]), dy: d.reshape([-1, cols]) }).dx!.reshape(y.shape), unfused) };
  },
};

export function registerGradientFixes(): void {
  if (registered) return;
  // unregister first: registerGradient would otherwise warn about the duplicate.
  if (tf.getGradient(tf.Cumsum) != null) tf.unregisterGradient(tf.Cumsum);
  tf.registerGradient(cumsumGradConfig);
  if (tf.getGradient(tf.BatchMatMul) != null) tf.unregisterGradient(tf.BatchMatMul);
  tf.registerGradient(batchMatMulGradConfig);
  if (tf.getGradient(tf.GatherNd) != null) tf.unregisterGradient(tf.GatherNd);
  tf.registerGradient(gatherNdGradConfig);
  if (tf.getGradient(tf.Sigmoid) != null) tf.unregisterGradient(tf.Sigmoid);
  tf.registerGradient(sigmoidGradConfig);
  registered = true;
}

registerGradientFixes();
