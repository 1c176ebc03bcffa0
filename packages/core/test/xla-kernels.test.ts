/**
 * The tensorflow backend's fused XLA kernels (backend/xla-kernels.ts, packages/core/xla-kernels):
 * they load, and each layer that uses them (the MLP's dense + GELU + dropout, LayerNorm,
 * dropout) gives the unfused ops' outputs and gradients to float32 rounding, with the same
 * dropout masks, in training and evaluation; a kernel that fails turns them off and the unfused
 * ops answer instead. Skipped without tfjs-node (CI with a wheel requires it).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { Rng } from '../src/rng.ts';
import { MLP } from '../src/nn/mlp.ts';
import { LayerNorm } from '../src/nn/layer-norm.ts';
import { seededDropout } from '../src/nn/dropout.ts';
import { EVAL, type ForwardContext } from '../src/nn/module.ts';
import { flowAttention } from '../src/attention/flow.ts';
import { backendInfo } from '../src/backend/select.ts';
import { fusedOr, unloadXlaKernels, withoutXlaKernels, xlaKernel, xlaKernelsStatus, XLA_KERNELS } from '../src/backend/xla-kernels.ts';
import { tensorflowForTests } from '../src/backend/tensorflow-setup.ts';
import { initBackend, shutdownBackend } from './helpers/backend.ts';
import { randn } from './helpers/random.ts';

const haveTensorflow = tensorflowForTests();

beforeAll(async () => {
  if (haveTensorflow) await initBackend('tensorflow');
});
afterAll(async () => {
  await shutdownBackend();
  await initBackend('cpu');
});

/** A new start of the tensorflow backend, which loads the kernels again (after a test turned them off). */
async function reloadKernels(): Promise<void> {
  await shutdownBackend();
  await initBackend('cpu');
  await initBackend('tensorflow');
}
// a test that turned the kernels off and then failed must not leave them off for the next ones
afterEach(async () => {
  if (haveTensorflow && !xlaKernelsStatus().on) await reloadKernels();
});

/** Largest |a - b| relative to the largest |b| (1 when b is all zero). */
function relDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! / Math.max(tf.max(tf.abs(b)).dataSync()[0]!, 1e-30));
}

/** Output and gradients (of sum(out * w)) of `f` over `vars` and the input, as tensors. */
function outputAndGrads(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, vars: tf.Variable[], w: tf.Tensor) {
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(f(x), w)) as tf.Scalar, vars);
  const dx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(f(xx), w)))(x);
  return { out: tf.keep(f(x)), loss: value, grads: vars.map((v) => grads[v.name]!), dx };
}

