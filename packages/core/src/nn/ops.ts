/** Small tensor ops that tfjs lacks or computes slowly on some backend. */
import { tf } from '../tf.ts';

/**
 * max(x) along `axes` (dims kept) as a constant for the gradient, like PyTorch's
 * `x.amax(dim, keepdim=True).detach()`. The max runs inside the custom gradient, so it is
 * not recorded on the tape: backprop neither differentiates it (tfjs would, even for a zero
 * upstream gradient) nor runs its broadcast `Equal`, which is ~20x slower than an
 * elementwise op on the wasm backend.
 */
export function detachedMax(x: tf.Tensor, axes: number | number[]): tf.Tensor {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor;
    // Zeros of the input's shape, not tf.zerosLike(input): the trainer's backward pass frees
    // tensors as it goes, and tfjs-node's ZerosLike reads the (by then freed) input itself.
    const { shape, dtype } = input;
    return { value: tf.max(input, axes, true), gradFunc: () => tf.zeros(shape, dtype) };
  });
  return f(x);
}

/**
 * log(sum(exp(x))) along `axis`, stabilised by the maximum. Same value and gradient
 * (softmax(x)) as tf.logSumExp, whose backward pass also differentiates its tf.max.
 */
export function logSumExp(x: tf.Tensor, axis: number, keepDims = false): tf.Tensor {
  return tf.tidy(() => {
    const m = detachedMax(x, axis);
    const y = tf.add(tf.log(tf.sum(tf.exp(tf.sub(x, m)), axis, true)), m);
    return keepDims ? y : tf.squeeze(y, [axis < 0 ? axis + x.rank : axis]);
  });
}

/**
 * `a + b` for two tensors of one shape (a residual connection), keeping nothing for the backward
 * pass: tfjs's `Add` keeps both inputs to learn their shapes, which for `x + branch(x)` keeps
 * the branch's output alive until the backward pass reaches it. Same value and gradient.
 */
export const addSameShape: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor = (a, b) => {
  if (!tf.util.arraysEqual(a.shape, b.shape)) throw new Error(`addSameShape: shapes differ, [${a.shape}] and [${b.shape}]`);
  return tf.tidy('AddSameShape', () => addNoSave(a, b));
};

const addNoSave = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b] = args as [tf.Tensor, tf.Tensor];
  return { value: tf.add(a, b), gradFunc: (dy: tf.Tensor) => [dy, dy] };
});
