/**
 * The language model: the recurrent (one token at a time) form used for generation gives the
 * same logits as re-running the full prefix; the loss is the masked mean cross-entropy; the
 * model scores through the perplexity evaluator; no tensor leaks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attentionFactory, checkGradients, initBackend, Rng, shutdownBackend, tf, variableGrads } from '@flowformer/core';
import { tensorflowForTests } from '@flowformer/core/backend';
import { makeBatch, TokenStream } from '../src/data/blocks.ts';
import { evaluatePerplexity } from '../src/eval.ts';
import { generate, sampleLogits } from '../src/generate.ts';
import { TransformerLM } from '../src/model.ts';

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(async () => {
  await shutdownBackend();
});

const V = 29;
function tiny(type: 'flow' | 'softmax', positions: 'sinusoidal' | 'learned' = 'sinusoidal', seed = 1): TransformerLM {
  const attention = attentionFactory({ dModel: 32, nHeads: 4, causal: true }, type === 'flow' ? { type: 'flow', clamp: 5 } : { type: 'softmax' });
  return new TransformerLM(new Rng(seed), {
    vocabSize: V,
    dModel: 32,
    nLayers: 2,
    nHeads: 4,
    ffnDim: 64,
    dropout: 0.1,
    activation: 'relu',
    positions,
    maxPositions: 64,
    scaleEmbedding: positions === 'sinusoidal',
    init: positions === 'sinusoidal' ? 'fairseq' : 'gpt2',
    padId: 1,
    attention,
  });
}

describe('TransformerLM', () => {
  for (const [type, positions] of [
    ['flow', 'sinusoidal'],
    ['softmax', 'learned'],
  ] as const) {
    it(`recurrent step logits equal the full-prefix logits (${type}, ${positions} positions)`, () => {
      const model = tiny(type, positions);
      const rng = new Rng(7);
      const L = 20;
      const ids = Int32Array.from({ length: L }, () => 2 + rng.int(V - 2));
      const before = tf.memory().numTensors;
      const full = tf.tidy(() => model.logits(tf.tensor2d(ids, [1, L], 'int32'), { training: false }).arraySync()[0]!);
      let state = model.initState(1);
      let maxErr = 0;
      let maxAbs = 0;
      const stateSize = (s: typeof state) =>
        s.layers.reduce<number>((n, l) => n + Object.values(l as Record<string, tf.Tensor | null>).reduce((m, x) => m + (x ? x.size : 0), 0), 0);
      const sizes: number[] = [];
      for (let t = 0; t < L; t++) {
        const x = tf.tensor1d([ids[t]!], 'int32');
        const r = model.step(x, state);
        x.dispose();
        state = r.state;
        sizes.push(stateSize(state));
        const got = r.logits.arraySync()[0]!;
        r.logits.dispose();
        for (let v = 0; v < V; v++) {
          maxErr = Math.max(maxErr, Math.abs(got[v]! - full[t]![v]!));
          maxAbs = Math.max(maxAbs, Math.abs(full[t]![v]!));
        }
      }
      model.disposeState(state);
      // Flow-Attention's recurrent state has a fixed size (O(1) per token); softmax's cache grows with t.
      if (type === 'flow') expect(new Set(sizes).size).toBe(1);
      else expect(sizes[L - 1]).toBeGreaterThan(sizes[0]!);
      expect(maxAbs).toBeGreaterThan(0.1);
      expect(maxErr).toBeLessThan(2e-4 * Math.max(1, maxAbs));
      expect(state.position).toBe(L);
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    });
  }

  it('loss is the mean cross-entropy over unmasked targets', () => {
    const model = tiny('flow');
    const batch = makeBatch(
      [
        { input: Int32Array.from([2, 5, 6, 7]), target: Int32Array.from([5, 6, 7, 8]) },
        { input: Int32Array.from([9, 3]), target: Int32Array.from([3, 2]) },
      ],
      1,
    );
    const loss = model.loss(batch, { training: false });
    // Direct: log-softmax of the logits at the six real targets.
    const logits = model.logits(batch.input, { training: false }).arraySync();
    const tg = batch.target.arraySync();
    const mk = batch.mask.arraySync();
    let sum = 0;
    let n = 0;
    logits.forEach((row, b) =>
      row.forEach((l, t) => {
        if (!mk[b]![t]) return;
        const m = Math.max(...l);
        sum += m + Math.log(l.reduce((a, x) => a + Math.exp(x - m), 0)) - l[tg[b]![t]!]!;
        n++;
      }),
    );
    expect(n).toBe(6);
    expect(loss.dataSync()[0]!).toBeCloseTo(sum / n, 4);
    loss.dispose();
    batch.tensors.forEach((t) => t.dispose());
    model.dispose();
  });

  it('loss gradients (embedding gather, tied projection, flow attention) match finite differences', () => {
    const model = tiny('flow');
    const batch = makeBatch(
      [
        { input: Int32Array.from([2, 5, 6, 7, 5]), target: Int32Array.from([5, 6, 7, 8, 2]) },
        { input: Int32Array.from([9, 3]), target: Int32Array.from([3, 2]) },
      ],
      1,
    );
    const params = model.namedParams();
    const pick = (name: string) => params.find((p) => p.name === name)!.variable;
    const vars = [pick('embed.weight'), pick('blocks.0.attn.query.kernel'), pick('blocks.0.mlp.fc1.kernel'), pick('lnFinal.weight')];
    const r = checkGradients(() => model.loss(batch, { training: false }), vars, { directions: 3, h: 1e-2 });
    expect(r.maxRelError).toBeLessThan(2e-2);
    batch.tensors.forEach((t) => t.dispose());
    model.dispose();
  });

  it('loss and gradients through the trainer\'s backward pass are the same on tensorflow as on wasm (softmax and flow)', async () => {
    // The trainer's backward pass frees the forward scope's tensors; on tensorflow a reshape is a
    // tensor of its own, so a gradient that reads a freed one fails there and not on wasm.
    if (!tensorflowForTests()) return;
    const batch = () =>
      makeBatch(
        [
          { input: Int32Array.from([2, 5, 6, 7, 5, 11]), target: Int32Array.from([5, 6, 7, 8, 2, 3]) },
          { input: Int32Array.from([9, 3, 4]), target: Int32Array.from([3, 2, 4]) },
        ],
        1,
      );
    const run = async (backend: 'wasm' | 'tensorflow', type: 'flow' | 'softmax') => {
      await initBackend(backend);
      const model = tiny(type, 'learned');
      const b = batch();
      const params = model.namedParams();
      const nameOf = new Map(params.map((p) => [p.variable.name, p.name]));
      const { value, grads } = variableGrads(() => model.loss(b, { training: false }), params.map((p) => p.variable));
      const out = { loss: value.dataSync()[0]!, grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [nameOf.get(k)!, Array.from(g.dataSync())])) };
      tf.dispose([value, ...Object.values(grads), ...b.tensors]);
      model.dispose();
      return out;
    };
    try {
      for (const type of ['softmax', 'flow'] as const) {
        const a = await run('wasm', type);
        const t = await run('tensorflow', type);
        expect(t.loss).toBeCloseTo(a.loss, 5);
        expect(Object.keys(t.grads).sort()).toEqual(Object.keys(a.grads).sort());
        for (const [k, g] of Object.entries(a.grads)) {
          const scale = Math.max(1e-3, ...g.map(Math.abs));
          t.grads[k]!.forEach((x, i) => expect(Math.abs(x - g[i]!) / scale, k).toBeLessThan(1e-4));
        }
      }
    } finally {
      await initBackend('wasm');
    }
  });

  it('scores through the perplexity evaluator, skipping unscored positions the same way', () => {
    const model = tiny('flow');
    const rng = new Rng(5);
    const stream = new TokenStream(Int32Array.from({ length: 50 }, () => 2 + rng.int(V - 2)), 2);
    const args = { tokensPerSample: 16, contextWindow: 10, batchSize: 2, padId: 1 };
    const a = evaluatePerplexity((x, from) => model.logits(x, { training: false }, from), stream, args);
    const b = evaluatePerplexity((x) => model.logits(x, { training: false }), stream, args);
    expect(a.tokens).toBe(50);
    expect(a.nll).toBeCloseTo(b.nll, 5);
    expect(a.ppl).toBeGreaterThan(1);
    model.dispose();
  });

  it('generates with temperature and top-k from the recurrent state', () => {
    const model = tiny('flow');
    const before = tf.memory().numTensors;
    const out = generate(model, [2, 5, 6], { tokens: 10, temperature: 0.8, topK: 5, rng: new Rng(1), forbidden: [0, 1] });
    expect(out.length).toBe(10);
    for (const id of out) expect(id >= 2 && id < V).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    // Same seed, same text.
    expect(Array.from(generate(model, [2, 5, 6], { tokens: 10, temperature: 0.8, topK: 5, rng: new Rng(1), forbidden: [0, 1] }))).toEqual(Array.from(out));
    // top-1 is greedy.
    const l = Float32Array.from([0.1, 3, 2, -1]);
    expect(sampleLogits(l, 1, 1, new Rng(0))).toBe(1);
    expect(sampleLogits(l, 1, 2, new Rng(0), [1])).toBe(2);
    model.dispose();
  });
});
