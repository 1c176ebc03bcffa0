/**
 * One whole training step (forward, backward, AdamW update) of three small models, on the
 * wasm and the cpu backends from the same weights and data: the updated weights must agree
 * to 1e-4 relative. This is what proves our wasm kernels (segment sums for embeddings, conv
 * backprop, the re-registered BatchMatMul, the Cumsum gradient) are fit for training, not
 * only each op alone.
 *
 *   encoder classifier: embedding + sinusoidal positions + pre-LN block (Flow-Attention,
 *                       key padding) + mean pool + linear head
 *   causal decoder LM:  embedding + positions + causal pre-LN block (causal Flow-Attention,
 *                       chunked) + tied output projection, next-token cross-entropy
 *   conv-patch vision:  4x4/4 patch conv + 3x3/1 conv (padding 1) + pre-LN block + head
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { Rng } from '../src/rng.ts';
import { Module, type ForwardContext } from '../src/nn/module.ts';
import { Dense } from '../src/nn/dense.ts';
import { Embedding, SinusoidalPositions } from '../src/nn/embedding.ts';
import { Conv2d } from '../src/nn/conv2d.ts';
import { EncoderBlock, DecoderBlock } from '../src/attention/blocks.ts';
import { attentionFactory } from '../src/attention/registry.ts';
import { crossEntropy } from '../src/train/loss.ts';
import { makeOptimizer } from '../src/train/optim.ts';
import { OptimizerSchema } from '../src/config/schema.ts';
import { initBackend, shutdownBackend, type BackendName } from '../src/backend/select.ts';
import { randomArray, randomInts } from './helpers/backend.ts';

const D = 32;
const HEADS = 4;
/** Dropout on, so that the seeded dropout masks are part of what must agree. */
const CTX = (): ForwardContext => ({ training: true, rng: new Rng(99) });

class EncoderClassifier extends Module {
  readonly emb: Embedding;
  readonly pos: SinusoidalPositions;
  readonly block: EncoderBlock;
  readonly head: Dense;
  constructor(rng: Rng) {
    super();
    this.emb = this.child('emb', new Embedding(rng, { numEmbeddings: 50, dim: D, paddingIdx: 0 }));
    this.pos = this.child('pos', new SinusoidalPositions({ dim: D, maxLen: 64, layout: 'interleaved' }));
    const attention = attentionFactory({ dModel: D, nHeads: HEADS }, { type: 'flow' });
    this.block = this.child('block', new EncoderBlock(rng, { dModel: D, attention, mlpHidden: 2 * D, norm: 'pre', dropout: 0.1 }));
    this.head = this.child('head', new Dense(rng, { inFeatures: D, outFeatures: 5 }));
  }
  loss(ids: tf.Tensor, mask: tf.Tensor, labels: tf.Tensor, ctx: ForwardContext): tf.Scalar {
    const x = this.pos.forward(this.emb.forward(ids)); // [B, L, D]
    const h = this.block.forward(x, ctx, { keyPaddingMask: mask }); // [B, L, D]
    const m = mask.expandDims(-1); // [B, L, 1]
    const pooled = tf.div(tf.sum(tf.mul(h, m), 1), tf.sum(m, 1)); // [B, D]
    return crossEntropy(this.head.forward(pooled), labels);
  }
}

class CausalLM extends Module {
  readonly emb: Embedding;
  readonly pos: SinusoidalPositions;
  readonly block: DecoderBlock;
  constructor(rng: Rng) {
    super();
    this.emb = this.child('emb', new Embedding(rng, { numEmbeddings: 40, dim: D }));
    this.pos = this.child('pos', new SinusoidalPositions({ dim: D, maxLen: 64, layout: 'concat' }));
    // chunk 5 does not divide L = 16: carried state and the ragged last chunk are both exercised
    const attention = attentionFactory({ dModel: D, nHeads: HEADS, causal: true }, { type: 'flow', clamp: 5, chunkSize: 5 });
    this.block = this.child('block', new DecoderBlock(rng, { dModel: D, attention, mlpHidden: 2 * D, activation: 'relu', dropout: 0.1 }));
  }
  loss(ids: tf.Tensor, ctx: ForwardContext): tf.Scalar {
    const [B, L] = ids.shape as [number, number];
    const inputs = ids.slice([0, 0], [B, L - 1]);
    const targets = ids.slice([0, 1], [B, L - 1]);
    const h = this.block.forward(this.pos.forward(this.emb.forward(inputs)), ctx); // [B, L-1, D]
    const logits = this.emb.project(h); // [B, L-1, V] (tied)
    return crossEntropy(logits.reshape([-1, 40]), targets.reshape([-1]));
  }
}

