/**
 * Parameter initialisers. They draw from our own `Rng` in JavaScript and then upload the
 * numbers, so that the same seed gives bit-identical weights on every backend (wasm, cpu,
 * tensorflow): the cross-backend training tests and resumable runs depend on it.
 */
import { tf } from '../tf.ts';
import type { Rng } from '../rng.ts';

export type Shape = number[];

const size = (shape: Shape) => shape.reduce((a, b) => a * b, 1);

export function zeros(shape: Shape): tf.Tensor {
  return tf.zeros(shape);
}

export function ones(shape: Shape): tf.Tensor {
  return tf.ones(shape);
}

export function constant(shape: Shape, value: number): tf.Tensor {
  return tf.fill(shape, value);
}

export function uniform(rng: Rng, shape: Shape, lo: number, hi: number): tf.Tensor {
  const n = size(shape);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(lo, hi);
  return tf.tensor(a, shape);
}

export function normal(rng: Rng, shape: Shape, std = 1, mean = 0): tf.Tensor {
  const n = size(shape);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal(mean, std);
  return tf.tensor(a, shape);
}

/** Normal truncated to [mean - 2 std, mean + 2 std] by resampling (timm's trunc_normal_ with its default bounds scaled to std). */
export function truncatedNormal(rng: Rng, shape: Shape, std = 0.02, mean = 0): tf.Tensor {
  const n = size(shape);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let x: number;
    do x = rng.normal(0, 1);
    while (x < -2 || x > 2);
    a[i] = mean + std * x;
  }
  return tf.tensor(a, shape);
}

/** Glorot/Xavier uniform for a `[fanIn, fanOut]` kernel. */
export function xavierUniform(rng: Rng, shape: Shape, fanIn: number, fanOut: number): tf.Tensor {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return uniform(rng, shape, -limit, limit);
}

/**
 * PyTorch's default for `nn.Linear` and `nn.Conv*` (kaiming_uniform with a = sqrt(5)):
 * U(-1/sqrt(fanIn), 1/sqrt(fanIn)), used for weights and biases alike. The original
 * Flowformer code relies on these defaults, so they are ours too.
 */
export function torchDefault(rng: Rng, shape: Shape, fanIn: number): tf.Tensor {
  const bound = 1 / Math.sqrt(fanIn);
  return uniform(rng, shape, -bound, bound);
}
