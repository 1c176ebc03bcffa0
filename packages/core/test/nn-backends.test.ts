/**
 * The layers, blocks and baseline attentions on the wasm backend (with our registered
 * kernels, through initBackend) against the cpu backend: same seeds give the same weights
 * (initialisers draw in JavaScript), so forward outputs and every gradient must agree.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { Rng } from '../src/rng.ts';
import { EVAL, type Module } from '../src/nn/module.ts';
import { EncoderBlock } from '../src/attention/blocks.ts';
import { Conv2d } from '../src/nn/conv2d.ts';
import { Embedding } from '../src/nn/embedding.ts';
import { MLP } from '../src/nn/mlp.ts';
import { attentionFactory, buildAttention, getAttention, listAttentions } from '../src/attention/registry.ts';
import { initBackend, shutdownBackend } from './helpers/backend.ts';
import { randn } from './helpers/random.ts';

afterAll(async () => {
  await shutdownBackend();
});

interface Case {
  name: string;
  /** Builds the module and returns the loss of one forward pass (inputs built inside from a seed). */
  make: () => { module: Module; loss: (x: tf.Variable) => tf.Scalar; input: () => tf.Tensor };
}

function lossOf(y: tf.Tensor, seed: number): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.mul(y, randn(new Rng(seed), y.shape))) as tf.Scalar);
}

const cases: Case[] = [];
for (const info of listAttentions()) {
  for (const causal of [false, true]) {
    if (causal && !getAttention(info.type).causal) continue;
    const options: Record<string, unknown> = info.type === 'reformer' ? { nHashes: 2, bucketSize: 4 } : info.type === 'performer' ? { nbFeatures: 24 } : {};
    // A chunk length that does not divide L, so the causal forms cross chunk boundaries.
    if (info.options.some((o) => o.name === 'chunkSize')) options.chunkSize = 5;
    cases.push({
      name: `${info.type}${causal ? ' causal' : ''}`,
      make: () => {
        const module = buildAttention(new Rng(1), { dModel: 16, nHeads: 2, causal }, { type: info.type, ...options });
        return { module, input: () => randn(new Rng(2), [2, 12, 16]), loss: (x) => lossOf(module.forward(x, EVAL), 3) };
      },
    });
  }
}
cases.push({
  name: 'pre-LN block (flow, GELU MLP, LayerScale)',
  make: () => {
    const module = new EncoderBlock(new Rng(1), {
      dModel: 16,
      attention: attentionFactory({ dModel: 16, nHeads: 2 }, { type: 'flow' }),
      mlpHidden: 32,
      norm: 'pre',
      layerScale: { init: 0.1, branches: 'both' },
    });
    return { module, input: () => randn(new Rng(2), [2, 6, 16]), loss: (x) => lossOf(module.forward(x, EVAL), 3) };
  },
});
cases.push({
  name: 'Conv2d patch path and general path',
  make: () => {
    const a = new Conv2d(new Rng(1), { inChannels: 3, outChannels: 8, kernelSize: 4, stride: 4 });
    const b = new Conv2d(new Rng(2), { inChannels: 8, outChannels: 4, kernelSize: 3, padding: 1 });
    const module = { namedParams: () => [...a.namedParams('a.'), ...b.namedParams('b.')], dispose: () => (a.dispose(), b.dispose()) } as unknown as Module;
    return { module, input: () => randn(new Rng(2), [2, 8, 8, 3]), loss: (x) => lossOf(b.forward(a.forward(x)), 3) };
  },
});
cases.push({
  name: 'Embedding (gather gradient) + MLP',
  make: () => {
    const emb = new Embedding(new Rng(1), { numEmbeddings: 50, dim: 8 });
    const mlp = new MLP(new Rng(2), { inFeatures: 8, hiddenFeatures: 16, activation: 'gelu_tanh' });
    const module = { namedParams: () => [...emb.namedParams('emb.'), ...mlp.namedParams('mlp.')], dispose: () => (emb.dispose(), mlp.dispose()) } as unknown as Module;
    const ids = () => tf.tensor2d([[1, 7, 7, 49], [0, 3, 1, 1]], [2, 4], 'int32');
    return {
      module,
      input: () => randn(new Rng(2), [2, 4, 8]),
      loss: (x) => lossOf(tf.add(mlp.forward(emb.forward(ids()), EVAL), x), 3),
    };
  },
});

async function run(backend: 'cpu' | 'wasm', c: Case): Promise<Record<string, Float32Array>> {
  await initBackend(backend);
  const { module, loss, input } = c.make();
  const x = tf.variable(input());
  const vars = [x, ...module.namedParams().filter((p) => p.trainable).map((p) => p.variable)];
  const names = ['input', ...module.namedParams().filter((p) => p.trainable).map((p) => p.name)];
  const before = tf.memory().numTensors;
  const { value, grads } = tf.variableGrads(() => loss(x), vars);
  const out: Record<string, Float32Array> = { loss: Float32Array.from(value.dataSync()) };
  vars.forEach((v, i) => (out[`grad ${names[i]}`] = Float32Array.from(grads[v.name]!.dataSync())));
  tf.dispose([value, ...Object.values(grads)]);
  expect(tf.memory().numTensors, `tensor leak on ${backend}`).toBe(before);
  x.dispose();
  module.dispose();
  return out;
}

const norm = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0));
/**
 * ||a - b|| / max(||b||, floor). The floor (1e-2 of the input gradient's norm) covers
 * gradients that are zero in exact arithmetic, e.g. a softmax key bias (it shifts each row
 * of logits by a constant), whose float32 values are rounding noise on both backends.
 * The loss (a sum of outputs times random signs, which may nearly cancel) gets floor 1.
 */
const rel = (a: Float32Array, b: Float32Array, floor: number) => {
  let num = 0;
  for (let i = 0; i < a.length; i++) num += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(num) / Math.max(norm(b), floor, 1e-30);
};

describe('wasm agrees with cpu (forward loss and every gradient)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const cpu = await run('cpu', c);
      const wasm = await run('wasm', c);
      const floor = 1e-2 * norm(cpu['grad input']!);
      const errors = Object.keys(cpu).map((k) => [k, rel(wasm[k]!, cpu[k]!, k === 'loss' ? 1 : floor)] as const);
      for (const [k, e] of errors) expect(e, `${c.name}: ${k} (all: ${errors.map(([n, v]) => `${n} ${v.toExponential(1)}`).join(', ')})`).toBeLessThan(1e-4);
    });
  }
});
