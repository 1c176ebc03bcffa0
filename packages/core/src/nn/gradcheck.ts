/**
 * Finite-difference gradient checks for float32 tfjs code, used by the tests of layers
 * and attentions. Per-element differences are too noisy in float32, so we compare
 * directional derivatives: for random unit directions u, the central difference
 * (f(x + h u) - f(x - h u)) / 2h against <grad f(x), u>.
 */
import { tf } from '../tf.ts';
import { Rng } from '../rng.ts';

export interface GradCheckResult {
  /** Per direction: analytic and numeric directional derivatives. */
  analytic: number[];
  numeric: number[];
  /** max |analytic - numeric| / max(|numeric|, scale), scale = max |numeric| over directions. */
  maxRelError: number;
}

/**
 * `loss` must be deterministic (no dropout) and return a scalar; `xs` are the tensors it
 * reads (variables are perturbed in place and restored).
 */
export function checkGradients(loss: () => tf.Scalar, xs: tf.Variable[], opts: { h?: number; directions?: number; seed?: number } = {}): GradCheckResult {
  const h = opts.h ?? 1e-2;
  const rng = new Rng(opts.seed ?? 1);
  const { grads } = tf.variableGrads(loss, xs);
  const analytic: number[] = [];
  const numeric: number[] = [];
  const originals = xs.map((x) => tf.clone(x));
  for (let k = 0; k < (opts.directions ?? 3); k++) {
    const dirs = xs.map((x) => {
      const a = new Float32Array(x.size);
      for (let i = 0; i < a.length; i++) a[i] = rng.normal();
      return tf.tensor(a, x.shape);
    });
    const norm = Math.sqrt(dirs.reduce((s, d) => s + (tf.sum(tf.square(d)).dataSync()[0] as number), 0));
    let dot = 0;
    xs.forEach((x, i) => {
      const g = grads[x.name];
      if (g) dot += tf.sum(tf.mul(g, dirs[i]!)).dataSync()[0]! / norm;
    });
    const evalAt = (sign: number) => {
      xs.forEach((x, i) => {
        const moved = tf.tidy(() => tf.add(originals[i]!, tf.mul(dirs[i]!, (sign * h) / norm)));
        x.assign(moved);
        moved.dispose();
      });
      const v = tf.tidy(() => loss().dataSync()[0]!);
      return v;
    };
    const fp = evalAt(1);
    const fm = evalAt(-1);
    xs.forEach((x, i) => x.assign(originals[i]!));
    analytic.push(dot);
    numeric.push((fp - fm) / (2 * h));
    dirs.forEach((d) => d.dispose());
  }
  originals.forEach((t) => t.dispose());
  Object.values(grads).forEach((g) => g.dispose());
  const scale = Math.max(...numeric.map(Math.abs), 1e-8);
  const maxRelError = Math.max(...analytic.map((a, i) => Math.abs(a - numeric[i]!) / Math.max(Math.abs(numeric[i]!), scale)));
  return { analytic, numeric, maxRelError };
}

/** ||a - b|| / ||b||. */
export function relError(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => (tf.norm(tf.sub(a, b)).dataSync()[0]! / Math.max(tf.norm(b).dataSync()[0]!, 1e-30)));
}
