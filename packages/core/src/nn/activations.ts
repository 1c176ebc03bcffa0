import { tf } from '../tf.ts';
import { consume } from './ops.ts';

/**
 * Activation functions by name. `gelu` is the exact GELU, x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)),
 * as PyTorch's `nn.GELU()` (the vision and time-series code); `gelu_tanh` is the tanh
 * approximation, which is what Flax's `nn.gelu` (the LRA code) computes by default.
 * `tf.erf` has a kernel on the cpu and wasm backends and a registered gradient.
 */
export type ActivationName = 'relu' | 'gelu' | 'gelu_tanh' | 'identity';

export const ACTIVATIONS: readonly ActivationName[] = ['relu', 'gelu', 'gelu_tanh', 'identity'];

/**
 * Exact GELU with its own gradient. The composite form keeps five tensors the size of `x` for
 * the backward pass (x twice, x / sqrt 2, erf, 1 + erf); this keeps `x` only, recomputes the
 * rest, and then runs the composite's own backward kernels (tfjs's gradients of `mul`, `erf`
 * and `add`), so value and gradient are bit-identical to it. Each temporary is freed as soon as
 * it is used (the composite held four at once).
 *
 *   y = A B,  A = x / 2,  B = erf(u) + 1,  u = x / sqrt 2
 *   dx = (dy A) (2 / sqrt pi) exp(-u^2) / sqrt 2  +  (dy B) / 2
 */
const geluOp = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const x = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  save([x]);
  const b = consume(consume(tf.mul(x, Math.SQRT1_2), tf.erf), (t) => tf.add(t, 1)); // B
  const value = consume(tf.mul(x, 0.5), (t) => tf.mul(t, b));
  b.dispose();
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs] = saved as [tf.Tensor];
      const u = tf.mul(xs, Math.SQRT1_2);
      // through B: d erf(u)/du = (2 / sqrt pi) exp(-u^2), then du/dx
      const erfSlope = consume(consume(consume(tf.square(u), tf.neg), tf.exp), (t) => tf.mul(t, 2 / Math.sqrt(Math.PI)));
      const viaB = consume(consume(consume(tf.mul(xs, 0.5), (a) => tf.mul(dy, a)), (t) => tf.mul(t, erfSlope)), (t) => tf.mul(t, Math.SQRT1_2));
      erfSlope.dispose();
      // through A: dy B / 2
      const viaA = consume(consume(consume(tf.erf(u), (t) => tf.add(t, 1)), (t) => tf.mul(dy, t)), (t) => tf.mul(t, 0.5));
      u.dispose();
      return [consume(viaB, (t) => tf.add(t, viaA))];
    },
  };
});

export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy('Gelu', () => geluOp(x));
}

export function geluTanh(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); x^3 by multiplication (tf.pow is slow on wasm).
    const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
  });
}

export function activation(name: ActivationName): (x: tf.Tensor) => tf.Tensor {
  switch (name) {
    case 'relu':
      return (x) => tf.relu(x);
    case 'gelu':
      return gelu;
    case 'gelu_tanh':
      return geluTanh;
    case 'identity':
      return (x) => x;
    default:
      throw new Error(`unknown activation '${name as string}'; expected one of ${ACTIVATIONS.join(', ')}`);
  }
}
