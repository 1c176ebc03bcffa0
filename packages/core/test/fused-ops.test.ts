/**
 * The layers whose backward pass keeps only what it needs (custom gradients): the same forward
 * as the composite tfjs ops, bit for bit; the same gradients, bit for bit where the backward runs
 * the same kernels (GELU, Dense, dropout, adds, scaling, masks, head split/merge) and to float32
 * rounding where it is a closed form (LayerNorm); and far fewer bytes kept for the backward.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { Rng } from '../src/rng.ts';
import { gelu } from '../src/nn/activations.ts';
import { Dense } from '../src/nn/dense.ts';
import { seededDropout } from '../src/nn/dropout.ts';
import { LayerNorm } from '../src/nn/layer-norm.ts';
import { addKeepingNothing, mulByConstant, scaleBy } from '../src/nn/ops.ts';
import { mergeHeads, splitHeads } from '../src/attention/multihead.ts';
import { epsDot } from '../src/attention/flow-options.ts';
import { gradientsFreeingAsYouGo } from '../src/train/grads.ts';
import { savedOnPath } from '../src/nn/backward.ts';
import { tensorflowForTests } from '../src/backend/tensorflow-setup.ts';
import { withoutXlaKernels } from '../src/backend/xla-kernels.ts';
import { initBackend } from './helpers/backend.ts';
import { randn } from './helpers/random.ts';

const haveTensorflow = tensorflowForTests();
beforeAll(async () => {
  await initBackend('cpu');
});
afterAll(async () => {
  await initBackend('cpu');
});

/** Value and gradients of sum(f(xs) * w) with respect to `xs`, by tfjs's own backward pass. */
function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], w: tf.Tensor) {
  const { value, grads } = tf.engine().gradients(() => tf.sum(tf.mul(f(...xs), w)), xs, null as never, true);
  const out = tf.tidy(() => f(...xs));
  const r = { y: out.dataSync().slice(), loss: value.dataSync()[0]!, grads: grads.map((g) => g!.dataSync().slice()) };
  tf.dispose([value, out, ...grads]);
  return r;
}

/** The bytes tape nodes keep for the backward pass of f (each buffer once), but for the final sum's input. */
function savedBytes(f: () => tf.Tensor, xs: tf.Tensor[]): number {
  let bytes = 0;
  let outBytes = 0;
  const loss = () => {
    const y = f();
    outBytes = y.size * 4; // tf.sum keeps its input
    return tf.sum(y);
  };
  const { value, grads } = gradientsFreeingAsYouGo(loss, xs, (tape, onPath) => {
    for (const { tensor: t } of savedOnPath(tape, onPath)) bytes += t.size * (t.dtype === 'bool' ? 1 : 4);
  });
  tf.dispose([value, ...grads.filter((g): g is tf.Tensor => g !== null)]);
  return bytes - outBytes;
}

function expectClose(got: Float32Array | Int32Array | Uint8Array, want: Float32Array | Int32Array | Uint8Array, tol: number, what: string) {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  expect(worst / (scale || 1), what).toBeLessThan(tol);
}

const rng = new Rng(7);
const x = randn(rng, [2, 6, 8]);
const w = randn(rng, [2, 6, 8]);

