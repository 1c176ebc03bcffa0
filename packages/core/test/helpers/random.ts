/** Random test tensors drawn from the library's own seeded Rng, so a test's inputs follow from its seed. */
import { tf } from '../../src/tf.ts';
import type { Rng } from '../../src/rng.ts';

/** A float32 tensor of `shape` with N(0, std^2) entries, drawn from `rng` in row-major order. */
export function randn(rng: Rng, shape: number[], std = 1): tf.Tensor {
  const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
  for (let i = 0; i < a.length; i++) a[i] = rng.normal(0, std);
  return tf.tensor(a, shape);
}
