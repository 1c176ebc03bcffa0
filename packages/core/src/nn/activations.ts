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
 * Exact GELU with its own gradient. With u = x / sqrt 2 and Phi(x) = (1 + erf(u)) / 2,
 *
 *   y = x Phi(x),   dy/dx = Phi(x) + x phi(x) = Phi(x) + u exp(-u^2) / sqrt pi.
 *
 * The forward runs the composite form's kernels with the factor 1/2 moved (a power of two: the
 * same bits) and keeps u and Phi for the backward pass, which is then seven elementwise kernels
 * over the size of `x` instead of the fourteen of tfjs's gradients of `mul`, `erf` and `add`
 * (the GELU of the paper's UEA model runs on [16 * 896, 2048] per layer). The gradient agrees
 * with the composite's to float32 rounding.
 */
const geluOp = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const x = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  const u = tf.mul(x, Math.SQRT1_2);
  const phi = consume(consume(tf.erf(u), (t) => tf.add(t, 1)), (t) => tf.mul(t, 0.5)); // Phi(x)
  save([u, phi]);
  return {
    value: tf.mul(x, phi),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [us, phis] = saved as [tf.Tensor, tf.Tensor];
      const density = consume(consume(consume(consume(tf.square(us), tf.neg), tf.exp), (t) => tf.mul(t, us)), (t) => tf.mul(t, 1 / Math.sqrt(Math.PI))); // x phi(x)
      return [consume(consume(density, (t) => tf.add(t, phis)), (t) => tf.mul(dy, t))];
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
