import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { Rng } from '../src/rng.ts';
import { EVAL, type ForwardContext } from '../src/nn/module.ts';
import { LayerNorm } from '../src/nn/layer-norm.ts';
import { Embedding, LearnedPositions, SinusoidalPositions, sinusoidalTable } from '../src/nn/embedding.ts';
import { dropout, dropPath } from '../src/nn/dropout.ts';
import { LayerScale } from '../src/nn/layer-scale.ts';
import { Conv2d } from '../src/nn/conv2d.ts';
import { MLP } from '../src/nn/mlp.ts';
import { gelu, geluTanh } from '../src/nn/activations.ts';
import { checkGradients, relError } from '../src/nn/gradcheck.ts';
import { applyTimmInit } from '../src/nn/reinit.ts';
import { randn } from './helpers/random.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('LayerNorm', () => {
  it('matches a direct float64 computation, with configurable eps', () => {
    const rng = new Rng(1);
    const x = randn(rng, [2, 3, 8], 3);
    const ln = new LayerNorm({ dim: 8, eps: 1e-6 });
    const w = randn(rng, [8]);
    const b = randn(rng, [8]);
    ln.loadState({ weight: w, bias: b });
    const y = ln.forward(x).arraySync() as number[][][];
    const xs = x.arraySync() as number[][][];
    const ws = w.arraySync() as number[];
    const bs = b.arraySync() as number[];
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++) {
        const row = xs[i]![j]!;
        const mean = row.reduce((s, v) => s + v, 0) / 8;
        const v = row.reduce((s, t) => s + (t - mean) ** 2, 0) / 8;
        for (let k = 0; k < 8; k++) expect(y[i]![j]![k]).toBeCloseTo(((row[k]! - mean) / Math.sqrt(v + 1e-6)) * ws[k]! + bs[k]!, 4);
      }
    expect(ln.namedParams().map((p) => [p.name, p.decay])).toEqual([
      ['weight', false],
      ['bias', false],
    ]);
  });

  it('has correct gradients (finite differences)', () => {
    const rng = new Rng(2);
    const x = tf.variable(randn(rng, [3, 6]));
    const ln = new LayerNorm({ dim: 6 });
    const wgt = randn(rng, [3, 6]);
    const r = checkGradients(() => tf.sum(tf.mul(ln.forward(x), wgt)) as tf.Scalar, [x, ...ln.trainableVariables()]);
    expect(r.maxRelError).toBeLessThan(2e-2);
  });
});

describe('Embedding', () => {
  it('gathers rows, zeroes the padding row, and ties the output projection', () => {
    const rng = new Rng(3);
    const emb = new Embedding(rng, { numEmbeddings: 5, dim: 4, paddingIdx: 0 });
    const table = emb.weight.arraySync() as number[][];
    expect(table[0]).toEqual([0, 0, 0, 0]);
    const ids = tf.tensor2d([[1, 4, 0]], [1, 3], 'int32');
    const e = emb.forward(ids).arraySync() as number[][][];
    expect(e[0]![1]).toEqual(table[4]);
    const x = randn(rng, [1, 2, 4]);
    const logits = emb.project(x).arraySync() as number[][][];
    const xs = x.arraySync() as number[][][];
    const dot = xs[0]![1]!.reduce((s, v, k) => s + v * table[3]![k]!, 0);
    expect(logits[0]![1]![3]).toBeCloseTo(dot, 5);
  });

  it('gradient of the lookup accumulates repeated ids', () => {
    const rng = new Rng(4);
    const emb = new Embedding(rng, { numEmbeddings: 4, dim: 2 });
    const ids = tf.tensor1d([2, 2, 1], 'int32');
    const { grads } = tf.variableGrads(() => tf.sum(emb.forward(ids)) as tf.Scalar, [emb.weight]);
    expect(grads[emb.weight.name]!.arraySync()).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
      [0, 0],
    ]);
  });
});