describe.skipIf(!haveTensorflow)('fused XLA kernels on the tensorflow backend', () => {
  it('load when the backend starts, and the backend says so', () => {
    expect(xlaKernelsStatus().on, xlaKernelsStatus().detail).toBe(true);
    expect(backendInfo().xla).toMatch(/^on: /);
    for (const name of XLA_KERNELS) expect(xlaKernel(name), name).not.toBeNull();
    expect(withoutXlaKernels(() => xlaKernel('dropout'))).toBeNull();
  });

  for (const training of [true, false]) {
    it(`MLP (dense, exact GELU, dropout 0.1): fused = unfused, output and every gradient (${training ? 'training' : 'evaluation'})`, () => {
      const rng = new Rng(3);
      const mlp = new MLP(rng, { inFeatures: 24, hiddenFeatures: 40, dropout: 0.1 });
      const x = randn(rng, [3, 7, 24]);
      const w = randn(rng, [3, 7, 24]);
      const ctx = (): ForwardContext => (training ? { training: true, rng: new Rng(11) } : EVAL);
      // each forward draws its masks from a fresh Rng(11): both paths see the same masks
      const run = () => outputAndGrads((t) => mlp.forward(t, ctx()), x, mlp.trainableVariables(), w);
      const fused = run();
      const plain = withoutXlaKernels(run);
      expect(relDiff(fused.out, plain.out)).toBeLessThan(1e-6);
      expect(relDiff(fused.dx, plain.dx)).toBeLessThan(1e-5);
      fused.grads.forEach((g, i) => expect(relDiff(g, plain.grads[i]!), mlp.trainableVariables()[i]!.name).toBeLessThan(1e-5));
      if (training) {
        // the same units are dropped: zero exactly where the unfused output is zero
        const zf = tf.tidy(() => tf.equal(fused.out, 0).dataSync());
        const zp = tf.tidy(() => tf.equal(plain.out, 0).dataSync());
        expect(Array.from(zf)).toEqual(Array.from(zp));
        expect(Array.from(zp).filter((z) => z === 1).length).toBeGreaterThan(0);
      }
      tf.dispose([fused, plain, x, w] as unknown as tf.Tensor[]);
      mlp.dispose();
    });
  }

  it('kernels that go away between forward and backward: the unfused backward answers, with the same gradients', async () => {
    const rng = new Rng(4);
    const mlp = new MLP(rng, { inFeatures: 16, hiddenFeatures: 32, dropout: 0.2 });
    const ln = new LayerNorm({ dim: 16 });
    const x = randn(rng, [5, 16]);
    const w = randn(rng, [5, 16]);
    const vars = [...mlp.trainableVariables(), ...ln.trainableVariables()];
    const grads = (dropKernels: boolean) =>
      tf.variableGrads(() => {
        const y = ln.forward(mlp.forward(x, { training: true, rng: new Rng(2) }));
        if (dropKernels) unloadXlaKernels('off: unloaded by the test');
        return tf.sum(tf.mul(y, w)) as tf.Scalar;
      }, vars).grads;
    const fused = grads(false);
    const fallBack = grads(true);
    expect(xlaKernelsStatus().on).toBe(false);
    for (const v of vars) expect(relDiff(fallBack[v.name]!, fused[v.name]!), v.name).toBeLessThan(1e-5);
    tf.dispose([x, w, ...Object.values(fused), ...Object.values(fallBack)]);
    mlp.dispose();
    ln.dispose();
    await reloadKernels();
    expect(xlaKernelsStatus().on).toBe(true);
  });

  it('LayerNorm: fused = unfused, output and gradients (input, weight, bias)', () => {
    const rng = new Rng(5);
    const ln = new LayerNorm({ dim: 32 });
    tf.tidy(() => {
      ln.weight!.assign(tf.add(1, randn(rng, [32], 0.3)));
      ln.bias!.assign(randn(rng, [32], 0.3));
    });
    const x = tf.add(randn(rng, [4, 9, 32], 2), 3); // an offset mean, as residual streams have
    const w = randn(rng, [4, 9, 32]);
    const run = () => outputAndGrads((t) => ln.forward(t), x, ln.trainableVariables(), w);
    const fused = run();
    const plain = withoutXlaKernels(run);
    expect(relDiff(fused.out, plain.out)).toBeLessThan(1e-6);
    expect(relDiff(fused.dx, plain.dx)).toBeLessThan(1e-5);
    fused.grads.forEach((g, i) => expect(relDiff(g, plain.grads[i]!)).toBeLessThan(1e-5));
    tf.dispose([x, w]);
    ln.dispose();
  });

  it('dropout: fused = unfused exactly, value and gradient', () => {
    const x = randn(new Rng(8), [6, 50]);
    const run = () => {
      const f = (t: tf.Tensor) => seededDropout(t, 0.3, 1234);
      return { y: f(x), dx: tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), x)))(x) };
    };
    const fused = run();
    const plain = withoutXlaKernels(run);
    expect(relDiff(fused.y, plain.y)).toBe(0);
    expect(relDiff(fused.dx, plain.dx)).toBe(0);
    tf.dispose([x, fused.y, fused.dx, plain.y, plain.dx]);
  });

  it('a kernel that fails turns the kernels off, the unfused ops answer, and the backend can load them again', async () => {
    const r = fusedOr(
      () => {
        throw new Error('no XLA here');
      },
      () => 42,
    );
    expect(r).toBe(42);
    expect(xlaKernelsStatus()).toEqual({ on: false, detail: 'off: a kernel failed when run (no XLA here)' });
    expect(xlaKernel('layer_norm')).toBeNull();
    // the layers still compute, unfused
    const y = tf.tidy(() => new LayerNorm({ dim: 4 }).forward(tf.tensor2d([[1, 2, 3, 4]])).dataSync());
    expect(Math.abs(y[0]! + 1.3416)).toBeLessThan(1e-3);
    await reloadKernels();
    expect(xlaKernelsStatus().on).toBe(true);
  });
});

