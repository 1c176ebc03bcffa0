import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { Rng } from '../src/rng.ts';
import { EVAL } from '../src/nn/module.ts';
import { checkGradients, relError } from '../src/nn/gradcheck.ts';
import { DecoderBlock, EncoderBlock } from '../src/attention/blocks.ts';
import { Dense } from '../src/nn/dense.ts';
import { attentionFactory } from '../src/attention/registry.ts';
import { randn } from './helpers/random.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const D = 16;
const attn = (type: string, causal = false) => attentionFactory({ dModel: D, nHeads: 4, causal }, { type });

describe('transformer blocks', () => {
  it('pre-LN block = x + attn(LN1 x), then + mlp(LN2 h)', () => {
    const rng = new Rng(1);
    const block = new EncoderBlock(rng, { dModel: D, attention: attn('softmax'), mlpHidden: 32, norm: 'pre', activation: 'relu' });
    const x = randn(rng, [2, 5, D]);
    const ref = tf.tidy(() => {
      const h = tf.add(x, block.attn.forward(block.ln1.forward(x), EVAL));
      return tf.add(h, block.mlp.forward(block.ln2.forward(h), EVAL));
    });
    expect(relError(block.forward(x, EVAL), ref)).toBeLessThan(1e-6);
  });

  it('post-LN block = LN2(h + mlp(h)), h = LN1(x + attn(x))', () => {
    const rng = new Rng(2);
    const block = new EncoderBlock(rng, { dModel: D, attention: attn('flow'), mlpHidden: 32, norm: 'post' });
    const x = randn(rng, [2, 5, D]);
    const ref = tf.tidy(() => {
      const h = block.ln1.forward(tf.add(x, block.attn.forward(x, EVAL)));
      return block.ln2.forward(tf.add(h, block.mlp.forward(h, EVAL)));
    });
    expect(relError(block.forward(x, EVAL), ref)).toBeLessThan(1e-6);
  });

  for (const [norm, type] of [
    ['pre', 'flow'],
    ['post', 'softmax'],
    ['pre', 'linear'],
  ] as const) {
    it(`${norm}-LN with ${type}: the key padding mask reaches the attention (padded = trimmed at real positions)`, () => {
      const rng = new Rng(3);
      const block = new EncoderBlock(rng, { dModel: D, attention: attn(type), mlpHidden: 32, norm });
      const x = randn(rng, [1, 7, D]);
      const padded = block.forward(x, EVAL, { keyPaddingMask: tf.tensor2d([[1, 1, 1, 1, 1, 0, 0]]) });
      const trimmed = block.forward(tf.slice(x, [0, 0, 0], [1, 5, D]), EVAL);
      expect(relError(tf.slice(padded, [0, 0, 0], [1, 5, D]), trimmed)).toBeLessThan(1e-5);
    });
  }

  it('LayerScale (init 1e-5, MLP branch as the vision code) and per-sample DropPath', () => {
    const rng = new Rng(4);
    const block = new EncoderBlock(rng, {
      dModel: D,
      attention: attn('flow'),
      mlpHidden: 32,
      norm: 'pre',
      normEps: 1e-6,
      layerScale: { init: 1e-5, branches: 'mlp' },
      dropPath: 0.5,
    });
    expect(block.ls1).toBeNull();
    expect(block.namedParams().map((p) => p.name)).toContain('ls2.gamma');
    const x = randn(rng, [64, 3, D]);
    // Eval: the MLP branch is scaled by 1e-5.
    const h = tf.add(x, block.attn.forward(block.ln1.forward(x), EVAL));
    expect(relError(block.forward(x, EVAL), h)).toBeLessThan(1e-4);
    // Training: a sample whose two branches are both dropped comes out unchanged.
    const ctx = () => ({ training: true, rng: new Rng(7) });
    const y = block.forward(x, ctx());
    expect(relError(block.forward(x, ctx()), y)).toBe(0);
    const same = tf.all(tf.equal(y, x), [1, 2]).dataSync();
    const n = Array.from(same).filter(Boolean).length;
    expect(n).toBeGreaterThan(4); // expected 64 / 4 = 16
    expect(n).toBeLessThan(32);
    expect(() => new EncoderBlock(rng, { dModel: D, attention: attn('flow'), mlpHidden: 8, norm: 'post', dropPath: 0.1 })).toThrow(/pre-LN/);
  });

  it('decoder block is causal and refuses a non-causal attention', () => {
    const rng = new Rng(5);
    const block = new DecoderBlock(rng, { dModel: D, attention: attn('flow', true), mlpHidden: 32, activation: 'relu' });
    const x = randn(rng, [1, 9, D]);
    const x2 = tf.concat([tf.slice(x, [0, 0, 0], [1, 6, D]), randn(rng, [1, 3, D])], 1);
    const a = block.forward(x, EVAL);
    const b = block.forward(x2, EVAL);
    expect(relError(tf.slice(b, [0, 0, 0], [1, 6, D]), tf.slice(a, [0, 0, 0], [1, 6, D]))).toBeLessThan(1e-6);
    expect(() => new DecoderBlock(rng, { dModel: D, attention: attn('flow'), mlpHidden: 32 })).toThrow(/causal: true/);
  });

  for (const type of ['flow', 'softmax', 'linear']) {
    it(`decoder block step by step (${type}) equals forward on the whole sequence`, () => {
      const rng = new Rng(11);
      const block = new DecoderBlock(rng, { dModel: D, attention: attn(type, true), mlpHidden: 32, layerScale: { init: 0.5, branches: 'both' } });
      const x = randn(rng, [2, 6, D]);
      const full = block.forward(x, EVAL);
      let state = block.initState(2);
      const before = tf.memory().numTensors;
      const rows: tf.Tensor[] = [];
      for (let t = 0; t < 6; t++) {
        const xt = tf.tidy(() => tf.slice(x, [0, t, 0], [2, 1, D]).reshape([2, D]));
        const r = block.step(xt, state, EVAL);
        xt.dispose();
        block.disposeState(state);
        state = r.state;
        rows.push(r.output);
      }
      const stacked = tf.stack(rows, 1);
      expect(relError(stacked, full)).toBeLessThan(1e-5);
      stacked.dispose();
      block.disposeState(state);
      tf.dispose(rows);
      expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
    });
  }

  it('decoder step with a baseline lacking a recurrent form says so', () => {
    const block = new DecoderBlock(new Rng(12), { dModel: D, attention: attn('cosformer', true), mlpHidden: 32 });
    expect(() => block.initState(1)).toThrow(/no recurrent step/);
  });

  it('pre-LN block gradients match finite differences', () => {
    const rng = new Rng(6);
    const block = new EncoderBlock(rng, { dModel: 8, attention: attentionFactory({ dModel: 8, nHeads: 2 }, { type: 'flow' }), mlpHidden: 16, norm: 'pre' });
    const x = tf.variable(randn(rng, [1, 4, 8]));
    const w = randn(rng, [1, 4, 8]);
    const r = checkGradients(() => tf.sum(tf.mul(block.forward(x, EVAL), w)) as tf.Scalar, [x, ...block.trainableVariables()]);
    expect(r.maxRelError).toBeLessThan(2e-2);
  });

  it('a one-block encoder learns a task that needs attention (loss falls), with no tensor leak per step', () => {
    // Target: at every position, the mean of the sequence's first feature, a sequence-level quantity.
    const rng = new Rng(8);
    const blocks = [0].map(() => new EncoderBlock(rng, { dModel: D, attention: attn('flow'), mlpHidden: 32, norm: 'pre', dropout: 0.1 }));
    const head = new Dense(rng, { inFeatures: D, outFeatures: 1 });
    const vars = [...blocks.flatMap((b) => b.trainableVariables()), ...head.trainableVariables()];
    const opt = tf.train.adam(1e-2);
    const data = new Rng(9);
    const dropRng = new Rng(10);
    const losses: number[] = [];
    let tensorsAfterFirst = 0;
    for (let step = 0; step < 40; step++) {
      const x = randn(data, [8, 8, D]);
      const y = tf.tidy(() => tf.tile(tf.mean(tf.slice(x, [0, 0, 0], [8, 8, 1]), 1, true), [1, 8, 1]));
      const loss = opt.minimize(() => {
        let h = x;
        for (const b of blocks) h = b.forward(h, { training: true, rng: dropRng });
        return tf.losses.meanSquaredError(y, head.forward(h)) as tf.Scalar;
      }, true, vars)!;
      losses.push(loss.dataSync()[0]!);
      tf.dispose([x, y, loss]);
      if (step === 0) tensorsAfterFirst = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(tensorsAfterFirst);
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(last).toBeLessThan(first * 0.5);
  });
});