class ConvPatchVision extends Module {
  readonly patch: Conv2d;
  readonly mix: Conv2d;
  readonly block: EncoderBlock;
  readonly head: Dense;
  constructor(rng: Rng) {
    super();
    this.patch = this.child('patch', new Conv2d(rng, { inChannels: 3, outChannels: D, kernelSize: 4, stride: 4 }));
    this.mix = this.child('mix', new Conv2d(rng, { inChannels: D, outChannels: D, kernelSize: 3, stride: 1, padding: 1 }));
    const attention = attentionFactory({ dModel: D, nHeads: HEADS }, { type: 'flow' });
    this.block = this.child('block', new EncoderBlock(rng, { dModel: D, attention, mlpHidden: 2 * D, norm: 'pre', dropout: 0.1 }));
    this.head = this.child('head', new Dense(rng, { inFeatures: D, outFeatures: 10 }));
  }
  loss(images: tf.Tensor, labels: tf.Tensor, ctx: ForwardContext): tf.Scalar {
    const p = this.mix.forward(this.patch.forward(images)); // [B, 4, 4, D]
    const [B, h, w] = p.shape as [number, number, number, number];
    const x = this.block.forward(p.reshape([B, h * w, D]), ctx); // [B, 16, D]
    return crossEntropy(this.head.forward(tf.mean(x, 1)), labels);
  }
}

interface Case {
  name: string;
  build: (rng: Rng) => { module: Module; loss: () => tf.Scalar };
}

const CASES: Case[] = [
  {
    name: 'encoder classifier (embedding, Flow-Attention with padding)',
    build: (rng) => {
      const m = new EncoderClassifier(rng);
      const B = 4;
      const L = 12;
      const lengths = [12, 9, 5, 12];
      const ids = randomInts(B * L, 1, 1, 50);
      const mask = new Float32Array(B * L);
      lengths.forEach((n, b) => {
        for (let t = 0; t < L; t++) {
          if (t < n) mask[b * L + t] = 1;
          else ids[b * L + t] = 0;
        }
      });
      return {
        module: m,
        loss: () => m.loss(tf.tensor2d(ids, [B, L], 'int32'), tf.tensor2d(mask, [B, L]), tf.tensor1d(randomInts(B, 2, 0, 5), 'int32'), CTX()),
      };
    },
  },
  {
    name: 'causal decoder LM (tied embedding, chunked causal Flow-Attention)',
    build: (rng) => {
      const m = new CausalLM(rng);
      const B = 3;
      const L = 17;
      return { module: m, loss: () => m.loss(tf.tensor2d(randomInts(B * L, 3, 0, 40), [B, L], 'int32'), CTX()) };
    },
  },
  {
    name: 'conv-patch vision model (patch conv, 3x3 conv, Flow-Attention)',
    build: (rng) => {
      const m = new ConvPatchVision(rng);
      const B = 2;
      return {
        module: m,
        loss: () => m.loss(tf.tensor4d(randomArray(B * 16 * 16 * 3, 4), [B, 16, 16, 3]), tf.tensor1d(randomInts(B, 5, 0, 10), 'int32'), CTX()),
      };
    },
  },
];

/** Builds the model from seed 7 on `backend`, takes one AdamW step, returns every parameter after it. */
async function oneStep(backend: BackendName, c: Case): Promise<{ weights: Record<string, Float32Array>; loss: number }> {
  await initBackend(backend);
  const before = tf.memory().numTensors;
  const { module, loss } = c.build(new Rng(7));
  const params = module.namedParams();
  const nameOf = new Map(params.map((p) => [p.variable.name, p.name]));
  const opt = makeOptimizer(OptimizerSchema.parse({ type: 'adamw', lr: 1e-3, weightDecay: 0.01 }), params);
  const { value, grads } = tf.variableGrads(loss, params.filter((p) => p.trainable).map((p) => p.variable));
  const byParam: Record<string, tf.Tensor> = {};
  for (const [v, g] of Object.entries(grads)) byParam[nameOf.get(v)!] = g;
  opt.step(byParam, 1e-3);
  const lossValue = value.dataSync()[0]!;
  tf.dispose([value, ...Object.values(grads)]);
  const weights: Record<string, Float32Array> = {};
  for (const p of params) weights[p.name] = Float32Array.from(p.variable.dataSync() as Float32Array);
  opt.dispose?.();
  module.dispose();
  expect(tf.memory().numTensors, `tensor leak on ${backend}`).toBe(before);
  return { weights, loss: lossValue };
}

function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

afterAll(async () => {
  await shutdownBackend();
});

describe('one AdamW training step agrees on wasm and cpu (updated weights within 1e-4 relative)', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const cpu = await oneStep('cpu', c);
      const wasm = await oneStep('wasm', c);
      expect(Number.isFinite(cpu.loss)).toBe(true);
      expect(Math.abs(wasm.loss - cpu.loss) / Math.abs(cpu.loss)).toBeLessThan(1e-5);
      const names = Object.keys(cpu.weights);
      expect(Object.keys(wasm.weights)).toEqual(names);
      expect(names.length).toBeGreaterThan(5);
      for (const n of names) {
        expect(relErr(wasm.weights[n]!, cpu.weights[n]!), `${c.name}: parameter ${n}`).toBeLessThan(1e-4);
      }
    });
  }
});
