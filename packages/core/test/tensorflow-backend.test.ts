/**
 * The tensorflow backend (@tensorflow/tfjs-node built by `flowformer setup tensorflow`), when it
 * loads here: one Flow-Attention training step gives the same loss, gradients and updated
 * weights as wasm, and the trainer runs on it with a falling loss. When tfjs-node is absent the
 * suite is skipped and says "tensorflow backend not tested: ..." (CI with a wheel requires it).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { EVAL } from '../src/nn/module.ts';
import { Rng } from '../src/rng.ts';
import { FlowAttention } from '../src/attention/layer.ts';
import { train } from '../src/train/trainer.ts';
import { tensorflowForTests } from '../src/backend/tensorflow-setup.ts';
import { backendInfo } from '../src/backend/select.ts';
import { expectClose, initBackend, randomArray, shutdownBackend } from './helpers/backend.ts';
import './fixtures/toy-task.ts';

const haveTensorflow = tensorflowForTests();
const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowformer-tensorflow-'));
afterAll(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  await shutdownBackend();
});

const B = 2, L = 12, D = 16, H = 4;

/**
 * One SGD step (lr 0.1) of loss = sum(FlowAttention(x) * w) from fixed weights; returns the loss
 * before and after, every gradient and every updated weight, as host arrays.
 */
async function trainingStep(backend: 'wasm' | 'tensorflow', causal: boolean) {
  await initBackend(backend);
  const before = tf.memory().numTensors;
  const layer = new FlowAttention(new Rng(0), { dModel: D, nHeads: H, causal });
  // identical weights on both backends, independent of how each initialises
  const names = layer.trainableVariables().map((v) => v.name);
  tf.tidy(() => {
    layer.trainableVariables().forEach((v, i) => v.assign(tf.tensor(randomArray(v.size, 100 + i, 0.3), v.shape)));
  });
  const x = tf.tensor(randomArray(B * L * D, 1), [B, L, D]);
  const w = tf.tensor(randomArray(B * L * D, 2), [B, L, D]);
  const lossOf = () => tf.sum(tf.mul(layer.forward(x, EVAL), w)) as tf.Scalar;
  const vars = layer.trainableVariables();
  const { value, grads } = tf.variableGrads(lossOf, vars);
  const loss0 = value.dataSync()[0]!;
  const g = vars.map((v) => Float32Array.from(grads[v.name]!.dataSync()));
  tf.tidy(() => {
    for (const v of vars) v.assign(tf.sub(v, tf.mul(0.1, grads[v.name]!)));
  });
  const loss1 = tf.tidy(() => lossOf().dataSync()[0]!);
  const updated = vars.map((v) => Float32Array.from(v.dataSync()));
  tf.dispose([value, x, w, ...Object.values(grads)]);
  layer.dispose();
  expect(tf.memory().numTensors, `tensor leak on ${backend}`).toBe(before);
  return { loss0, loss1, g, updated, names };
}

