import { tf } from '../tf.ts';

/**
 * Activation functions by name. `gelu` is the exact GELU, x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)),
 * as PyTorch's `nn.GELU()` (the vision and time-series code); `gelu_tanh` is the tanh
 * approximation, which is what Flax's `nn.gelu` (the LRA code) computes by default.
 * `tf.erf` has a kernel on the cpu and wasm backends and a registered gradient.
 */
export type ActivationName = 'relu' | 'gelu' | 'gelu_tanh' | 'identity';

export const ACTIVATIONS: readonly ActivationName[] = ['relu', 'gelu', 'gelu_tanh', 'identity'];

/** `next(t)`, then frees `t`: GELU's temporaries are each as large as x (the MLP's [B, L, dFF]). */
function step(t: tf.Tensor, next: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
  const r = next(t);
  t.dispose();
  return r;
}

/**
 * Exact GELU with its own gradient, as PyTorch's: the composite form would keep five tensors the
 * size of `x` for the backward pass (x twice, x/sqrt 2, erf, 1 + erf); this keeps `x` only and
 * differentiates in closed form, d/dx x Phi(x) = Phi(x) + x phi(x). The forward runs the same
 * kernels as the composite form, so its output is bit-identical, and frees each temporary as
 * soon as it is used (the composite form held four at once).
 */
const geluOp = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const x = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  save([x]);
  // (x * 0.5) * (erf(x / sqrt 2) + 1), the composite's kernels in its order, freeing as it goes
  const erf1 = step(step(tf.mul(x, Math.SQRT1_2), tf.erf), (t) => tf.add(t, 1));
  const value = step(tf.mul(x, 0.5), (t) => tf.mul(t, erf1));
  erf1.dispose();
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs] = saved as [tf.Tensor];
      const cdf = step(step(step(tf.mul(xs, Math.SQRT1_2), tf.erf), (t) => tf.add(t, 1)), (t) => tf.mul(t, 0.5)); // Phi(x)
      const pdf = step(step(step(tf.square(xs), (t) => tf.mul(t, -0.5)), tf.exp), (t) => tf.mul(t, 1 / Math.sqrt(2 * Math.PI))); // phi(x)
      const slope = step(step(pdf, (t) => tf.mul(xs, t)), (t) => tf.add(cdf, t)); // Phi(x) + x phi(x)
      cdf.dispose();
      return [step(slope, (t) => tf.mul(dy, t))];
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
