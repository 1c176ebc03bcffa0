import { tf } from '../tf.ts';

/**
 * Activation functions by name. `gelu` is the exact GELU, x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)),
 * as PyTorch's `nn.GELU()` (the vision and time-series code); `gelu_tanh` is the tanh
 * approximation, which is what Flax's `nn.gelu` (the LRA code) computes by default.
 * `tf.erf` has a kernel on the cpu and wasm backends and a registered gradient.
 */
export type ActivationName = 'relu' | 'gelu' | 'gelu_tanh' | 'identity';

export const ACTIVATIONS: readonly ActivationName[] = ['relu', 'gelu', 'gelu_tanh', 'identity'];

export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
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