describe.skipIf(!haveTensorflow)('tensorflow backend (tfjs-node)', () => {
  it('is what initBackend picks and names', async () => {
    const info = await initBackend('tensorflow');
    expect(info.backend).toBe('tensorflow');
    expect(tf.getBackend()).toBe('tensorflow');
    expect(backendInfo().versions.backendPackage).toMatch(/^@tensorflow\/tfjs-node@4\.22\.0$/);
  });

  it("loads whatever the command line holds: flags node-pre-gyp takes for its own (--dir, --target) do not send it astray", () => {
    // `flowformer bench data --dir cifar10/train` made tfjs-node look for its package.json under
    // cifar10/train/..., and auto fell back to wasm without a word.
    const script = path.join(here, 'fixtures/tensorflow-argv.ts');
    const r = spawnSync(process.execPath, ['--import', 'tsx', script, '--dir', 'cifar10/train', '--target', '1.0.0', '--debug'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toEqual({ backend: 'tensorflow', argv: ['--dir', 'cifar10/train', '--target', '1.0.0', '--debug'] });
  });

  it('a cast to the same dtype copies nothing (it shares the data); other casts convert', async () => {
    await initBackend('tensorflow');
    const x = tf.tensor1d([1.5, -2.25, 3]);
    const buffers = tf.memory().numDataBuffers;
    const y = tf.cast(x, 'float32');
    expect(tf.memory().numDataBuffers).toBe(buffers); // the same buffer as x
    expect(y.dataId).toBe(x.dataId);
    const n = tf.cast(x, 'int32');
    expect(tf.memory().numDataBuffers).toBe(buffers + 1);
    expect(Array.from(n.dataSync())).toEqual([1, -2, 3]);
    x.dispose(); // the cast keeps the shared buffer alive
    expect(Array.from(y.dataSync())).toEqual([1.5, -2.25, 3]);
    tf.dispose([y, n]);
    expect(tf.memory().numDataBuffers).toBe(buffers - 1);
    // the gradient of a same-dtype cast is dy
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.cast(a, 'float32'), 2)))(tf.tensor1d([1, 2]));
    expect(Array.from(g.dataSync())).toEqual([2, 2]);
  });

  it('a sum across rows is a product with ones: float64 sums to float32 rounding, every axis layout, keepDims, and its gradient', async () => {
    await initBackend('tensorflow');
    const shape = [6, 40, 8, 50];
    const values = randomArray(shape.reduce((a, b) => a * b, 1), 3);
    const x = tf.tensor(values, shape);
    // reference: float64 sums over the axes
    const reference = (axes: number[]) => {
      const keep = shape.map((_, i) => !axes.includes(i));
      const outShape = shape.filter((_, i) => keep[i]);
      const out = new Float64Array(outShape.reduce((a, b) => a * b, 1));
      const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
      for (let flat = 0; flat < values.length; flat++) {
        let o = 0;
        for (let i = 0; i < shape.length; i++) if (keep[i]) o = o * shape[i]! + (Math.floor(flat / strides[i]!) % shape[i]!);
        out[o]! += values[flat]!;
      }
      return { out, outShape };
    };
    for (const axes of [[0], [0, 1], [1], [1, 2], [0, 1, 2], [3], [2, 3], [0, 2], [0, 3]]) {
      const { out, outShape } = reference(axes);
      const y = tf.sum(x, axes);
      expect(y.shape, `axes ${axes}`).toEqual(outShape);
      expectClose(y.dataSync(), out, 1e-5, 1e-5, `sum over axes ${axes}`);
      expect(tf.sum(x, axes, true).shape).toEqual(shape.map((d, i) => (axes.includes(i) ? 1 : d)));
      y.dispose();
    }
    // across rows by the product, along the last axis (and through it) by the reduction
    const kernelsOf = async (axes: number[]) => (await tf.profile(() => tf.sum(x, axes))).kernelNames;
    expect(await kernelsOf([0, 1])).toContain('BatchMatMul');
    expect(await kernelsOf([1, 2])).toContain('BatchMatMul');
    expect(await kernelsOf([3])).not.toContain('BatchMatMul');
    expect(await kernelsOf([0, 2])).not.toContain('BatchMatMul');
    // the gradient of a sum broadcasts dy back, whatever computed the sum
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.sum(a, [0, 1]), tf.range(0, 400).reshape([8, 50]))))(x);
    expect(Array.from(g.slice([5, 39, 7, 48], [1, 1, 1, 2]).dataSync())).toEqual([398, 399]);
    tf.dispose([x, g]);
  });

  for (const causal of [false, true]) {
    it(`one Flow-Attention SGD step${causal ? ' (causal)' : ''} equals wasm's: loss, gradients, updated weights`, async () => {
      const ref = await trainingStep('wasm', causal);
      const tfn = await trainingStep('tensorflow', causal);
      expect(tfn.loss1).toBeLessThan(tfn.loss0);
      expectClose([tfn.loss0, tfn.loss1], [ref.loss0, ref.loss1], 1e-4, 1e-4, 'loss before/after');
      for (let i = 0; i < ref.g.length; i++) {
        expectClose(tfn.g[i]!, ref.g[i]!, 1e-3, 1e-4, `grad ${ref.names[i]}`);
        expectClose(tfn.updated[i]!, ref.updated[i]!, 1e-4, 1e-5, `updated ${ref.names[i]}`);
      }
    });
  }

  it('the trainer runs on it: loss falls and the run records the backend', async () => {
    await initBackend('tensorflow');
    const losses: number[] = [];
    const s = await train({
      configPath: path.join(here, 'fixtures/toy/configs/toy/blobs/mlp.yaml'),
      resultsRoot: tmp,
      progress: false,
      log: () => {},
      stopAtStep: 15,
      onStep: ({ loss }) => losses.push(loss),
    });
    expect(losses.length).toBe(15);
    expect(losses.every(Number.isFinite)).toBe(true);
    const mean = (a: number[]) => a.reduce((p, q) => p + q, 0) / a.length;
    expect(mean(losses.slice(-3))).toBeLessThan(mean(losses.slice(0, 3)));
    const summary = JSON.parse(fs.readFileSync(path.join(s.runDir, 'summary.json'), 'utf8')) as { backend: string };
    expect(summary.backend).toBe('tensorflow');
  });
});