describe('sinusoidal positions', () => {
  it('interleaved layout = the LRA code (sin at even, cos at odd channels, positions from 0)', () => {
    const d = 6;
    const t = sinusoidalTable(4, d, 'interleaved');
    for (let p = 0; p < 4; p++)
      for (let i = 0; i < d / 2; i++) {
        const div = Math.exp(2 * i * -(Math.log(10000) / d));
        expect(t[p * d + 2 * i]).toBeCloseTo(Math.sin(p * div), 6);
        expect(t[p * d + 2 * i + 1]).toBeCloseTo(Math.cos(p * div), 6);
      }
  });

  it('concat layout = fairseq/tensor2tensor ([sin | cos], step log(1e4)/(d/2-1)); odd d gets a zero column', () => {
    const d = 7;
    const half = 3;
    const t = sinusoidalTable(3, d, 'concat', 2);
    for (let r = 0; r < 3; r++) {
      const p = r + 2;
      for (let i = 0; i < half; i++) {
        const w = Math.exp(-i * (Math.log(10000) / (half - 1)));
        expect(t[r * d + i]).toBeCloseTo(Math.sin(p * w), 6);
        expect(t[r * d + half + i]).toBeCloseTo(Math.cos(p * w), 6);
      }
      expect(t[r * d + 6]).toBe(0);
    }
  });

  it('SinusoidalPositions adds the table and rejects too-long inputs; LearnedPositions adds its weights', () => {
    const pos = new SinusoidalPositions({ dim: 4, maxLen: 8, layout: 'interleaved' });
    const y = pos.forward(tf.zeros([2, 3, 4]), 1).arraySync() as number[][][];
    expect(y[1]![0]![0]).toBeCloseTo(Math.sin(1), 6);
    expect(() => pos.forward(tf.zeros([1, 9, 4]))).toThrow(/maxLen is 8/);
    const lp = new LearnedPositions(new Rng(5), { dim: 4, maxLen: 8 });
    const z = lp.forward(tf.ones([1, 2, 4])).arraySync() as number[][][];
    const w = lp.weight.arraySync() as number[][];
    expect(z[0]![1]![2]).toBeCloseTo(1 + w[1]![2]!, 6);
    expect(Math.max(...w.flat().map(Math.abs))).toBeLessThanOrEqual(0.04 + 1e-7);
  });
});

describe('dropout and drop-path', () => {
  const train = (seed: number): ForwardContext => ({ training: true, rng: new Rng(seed) });

  it('dropout is the identity in eval, seeded and scaled in training', () => {
    const x = tf.ones([1000]);
    expect(dropout(x, 0.5, EVAL)).toBe(x);
    const a = dropout(x, 0.3, train(7)).dataSync();
    const b = dropout(x, 0.3, train(7)).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    const kept = Array.from(a).filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-5)).toBe(true);
    expect(kept.length / 1000).toBeGreaterThan(0.63);
    expect(kept.length / 1000).toBeLessThan(0.77);
    expect(() => dropout(x, 0.3, { training: true })).toThrow(/ctx.rng is missing/);
  });

  it('drop-path drops whole samples', () => {
    const x = tf.ones([400, 3, 5]);
    const y = dropPath(x, 0.25, train(9)).arraySync() as number[][][];
    let dropped = 0;
    for (const s of y) {
      const flat = s.flat();
      const allZero = flat.every((v) => v === 0);
      const allKept = flat.every((v) => Math.abs(v - 1 / 0.75) < 1e-5);
      expect(allZero || allKept).toBe(true);
      if (allZero) dropped++;
    }
    expect(dropped / 400).toBeGreaterThan(0.17);
    expect(dropped / 400).toBeLessThan(0.33);
    expect(dropPath(x, 0.25, EVAL)).toBe(x);
  });
});

describe('LayerScale', () => {
  it('scales channels by gamma initialised to the given value, without weight decay', () => {
    const ls = new LayerScale({ dim: 3, init: 1e-5 });
    const y = ls.forward(tf.ones([2, 3])).dataSync();
    expect(Array.from(y).every((v) => Math.abs(v - 1e-5) < 1e-12)).toBe(true);
    expect(ls.namedParams()[0]!.decay).toBe(false);
  });
});