describe('layers with their own gradients', () => {
  it('GELU: forward bit-identical to the composite erf form, gradient to float32 rounding; keeps u and Phi', () => {
    const composite = (t: tf.Tensor) => tf.mul(tf.mul(t, 0.5), tf.add(tf.erf(tf.mul(t, Math.SQRT1_2)), 1));
    const ours = valueAndGrads(gelu, [x], w);
    const ref = valueAndGrads(composite, [x], w);
    expect(Array.from(ours.y)).toEqual(Array.from(ref.y));
    expectClose(ours.grads[0]!, ref.grads[0]!, 1e-6, 'dx');
    expect(savedBytes(() => gelu(x), [x])).toBe(2 * x.size * 4);
    expect(savedBytes(() => composite(x), [x])).toBeGreaterThanOrEqual(4 * x.size * 4);
  });

  it('LayerNorm: forward bit-identical to tf.moments; gradients of x, weight and bias to float32 rounding; keeps xhat and rstd', () => {
    const ln = new LayerNorm({ dim: 8 });
    ln.weight!.assign(randn(new Rng(3), [8]));
    ln.bias!.assign(randn(new Rng(4), [8]));
    const composite = (t: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(t, -1, true);
      return tf.add(tf.mul(tf.mul(tf.sub(t, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), b);
    };
    const ours = valueAndGrads((t, g, b) => (g === ln.weight && b === ln.bias ? ln.forward(t) : tf.scalar(NaN)), [x, ln.weight!, ln.bias!], w);
    const ref = valueAndGrads(composite, [x, ln.weight!, ln.bias!], w);
    expect(Array.from(ours.y)).toEqual(Array.from(ref.y));
    ['x', 'weight', 'bias'].forEach((n, i) => expectClose(ours.grads[i]!, ref.grads[i]!, 1e-5, `dLN/d${n}`));
    // xhat [2,6,8], rstd [2,6,1] and the weight
    expect(savedBytes(() => ln.forward(x), [x])).toBe((x.size + 12 + 8) * 4);
    ln.dispose();
  });

  it('Dense, dropout, adds, scaling, masks and head split/merge: forward and gradients bit-identical to the tfjs ops', () => {
    const dense = new Dense(new Rng(5), { inFeatures: 8, outFeatures: 4 });
    const wd = randn(new Rng(6), [2, 6, 4]);
    const composite = (t: tf.Tensor, k: tf.Tensor, b: tf.Tensor) => tf.add(tf.matMul(t.reshape([-1, 8]), k), b).reshape([2, 6, 4]);
    const ours = valueAndGrads((t) => dense.forward(t), [x, dense.kernel, dense.bias!], wd);
    const ref = valueAndGrads(composite, [x, dense.kernel, dense.bias!], wd);
    expect(Array.from(ours.y)).toEqual(Array.from(ref.y));
    ours.grads.forEach((g, i) => expect(Array.from(g), `dense grad ${i}`).toEqual(Array.from(ref.grads[i]!)));
    // x as [N, in] and the kernel only (tf.add would keep the [N, out] product too)
    expect(savedBytes(() => dense.forward(x), [x])).toBe((x.size + dense.kernel.size) * 4);
    dense.dispose();

    const drop = valueAndGrads((t) => seededDropout(t, 0.25, 42), [x], w);
    const dropRef = valueAndGrads((t) => tf.dropout(t, 0.25, undefined, 42), [x], w);
    expect(Array.from(drop.y)).toEqual(Array.from(dropRef.y));
    expect(Array.from(drop.grads[0]!)).toEqual(Array.from(dropRef.grads[0]!));
    expect(savedBytes(() => seededDropout(x, 0.25, 42), [x]), 'one byte per element').toBe(x.size);

    const b = randn(new Rng(8), [6, 8]);
    const add = valueAndGrads(addKeepingNothing, [x, b], w);
    const addRef = valueAndGrads(tf.add, [x, b], w);
    expect(Array.from(add.y)).toEqual(Array.from(addRef.y));
    add.grads.forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(addRef.grads[i]!)));
    expect(savedBytes(() => addKeepingNothing(x, b), [x, b])).toBe(0);

    const scaled = valueAndGrads((t) => scaleBy(t, Math.sqrt(512)), [x], w);
    const scaledRef = valueAndGrads((t) => tf.mul(t, Math.sqrt(512)), [x], w);
    expect(Array.from(scaled.y)).toEqual(Array.from(scaledRef.y));
    expect(Array.from(scaled.grads[0]!)).toEqual(Array.from(scaledRef.grads[0]!));

    const mask = tf.tensor([1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0], [2, 6, 1]);
    const masked = valueAndGrads((t) => mulByConstant(t, mask), [x], w);
    const maskedRef = valueAndGrads((t) => tf.mul(t, mask), [x], w);
    expect(Array.from(masked.y)).toEqual(Array.from(maskedRef.y));
    expect(Array.from(masked.grads[0]!)).toEqual(Array.from(maskedRef.grads[0]!));
    expect(savedBytes(() => mulByConstant(x, mask), [x])).toBe(mask.size * 4);

    const wh = randn(new Rng(9), [2, 2, 6, 4]);
    const split = valueAndGrads((t) => splitHeads(t, 2), [x], wh);
    const splitRef = valueAndGrads((t) => t.reshape([2, 6, 2, 4]).transpose([0, 2, 1, 3]), [x], wh);
    expect(Array.from(split.y)).toEqual(Array.from(splitRef.y));
    expect(Array.from(split.grads[0]!)).toEqual(Array.from(splitRef.grads[0]!));
    const h = randn(new Rng(10), [2, 2, 6, 4]);
    const merged = valueAndGrads(mergeHeads, [h], w);
    const mergedRef = valueAndGrads((t) => t.transpose([0, 2, 1, 3]).reshape([2, 6, 8]), [h], w);
    expect(Array.from(merged.y)).toEqual(Array.from(mergedRef.y));
    expect(Array.from(merged.grads[0]!)).toEqual(Array.from(mergedRef.grads[0]!));
    tf.dispose([b, mask, wh, h]);
  });

  it("Flow-Attention's epsDot: one row of b as a matrix-vector product, rows of b elementwise; both agree with sum((a + eps)(b + eps)) and its gradients", () => {
    const eps = 1e-3; // large enough that a wrong eps term shows
    const elementwise = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.add(a, eps), tf.add(b, eps)), -1, true);
    const a = tf.sigmoid(randn(new Rng(11), [2, 3, 7, 5]));
    for (const bShape of [[2, 3, 1, 5], [2, 3, 7, 5]]) {
      const b = tf.sigmoid(randn(new Rng(12), bShape));
      const wy = randn(new Rng(13), [2, 3, 7, 1]);
      const ours = valueAndGrads((x, y) => epsDot(x, y, eps), [a, b], wy);
      const ref = valueAndGrads(elementwise, [a, b], wy);
      expectClose(ours.y, ref.y, 1e-6, `value, b [${bShape}]`);
      ours.grads.forEach((g, i) => expectClose(g, ref.grads[i]!, 1e-6, `gradient ${i}, b [${bShape}]`));
      b.dispose();
      wy.dispose();
    }
    a.dispose();
  });

  it('leak no tensor in forward or backward', () => {
    const before = tf.memory().numTensors;
    const ln = new LayerNorm({ dim: 8 });
    const dense = new Dense(new Rng(1), { inFeatures: 8, outFeatures: 8 });
    const vars = [...ln.trainableVariables(), ...dense.trainableVariables()];
    const { value, grads } = gradientsFreeingAsYouGo(() => tf.sum(addKeepingNothing(x, seededDropout(gelu(dense.forward(ln.forward(x))), 0.5, 3))), vars);
    tf.dispose([value, ...grads.filter((g): g is tf.Tensor => g !== null)]);
    ln.dispose();
    dense.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  for (const backend of ['wasm', 'tensorflow'] as const) {
    it.skipIf(backend === 'tensorflow' && !haveTensorflow)(`Dense's gradients are bit-identical to the composite form on ${backend} too; GELU's and LayerNorm's to float32 rounding`, async () => {
      await initBackend(backend);
      try {
        const xb = randn(new Rng(7), [2, 6, 8]);
        const wb = randn(new Rng(8), [2, 6, 8]);
        const composite = (t: tf.Tensor) => tf.mul(tf.mul(t, 0.5), tf.add(tf.erf(tf.mul(t, Math.SQRT1_2)), 1));
        const ours = valueAndGrads(gelu, [xb], wb);
        const ref = valueAndGrads(composite, [xb], wb);
        expect(Array.from(ours.y)).toEqual(Array.from(ref.y));
        expectClose(ours.grads[0]!, ref.grads[0]!, 1e-6, `GELU dx on ${backend}`);
        const dense = new Dense(new Rng(5), { inFeatures: 8, outFeatures: 8 });
        const d = valueAndGrads((t) => dense.forward(t), [xb, dense.kernel, dense.bias!], wb);
        const dRef = valueAndGrads((t, k, b) => tf.add(tf.matMul(t.reshape([-1, 8]), k), b).reshape([2, 6, 8]), [xb, dense.kernel, dense.bias!], wb);
        expect(Array.from(d.y)).toEqual(Array.from(dRef.y));
        d.grads.forEach((g, i) => expect(Array.from(g), `dense grad ${i}`).toEqual(Array.from(dRef.grads[i]!)));
        const ln = new LayerNorm({ dim: 8 });
        const lRef = valueAndGrads((t) => {
          const { mean, variance } = tf.moments(t, -1, true);
          return tf.add(tf.mul(tf.mul(tf.sub(t, mean), tf.rsqrt(tf.add(variance, 1e-5))), ln.weight!), ln.bias!);
        }, [xb], wb);
        // the same kernels as tf.moments unfused; on tensorflow the fused XLA kernel (on by
        // default, xla-kernels.test.ts) agrees to float32 rounding
        const l = withoutXlaKernels(() => valueAndGrads((t) => ln.forward(t), [xb], wb));
        expect(Array.from(l.y)).toEqual(Array.from(lRef.y));
        expectClose(l.grads[0]!, lRef.grads[0]!, 1e-5, 'dLN/dx');
        const lFused = valueAndGrads((t) => ln.forward(t), [xb], wb);
        expectClose(lFused.y, lRef.y, 1e-6, `LayerNorm on ${backend}`);
        expectClose(lFused.grads[0]!, lRef.grads[0]!, 1e-5, `dLN/dx on ${backend}`);
        tf.dispose([xb, wb]);
        dense.dispose();
        ln.dispose();
      } finally {
        await initBackend('cpu');
      }
    });
  }
});
