import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkGradients, initBackend, Rng, shutdownBackend, tf, type AttentionConfig } from '@flowformer/core';
import { countParams, DeiT, dropPathRates, flowMaps, HierarchicalFlowformer } from '../src/index.ts';
import type { ImageBatch } from '../src/data/split.ts';

beforeAll(async () => {
  await initBackend((process.env.FLOWFORMER_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'wasm');
});
afterAll(async () => {
  await shutdownBackend();
});

const FLOW: AttentionConfig = { type: 'flow', clamp: 1 };
const SOFTMAX: AttentionConfig = { type: 'softmax' };
const tinyFlowformer = (attention: AttentionConfig, imageSize = 32) =>
  new HierarchicalFlowformer(new Rng(1), { imageSize, numClasses: 7, patchSize: 4, dims: [8, 16, 24, 32], depths: [1, 2, 1, 1], heads: [2, 2, 4, 4], mlpRatio: 4, dropPath: 0.2, layerScale: 1e-5, dropout: 0, attention, labelSmoothing: 0.1 });
const tinyDeit = (attention: AttentionConfig) =>
  new DeiT(new Rng(2), { imageSize: 32, numClasses: 7, patchSize: 8, dim: 24, depth: 2, heads: 3, mlpRatio: 4, dropPath: 0.1, dropout: 0, attention, labelSmoothing: 0.1 });

function images(B: number, S: number, seed: number): tf.Tensor4D {
  const r = new Rng(seed);
  return tf.tensor4d(Float32Array.from({ length: B * S * S * 3 }, () => r.normal()), [B, S, S, 3]);
}

describe('model sizes', () => {
  it('the paper-size models: four-stage Flowformer 43.31M (printed), DeiT-S 22.05M; the formula equals numParams() of built models', () => {
    const flow224 = countParams('flowformer', { imageSize: 224, numClasses: 1000, patchSize: 4, dims: [96, 192, 384, 768], depths: [3, 3, 10, 3], heads: [12, 12, 12, 12], mlpRatio: 4, layerScale: 1e-5 });
    const deitS = countParams('deit', { imageSize: 224, numClasses: 1000, patchSize: 16, dim: 384, depth: 12, heads: 6, mlpRatio: 4 });
    console.log(`four-stage Flowformer at 224: ${flow224.toLocaleString('en')} parameters; DeiT-S: ${deitS.toLocaleString('en')}`);
    // Both equal numParams() of the models built at full size (checked once; a 224 build takes a minute in JS).
    expect(flow224).toBe(43_311_304);
    expect(deitS).toBe(22_050_664);
    for (const att of [FLOW, SOFTMAX]) {
      const f = tinyFlowformer(att);
      expect(f.numParams()).toBe(countParams('flowformer', { imageSize: 32, numClasses: 7, patchSize: 4, dims: [8, 16, 24, 32], depths: [1, 2, 1, 1], heads: [2, 2, 4, 4], mlpRatio: 4, layerScale: 1e-5 }));
      f.dispose();
      const d = tinyDeit(att);
      expect(d.numParams()).toBe(countParams('deit', { imageSize: 32, numClasses: 7, patchSize: 8, dim: 24, depth: 2, heads: 3, mlpRatio: 4 }));
      d.dispose();
    }
  });

  it('init and decay groups as the original: trunc-normal Linears with zero bias, no decay on norms, biases, LayerScale, positions, CLS', () => {
    const f = tinyFlowformer(FLOW);
    const params = new Map(f.namedParams().map((p) => [p.name, p]));
    expect(params.get('posEmbed')!.decay).toBe(false);
    expect(params.get('stage0.0.ls2.gamma')!.decay).toBe(false);
    expect(params.has('stage0.0.ls1.gamma')).toBe(false); // LayerScale on the MLP branch only
    expect(Array.from(params.get('stage0.0.ls2.gamma')!.variable.dataSync()).every((v) => Math.abs(v - 1e-5) < 1e-12)).toBe(true);
    expect(tf.tidy(() => tf.max(tf.abs(params.get('stage0.0.attn.query.bias')!.variable))).dataSync()[0]).toBe(0);
    const std = tf.tidy(() => tf.moments(params.get('stage2.0.mlp.fc1.kernel')!.variable).variance.sqrt()).dataSync()[0]!;
    expect(std).toBeGreaterThan(0.015);
    expect(std).toBeLessThan(0.022);
    for (const [name, p] of params) if (/(bias|weight|gamma|posEmbed)$/.test(name)) expect(p.decay, name).toBe(false);
    expect(dropPathRates(5, 0.2)).toEqual([0, 0.05, 0.1, 0.15000000000000002, 0.2]);
    f.dispose();
    const d = tinyDeit(FLOW);
    expect(d.namedParams().find((p) => p.name === 'clsToken')!.decay).toBe(false);
    d.dispose();
  });
});

describe('forward, loss and gradients', () => {
  for (const [name, make] of [
    ['flowformer+flow', () => tinyFlowformer(FLOW)],
    ['flowformer+softmax', () => tinyFlowformer(SOFTMAX)],
    ['deit+flow', () => tinyDeit(FLOW)],
    ['deit+softmax', () => tinyDeit(SOFTMAX)],
  ] as const) {
    it(`${name}: logits [B, classes], finite loss on soft and hard targets, no leak`, () => {
      const m = make();
      const before = tf.memory().numTensors;
      const x = images(3, 32, 5);
      const labels = tf.tensor1d([0, 3, 6], 'int32');
      const targets = tf.tidy(() => tf.oneHot(labels, 7).toFloat()) as tf.Tensor2D;
      const logits = m.forward(x, { training: false });
      expect(logits.shape).toEqual([3, 7]);
      const hard = m.loss({ size: 3, x, labels, targets: null, tensors: [] } as ImageBatch, { training: true, rng: new Rng(3) });
      const soft = m.loss({ size: 3, x, labels, targets, tensors: [] } as ImageBatch, { training: false });
      expect(Number.isFinite(hard.dataSync()[0])).toBe(true);
      // a freshly initialised head gives near-uniform logits: loss ~ ln 7
      expect(soft.dataSync()[0]).toBeCloseTo(Math.log(7), 0);
      tf.dispose([x, labels, targets, logits, hard, soft]);
      expect(tf.memory().numTensors).toBe(before);
      m.dispose();
    });
  }

  it('flowformer+flow: finite-difference gradients of the loss (patch embedding, an attention, the LayerScale, the head)', () => {
    const m = tinyFlowformer(FLOW, 32);
    const x = images(2, 32, 8);
    const labels = tf.tensor1d([1, 4], 'int32');
    const batch = { size: 2, x, labels, targets: null, tensors: [] } as unknown as ImageBatch;
    const byName = new Map(m.namedParams().map((p) => [p.name, p.variable]));
    const vars = ['patchEmbed.kernel', 'stage0.0.attn.key.kernel', 'stage2.0.ls2.gamma', 'down1.kernel', 'head.kernel'].map((n) => byName.get(n)!);
    const r = checkGradients(() => m.loss(batch, { training: false }), vars, { h: 1e-2, directions: 3 });
    console.log(`gradient check: analytic ${r.analytic.map((v) => v.toFixed(5))} numeric ${r.numeric.map((v) => v.toFixed(5))}`);
    expect(r.maxRelError).toBeLessThan(2e-2);
    tf.dispose([x, labels]);
    m.dispose();
  });
});

describe('DeiT gradients', () => {
  it('deit+flow: finite-difference gradients (patch embedding, CLS token, positions, an attention, the head)', () => {
    const m = tinyDeit(FLOW);
    const x = images(2, 32, 12);
    const labels = tf.tensor1d([2, 5], 'int32');
    const batch = { size: 2, x, labels, targets: null, tensors: [] } as unknown as ImageBatch;
    const byName = new Map(m.namedParams().map((p) => [p.name, p.variable]));
    const vars = ['patchEmbed.kernel', 'clsToken', 'posEmbed', 'blocks.1.attn.value.kernel', 'head.kernel'].map((n) => byName.get(n)!);
    const r = checkGradients(() => m.loss(batch, { training: false }), vars, { h: 1e-2, directions: 3 });
    expect(r.maxRelError).toBeLessThan(2e-2);
    tf.dispose([x, labels]);
    m.dispose();
  });
});

describe('attention maps from the flow quantities', () => {
  it('the flow to a query, summed against the values, equals the Flow-Attention output (flow and softmax, flowformer and DeiT)', () => {
    for (const make of [() => tinyFlowformer(FLOW), () => tinyFlowformer(SOFTMAX), () => tinyDeit(FLOW), () => tinyDeit(SOFTMAX)]) {
      const m = make();
      const x = images(1, 32, 11);
      const before = tf.memory().numTensors;
      const maps = flowMaps(m, x, m instanceof DeiT ? { block: 1 } : { stage: 0, block: 0, query: [2, 5] });
      expect(tf.memory().numTensors).toBe(before);
      expect(maps.toQuery.length).toBe(maps.heads);
      expect(maps.toQuery[0]!.length).toBe(maps.gridH * maps.gridW);
      let err = 0;
      let scale = 0;
      maps.check.core.forEach((v, i) => {
        err = Math.max(err, Math.abs(v - maps.check.fromFlow[i]!));
        scale = Math.max(scale, Math.abs(v));
      });
      expect(err / scale).toBeLessThan(1e-4);
      if (maps.kind === 'flow') {
        // sourceCompetition sums to the number of sources over all tokens (image tokens here, plus CLS for DeiT)
        const s = maps.competition[0]!.reduce((a, b) => a + b, 0);
        expect(s).toBeLessThanOrEqual(maps.gridH * maps.gridW + maps.prefix + 1e-3);
        expect(s).toBeGreaterThan(0.5 * maps.gridH * maps.gridW);
      }
      if (!(m instanceof DeiT)) expect(maps.queryToken).toBe(2 * 8 + 5);
      x.dispose();
      m.dispose();
    }
  });
});
