import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlowAttention, initBackend, Rng, shutdownBackend, tf } from '@flowformer/core';
import { LraClassifier, type LraClassifierArgs } from '../src/model.ts';
import { LraSplit } from '../src/data/splits.ts';

const E = 16;
const base = (over: Partial<LraClassifierArgs> = {}): LraClassifierArgs => ({
  vocabSize: 20,
  maxLength: 24,
  numClasses: 5,
  embDim: E,
  nLayers: 1,
  mlpDim: 32,
  dropout: 0,
  pool: 'cls',
  positions: 'sinusoidal',
  maskPadding: true,
  dual: false,
  attention: (r) => new FlowAttention(r, { dModel: 8, nHeads: 2, dInput: E, dOutput: E }),
  ...over,
});
const seqs = [
  [3, 4, 5, 6, 7],
  [8, 9, 10],
  [11, 12, 13, 14, 15, 16, 17],
].map((s) => Uint8Array.from(s));
const split = (L: number, second = false) =>
  new LraSplit({ seqs, offset: 0 }, Int32Array.from([0, 1, 2]), L, second ? { seqs: seqs.slice().reverse(), offset: 0 } : undefined);
const all = Int32Array.from([0, 1, 2]);

beforeAll(async () => {
  await initBackend((process.env.FLOWFORMER_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'wasm');
});
afterAll(async () => {
  await shutdownBackend();
});

describe('LRA classifier', () => {
  it('gives [B, classes] logits; with the padding mask, extra padding changes nothing (CLS pooling)', () => {
    const m = new LraClassifier(new Rng(1), base());
    const a = split(8).batch(all);
    const b = split(20).batch(all);
    const la = m.forward(a, { training: false });
    const lb = m.forward(b, { training: false });
    expect(la.shape).toEqual([3, 5]);
    const da = la.dataSync();
    const db = lb.dataSync();
    for (let i = 0; i < da.length; i++) expect(db[i]!).toBeCloseTo(da[i]!, 4);
    // Without the mask, padding takes part in the flows (the LRA code): the output moves.
    const n = new LraClassifier(new Rng(1), base({ maskPadding: false }));
    const na = n.forward(a, { training: false }).dataSync();
    const nb = n.forward(b, { training: false }).dataSync();
    expect(Math.max(...Array.from(na, (v, i) => Math.abs(v - nb[i]!)))).toBeGreaterThan(1e-4);
    for (const t of [la, lb, ...a.tensors, ...b.tensors]) t.dispose();
    m.dispose();
    n.dispose();
  });

  it('mean pooling and learned positions; dual encoder with the concat head', () => {
    const before = tf.memory().numTensors;
    const m = new LraClassifier(new Rng(2), base({ pool: 'mean', positions: 'learned', numClasses: 2 }));
    expect(m.namedParams().some((p) => p.name === 'cls')).toBe(false);
    const b = split(10).batch(all);
    const l = m.forward(b, { training: false });
    expect(l.shape).toEqual([3, 2]);
    l.dispose();
    b.tensors.forEach((t) => t.dispose());
    m.dispose();
    const d = new LraClassifier(new Rng(3), base({ dual: true, numClasses: 2 }));
    // Head: Dense(2E -> mlp) -> Dense(mlp -> mlp/2) -> Dense(mlp/2 -> 2); no CLS parameter.
    expect(d.head.map((h) => [h.inFeatures, h.outFeatures])).toEqual([[2 * E, 32], [32, 16], [16, 2]]);
    expect(d.namedParams().some((p) => p.name === 'cls')).toBe(false);
    const pb = split(10, true).batch(all);
    const pl = d.forward(pb, { training: false });
    expect(pl.shape).toEqual([3, 2]);
    pl.dispose();
    pb.tensors.forEach((t) => t.dispose());
    d.dispose();
    expect(tf.memory().numTensors).toBe(before); // no leaks
  });

  it('learns a tiny task: the loss falls', () => {
    // Label = the first token's class; 3 sequences, a few Adam-like steps with plain SGD.
    const m = new LraClassifier(new Rng(4), base({ numClasses: 3 }));
    const s = split(8);
    const vars = m.trainableVariables();
    const losses: number[] = [];
    const opt = tf.train.adam(0.02);
    for (let step = 0; step < 20; step++) {
      const b = s.batch(all);
      const loss = opt.minimize(() => m.loss(b, { training: false }), true, vars) as tf.Scalar;
      losses.push(loss.dataSync()[0]!);
      loss.dispose();
      b.tensors.forEach((t) => t.dispose());
    }
    expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]!);
    opt.dispose();
    m.dispose();
  });
});
