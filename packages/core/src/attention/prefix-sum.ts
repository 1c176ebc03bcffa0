/**
 * Prefix sums with a gradient that is right along every axis.
 *
 * tfjs's registered Cumsum gradient transposes its result when the axis is not the last
 * one: for non-square shapes it throws, for square ones it is silently wrong. The causal
 * Flow-Attention needs prefix sums along the sequence axis of `[B, H, L, D]` tensors, so we
 * wrap `tf.cumsum` in a custom gradient: the adjoint of an (exclusive) prefix sum is the
 * (exclusive) suffix sum of the upstream gradient, i.e. the same cumsum run in reverse.
 * Using `tf.customGrad` makes this independent of whatever Cumsum gradient is registered.
 */
import { tf } from '../tf.ts';

export interface PrefixSumOptions {
  /** Sum strictly before each position (x_0 + ... + x_{i-1}) instead of up to it. Default false. */
  exclusive?: boolean;
  /** Sum from the end (x_i + ... + x_{n-1}). Default false. */
  reverse?: boolean;
}

/** `tf.cumsum(x, axis, exclusive, reverse)` with a correct gradient for any axis. */
export function prefixSum(x: tf.Tensor, axis: number, opts: PrefixSumOptions = {}): tf.Tensor {
  const exclusive = opts.exclusive ?? false;
  const reverse = opts.reverse ?? false;
  const ax = axis < 0 ? axis + x.rank : axis;
  if (ax < 0 || ax >= x.rank) throw new Error(`prefixSum: axis ${axis} is out of range for a rank-${x.rank} tensor`);
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor;
    return {
      value: tf.cumsum(input, ax, exclusive, reverse),
      // d(sum_{j<=i} x_j)/dx_j = 1 for every i >= j: the gradient at j sums dy over i >= j.
      gradFunc: (dy: tf.Tensor) => tf.cumsum(dy, ax, exclusive, !reverse),
    };
  });
  return f(x);
}