describe('Conv2d', () => {
  /** Direct NHWC convolution in float64 with zero padding. */
  function direct(x: number[][][][], k: number[][][][], bias: number[], stride: number, pad: number) {
    const [B, H, W, C] = [x.length, x[0]!.length, x[0]![0]!.length, x[0]![0]![0]!.length];
    const [kh, kw, , O] = [k.length, k[0]!.length, k[0]![0]!.length, k[0]![0]![0]!.length];
    const Ho = Math.floor((H + 2 * pad - kh) / stride) + 1;
    const Wo = Math.floor((W + 2 * pad - kw) / stride) + 1;
    const out: number[][][][] = [];
    for (let b = 0; b < B; b++) {
      out.push([]);
      for (let i = 0; i < Ho; i++) {
        out[b]!.push([]);
        for (let j = 0; j < Wo; j++) {
          const row: number[] = [];
          for (let o = 0; o < O; o++) {
            let s = bias[o]!;
            for (let a = 0; a < kh; a++)
              for (let c2 = 0; c2 < kw; c2++) {
                const y = i * stride + a - pad;
                const z = j * stride + c2 - pad;
                if (y < 0 || z < 0 || y >= H || z >= W) continue;
                for (let c = 0; c < C; c++) s += x[b]![y]![z]![c]! * k[a]![c2]![c]![o]!;
              }
            row.push(s);
          }
          out[b]![i]!.push(row);
        }
      }
    }
    return out;
  }

  for (const [kernel, stride, pad, H, W] of [
    [4, 4, 0, 9, 8], // patch embedding path (drops the odd row)
    [2, 2, 0, 6, 6], // down-sampling path
    [3, 1, 1, 5, 4], // general path through tf.conv2d
  ] as const) {
    it(`k${kernel} s${stride} p${pad} on ${H}x${W} matches a direct convolution, with PyTorch's default init bound`, () => {
      const rng = new Rng(11);
      const conv = new Conv2d(rng, { inChannels: 3, outChannels: 5, kernelSize: kernel, stride, padding: pad });
      const bound = 1 / Math.sqrt(3 * kernel * kernel);
      expect(Math.max(...(conv.kernel.dataSync() as Float32Array).map(Math.abs))).toBeLessThanOrEqual(bound);
      const x = randn(rng, [2, H, W, 3]);
      const y = conv.forward(x);
      const ref = tf.tensor(direct(x.arraySync() as never, conv.kernel.arraySync() as never, Array.from(conv.bias!.dataSync()), stride, pad));
      expect(y.shape).toEqual(ref.shape);
      expect(relError(y, ref)).toBeLessThan(1e-5);
    });
  }

  it('patch path has correct gradients', () => {
    const rng = new Rng(12);
    const conv = new Conv2d(rng, { inChannels: 2, outChannels: 3, kernelSize: 2, stride: 2 });
    const x = tf.variable(randn(rng, [1, 4, 4, 2]));
    const w = randn(rng, [1, 2, 2, 3]);
    const r = checkGradients(() => tf.sum(tf.mul(conv.forward(x), w)) as tf.Scalar, [x, ...conv.trainableVariables()]);
    expect(r.maxRelError).toBeLessThan(1e-2);
  });
});

describe('MLP and GELU', () => {
  it('exact GELU = x Phi(x) (float64 erf via its series), tanh GELU close to it', () => {
    const xs = [-3, -1.5, -0.5, 0, 0.3, 1, 2.5];
    // Phi(x) by a high-precision series of erf.
    const erf = (z: number) => {
      let sum = 0;
      let term = z;
      for (let n = 0; n < 60; n++) {
        sum += term / (2 * n + 1);
        term *= (-z * z) / (n + 1);
      }
      return (2 / Math.sqrt(Math.PI)) * sum;
    };
    const y = gelu(tf.tensor1d(xs)).dataSync();
    const yt = geluTanh(tf.tensor1d(xs)).dataSync();
    xs.forEach((x, i) => {
      const ref = 0.5 * x * (1 + erf(x / Math.SQRT2));
      expect(Math.abs(y[i]! - ref)).toBeLessThan(1e-6);
      expect(Math.abs(yt[i]! - ref)).toBeLessThan(1e-3);
    });
  });

  it('is Dense-act-Dense with correct gradients; dropout only in training', () => {
    const rng = new Rng(13);
    const mlp = new MLP(rng, { inFeatures: 4, hiddenFeatures: 8, activation: 'gelu', dropout: 0.5 });
    const x = tf.variable(randn(rng, [2, 3, 4]));
    const ref = tf.tidy(() => mlp.fc2.forward(gelu(mlp.fc1.forward(x))));
    expect(relError(mlp.forward(x, EVAL), ref)).toBeLessThan(1e-6);
    expect(relError(mlp.forward(x, { training: true, rng: new Rng(1) }), ref)).toBeGreaterThan(0.1);
    const w = randn(rng, [2, 3, 4]);
    const r = checkGradients(() => tf.sum(tf.mul(mlp.forward(x, EVAL), w)) as tf.Scalar, [x, ...mlp.trainableVariables()]);
    expect(r.maxRelError).toBeLessThan(2e-2);
  });
});

describe('re-initialisation', () => {
  it('timm init: Dense kernels truncated normal 0.02 and zero biases; Conv2d and LayerNorm untouched', () => {
    const rng = new Rng(21);
    const mlp = new MLP(rng, { inFeatures: 64, hiddenFeatures: 256 });
    const conv = new Conv2d(rng, { inChannels: 3, outChannels: 4, kernelSize: 2, stride: 2 });
    const convBefore = Array.from(conv.bias!.dataSync());
    applyTimmInit(mlp, new Rng(22));
    applyTimmInit(conv, new Rng(22));
    const k = Array.from(mlp.fc1.kernel.dataSync());
    const std = Math.sqrt(k.reduce((s, v) => s + v * v, 0) / k.length);
    expect(Math.max(...k.map(Math.abs))).toBeLessThanOrEqual(0.04 + 1e-7);
    expect(std).toBeGreaterThan(0.0165); // std of N(0, 0.02) truncated at 2 std = 0.0176
    expect(std).toBeLessThan(0.0185);
    expect(Array.from(mlp.fc2.bias!.dataSync()).every((v) => v === 0)).toBe(true);
    expect(Array.from(conv.bias!.dataSync())).toEqual(convBefore);
  });
});