describe.skipIf(!haveTensorflow)('the sigmoid gradient on the tensorflow backend', () => {
  it('fused = tfjs formula, bit for bit ([B, H, L, D] as in the flow feature maps)', async () => {
    const x = randn(new Rng(9), [2, 3, 5, 4], 2);
    const w = randn(new Rng(10), [2, 3, 5, 4]);
    const grad = () => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.sigmoid(t), w)))(x);
    const fused = grad();
    const plain = withoutXlaKernels(grad);
    const reference = tf.tidy(() => {
      const y = tf.sigmoid(x);
      return tf.mul(w, tf.mul(y, tf.sub(tf.scalar(1), y)));
    });
    expect(relDiff(fused, plain)).toBe(0);
    expect(relDiff(plain, reference)).toBe(0);
    const profiled = await tf.profile(() => tf.dispose(grad()));
    expect(profiled.kernelNames).toContain('Xla_sigmoid_grad');
    tf.dispose([x, w, fused, plain, reference]);
  });
});

describe.skipIf(!haveTensorflow)("Flow-Attention's written-out gradient (attention/flow-fused.ts) on the tensorflow backend", () => {
  it('kernels that go away between its forward and backward: the unfused last pass answers, with the same gradients', async () => {
    const rng = new Rng(22);
    const [q, k, v, w] = [randn(rng, [2, 3, 7, 4]), randn(rng, [2, 3, 7, 4]), randn(rng, [2, 3, 7, 5]), randn(rng, [2, 3, 7, 5])];
    const grads = (dropKernels: boolean) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => {
        const y = flowAttention(a, b, d);
        if (dropKernels) unloadXlaKernels('off: unloaded by the test');
        return tf.sum(tf.mul(y, w));
      })([q, k, v]);
    const fused = grads(false);
    const fallBack = grads(true);
    expect(xlaKernelsStatus().on).toBe(false);
    fused.forEach((g, i) => expect(relDiff(fallBack[i]!, g), `gradient ${'qkv'[i]}`).toBeLessThan(1e-5));
    tf.dispose([q, k, v, w, ...fused, ...fallBack]);
    await reloadKernels();
    expect(xlaKernelsStatus().on).toBe(true);
  });

  const cases = [
    { name: 'the core code (clamp 1)', opts: {}, L: 9, S: 9 },
    { name: 'the time-series code (no clamp)', opts: { clamp: null }, L: 9, S: 9 },
    { name: "the vision code's outer eps, keys longer than queries", opts: { outerEps: 1e-6, clamp: 5 }, L: 6, S: 11 },
  ];
  for (const c of cases) {
    it(`= the tape's value and gradients of q, k and v: ${c.name}`, async () => {
      const rng = new Rng(21);
      const q = randn(rng, [2, 3, c.L, 4], 1.5);
      const k = randn(rng, [2, 3, c.S, 4], 1.5);
      const v = randn(rng, [2, 3, c.S, 5]);
      const w = randn(rng, [2, 3, c.L, 5]);
      const run = () => {
        const f = (a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => flowAttention(a, b, d, c.opts);
        const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(f(a, b, d), w)))([q, k, v]);
        return { y: f(q, k, v), value, grads };
      };
      const fused = run();
      const tape = withoutXlaKernels(run);
      expect(relDiff(fused.y, tape.y)).toBeLessThan(1e-6);
      fused.grads.forEach((g, i) => expect(relDiff(g, tape.grads[i]!), `gradient ${'qkv'[i]}`).toBeLessThan(1e-5));
      const profiled = await tf.profile(() => tf.dispose(run() as unknown as tf.Tensor[]));
      expect(profiled.kernelNames).toContain('Xla_flow_feature_grad');
      tf.dispose([q, k, v, w, fused.y, fused.value, ...fused.grads, tape.y, tape.value, ...tape.grads]);
    });
  }
});
