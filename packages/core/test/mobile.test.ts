import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { Rng } from '../src/rng.ts';
import { EVAL } from '../src/nn/module.ts';
import { checkGradients, relError } from '../src/nn/gradcheck.ts';
import { MobileAttention, mobileAttention } from '../src/attention/mobile.ts';
import { randn } from './helpers/random.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

type T4 = number[][][][];
const sig = (z: number) => 1 / (1 + Math.exp(-z));

/**
 * Scalar loops in float64 over the published Mobile_Attention forward (thuml/MobileAttention),
 * one index at a time: a hand-written check independent of our tensor formulation.
 */
function handMobile(qr: T4, kr: T4, vr: T4, eps = 1e-6): T4 {
  const B = qr.length, H = qr[0]!.length, L = qr[0]![0]!.length, D = qr[0]![0]![0]!.length;
  const out: T4 = [];
  for (let b = 0; b < B; b++) {
    const q = qr[b]!.map((h) => h.map((r) => r.map(sig)));
    const k = kr[b]!.map((h) => h.map((r) => r.map(sig)));
    const v = vr[b]!;
    const sumH = (x: number[][][], l: number, d: number, w?: number[][]) => {
      let s = 0;
      for (let h = 0; h < H; h++) s += x[h]![l]![d]! * (w ? w[h]![l]! : 1);
      return s;
    };
    const inc: number[][] = [], outg: number[][] = [];
    for (let h = 0; h < H; h++) {
      inc.push([]);
      outg.push([]);
      for (let l = 0; l < L; l++) {
        let a = 0, c = 0;
        for (let d = 0; d < D; d++) {
          a += (q[h]![l]![d]! + eps) * (sumH(k, l, d) + eps);
          c += (k[h]![l]![d]! + eps) * (sumH(q, l, d) + eps);
        }
        inc[h]!.push(1 / a);
        outg[h]!.push(1 / c);
      }
    }
    const alloc: number[][] = [], comp: number[][] = [];
    for (let h = 0; h < H; h++) {
      const cs: number[] = [];
      alloc.push([]);
      for (let l = 0; l < L; l++) {
        let sink = 0, src = 0;
        for (let d = 0; d < D; d++) {
          sink += (q[h]![l]![d]! + eps) * (sumH(k, l, d, outg) + eps);
          src += (k[h]![l]![d]! + eps) * (sumH(q, l, d, inc) + eps);
        }
        alloc[h]!.push(sig(sink * (L / L)));
        cs.push(Math.min(1, Math.max(-1, src)));
      }
      const mx = Math.max(...cs);
      const e = cs.map((c) => Math.exp(c - mx));
      const z = e.reduce((s, t) => s + t, 0);
      comp.push(e.map((t) => (t / z) * L));
    }
    out.push([]);
    for (let h = 0; h < H; h++) {
      out[b]!.push([]);
      for (let i = 0; i < L; i++) {
        const row: number[] = [];
        for (let m = 0; m < v[0]![0]!.length; m++) {
          let s = 0;
          for (let j = 0; j < L; j++) {
            let qk = 0;
            for (let d = 0; d < D; d++) qk += q[h]![i]![d]! * inc[h]![i]! * k[h]![j]![d]!;
            s += qk * v[h]![j]![m]! * comp[h]![j]!;
          }
          row.push(s * alloc[h]![i]!);
        }
        out[b]![h]!.push(row);
      }
    }
  }
  return out;
}

describe('Mobile-Attention', () => {
  it('core equals a hand-written scalar evaluation of the published code (B2 H3 L4 D2)', () => {
    const rng = new Rng(1);
    const q = randn(rng, [2, 3, 4, 2]);
    const k = randn(rng, [2, 3, 4, 2]);
    const v = randn(rng, [2, 3, 4, 2]);
    const ref = tf.tensor(handMobile(q.arraySync() as T4, k.arraySync() as T4, v.arraySync() as T4));
    expect(relError(mobileAttention(q, k, v, null), ref)).toBeLessThan(1e-5);
  });

  it('a tiny case by hand: one head, one channel, all projections 0', () => {
    // q = k = sigmoid(0) = 0.5, H = D = 1, L = 2, v = [1, 3].
    // sinkIncoming = 1/((0.5+eps)^2) ~ 4; conservedSource = (0.5+eps)(0.5*4+eps) ~ 1 -> clamp 1,
    // competition = softmax([1, 1]) * 2 = [1, 1]; allocation = sigmoid(~1); out_i = 0.5*4*0.5*(1+3) * sigmoid(1) = 4 sigmoid(1).
    const z = tf.zeros([1, 1, 2, 1]);
    const v = tf.tensor4d([1, 3], [1, 1, 2, 1]);
    const out = mobileAttention(z, z, v, null).dataSync();
    for (const o of out) expect(o).toBeCloseTo(4 * sig(1), 4);
  });

  it('flow sums run across heads: heads of one token interact, a head never sees other heads of other tokens directly', () => {
    const rng = new Rng(2);
    const q = randn(rng, [1, 2, 3, 2]);
    const k = randn(rng, [1, 2, 3, 2]);
    const v = randn(rng, [1, 2, 3, 2]);
    const a = mobileAttention(q, k, v, null);
    // Changing head 1's key at token 0 changes head 0's output (through the head sums at token 0).
    const k2 = tf.add(k, tf.tensor4d([0, 0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0], [1, 2, 3, 2]));
    const b = mobileAttention(q, k2, v, null);
    expect(relError(tf.slice(b, [0, 0, 0, 0], [1, 1, 3, 2]), tf.slice(a, [0, 0, 0, 0], [1, 1, 3, 2]))).toBeGreaterThan(1e-4);
  });

  it('right padding gives the outputs of the unpadded sequence', () => {
    const rng = new Rng(3);
    const layer = new MobileAttention(rng, { dModel: 8, nHeads: 4 });
    const x = randn(rng, [1, 6, 8]);
    const padded = layer.forward(x, EVAL, { keyPaddingMask: tf.tensor2d([[1, 1, 1, 1, 0, 0]]) });
    const trimmed = layer.forward(tf.slice(x, [0, 0, 0], [1, 4, 8]), EVAL);
    expect(relError(tf.slice(padded, [0, 0, 0], [1, 4, 8]), trimmed)).toBeLessThan(1e-5);
  });

  it('is self-attention only and has no causal form', () => {
    const rng = new Rng(4);
    const layer = new MobileAttention(rng, { dModel: 8, nHeads: 4 });
    expect(() => layer.forward(randn(rng, [1, 3, 8]), EVAL, { context: randn(rng, [1, 3, 8]) })).toThrow(/self-attention only/);
    expect(() => new MobileAttention(rng, { dModel: 8, nHeads: 4, causal: true })).toThrow(/no causal form/);
  });

  it('layer gradients match finite differences', () => {
    const rng = new Rng(5);
    const layer = new MobileAttention(rng, { dModel: 8, nHeads: 4 });
    const x = tf.variable(randn(rng, [2, 5, 8]));
    const w = randn(rng, [2, 5, 8]);
    const r = checkGradients(() => tf.sum(tf.mul(layer.forward(x, EVAL), w)) as tf.Scalar, [x, ...layer.trainableVariables()]);
    expect(r.maxRelError).toBeLessThan(2e-2);
  });
});
