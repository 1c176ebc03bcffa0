/** Small tensor ops that tfjs lacks or computes slowly on some backend. */
import { tf } from '../tf.ts';

/**
 * `next(t)`, then frees `t`. For chains of ops on large tensors inside one scope: each
 * temporary goes as soon as the next op has used it, not when the scope ends.
 */
export function consume(t: tf.Tensor, next: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
  const r = next(t);
  t.dispose();
  return r;
}

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
 * `a + b` (broadcasting as `tf.add`), keeping nothing for the backward pass: tfjs's `Add` keeps
 * both inputs to learn their shapes, which for a residual `x + branch(x)` keeps the branch's
 * output alive until the backward pass reaches it. Same value and gradient as `tf.add`.
 */
export function addKeepingNothing(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const out = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const toShape = (dy: tf.Tensor, shape: number[]) => {
    const axes = tf.backend_util.getReductionAxes(shape, out);
    return (axes.length > 0 ? tf.sum(dy, axes) : dy).reshape(shape);
  };
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
    value: tf.add(args[0] as tf.Tensor, args[1] as tf.Tensor),
    gradFunc: (dy: tf.Tensor) => [toShape(dy, a.shape), toShape(dy, b.shape)],
  }));
  // The scope names a custom op on the tape (and in `bench step --profile`). It must not be a
  // kernel's name: tfjs would apply that kernel's registered gradient instead of ours.
  return tf.tidy('AddKeepingNothing', () => f(a, b));
}

/** `x * c` for a number `c`, keeping nothing for the backward pass (`tf.mul` would keep `x`). Same value and gradient. */
export function scaleBy(x: tf.Tensor, c: number): tf.Tensor {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
    value: tf.mul(args[0] as tf.Tensor, c),
    gradFunc: (dy: tf.Tensor) => [tf.mul(dy, c)],
  }));
  return tf.tidy('Scale', () => f(x));
}

/**
 * `x * m` for a constant `m` (a mask, not differentiated; broadcast to `x`'s shape), keeping
 * only `m` for the backward pass (`tf.mul` would keep `x` too). Same value and gradient for `x`.
 */
export function mulByConstant(x: tf.Tensor, m: tf.Tensor): tf.Tensor {
  const out = tf.broadcast_util.assertAndGetBroadcastShape(x.shape, m.shape);
  if (!tf.util.arraysEqual(out, x.shape)) throw new Error(`mulByConstant: the constant [${m.shape}] must broadcast to x [${x.shape}]`);
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[1] as tf.GradSaveFunc;
    save([m]);
    return { value: tf.mul(args[0] as tf.Tensor, m), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(dy, saved[0]!)] };
  });
  return tf.tidy('MulByConstant', () => f(x));
}
