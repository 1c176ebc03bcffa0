import { join } from 'node:path';
import { attentionFactory, checkGradients, initBackend, loadConfig, Rng, shutdownBackend, tf, train, type TaskData } from '@flowformer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UeaSplit } from '../src/data/split.ts';
import { UeaClassifier, type UeaClassifierArgs } from '../src/model.ts';
import { ueaTask, type UeaConfig } from '../src/task.ts';
import { dataRoot, missingReason, repoRoot, scratch } from './helpers.ts';

// wasm: the backend real runs use on this kind of machine (FLOWFORMER_BACKEND overrides).
beforeAll(async () => {
  await initBackend((process.env.FLOWFORMER_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'wasm');
});
afterAll(async () => {
  await shutdownBackend();
});

function tiny(over: Partial<UeaClassifierArgs> = {}): UeaClassifierArgs {
  const dModel = over.dModel ?? 16;
  const nHeads = over.nHeads ?? 2;
  return {
    numDims: 3,
    maxLen: 7,
    numClasses: 4,
    dModel,
    nHeads,
    nLayers: 2,
    dFF: 32,
    dropout: 0.1,
    activation: 'gelu',
    posEncoding: 'learnable',
    maskAttention: false,
    attention: attentionFactory({ dModel, nHeads }, { type: 'flow', clamp: null }),
    ...over,
  };
}

function randomBatch(rng: Rng, B: number, L: number, D: number, lengths: number[]) {
  const x = new Float32Array(B * L * D);
  const mask = new Float32Array(B * L);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < lengths[b]!; t++) {
      mask[b * L + t] = 1;
      for (let d = 0; d < D; d++) x[(b * L + t) * D + d] = rng.normal();
    }
  }
  return { x, mask };
}

describe('UeaClassifier', () => {
  it('has the parameters of the original FlowformerClassiregressor', () => {
    // JapaneseVowels at the paper's size: D 12, L 26 (TRAIN max), 9 classes, d 512, 8 heads, 2 layers, d_ff 2048.
    const d = 512, D = 12, L = 26, C = 9, F = 2048;
    const m = new UeaClassifier(new Rng(0), tiny({ numDims: D, maxLen: L, numClasses: C, dModel: d, nHeads: 8, dFF: F }));
    const perBlock = 4 * (d * d + d) + 2 * (2 * d) + (d * F + F) + (F * d + d);
    const expected = (D * d + d) + L * d + 2 * perBlock + 2 * d + (L * d * C + C);
    expect(m.numParams()).toBe(expected);
    const names = m.namedParams().map((p) => p.name);
    expect(names).toContain('positions.weight');
    expect(names).toContain('head.kernel');
    expect(names).toContain('norm.weight');
    m.dispose();
  });

  it('maps [B, L, D] to finite logits [B, C], deterministically in eval mode, without leaking tensors', () => {
    const rng = new Rng(1);
    const m = new UeaClassifier(rng, tiny());
    const { x, mask } = randomBatch(rng, 5, 7, 3, [7, 3, 5, 1, 7]);
    const before = tf.memory().numTensors;
    const tx = tf.tensor3d(x, [5, 7, 3]);
    const tm = tf.tensor2d(mask, [5, 7]);
    const a = m.forward(tx, tm, { training: false });
    const b = m.forward(tx, tm, { training: false });
    expect(a.shape).toEqual([5, 4]);
    expect(Array.from(a.dataSync()).every(Number.isFinite)).toBe(true);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    const c = m.forward(tx, tm, { training: true, rng: new Rng(2) }); // dropout on
    expect(Array.from(c.dataSync())).not.toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b, c, tx, tm]);
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });

  for (const kind of ['flow', 'softmax'] as const) {
    it(`with maskAttention, values at padded steps cannot change the logits (${kind})`, () => {
      const rng = new Rng(3);
      const attention = attentionFactory({ dModel: 16, nHeads: 2 }, kind === 'flow' ? { type: 'flow', clamp: null } : { type: 'softmax' });
      const m = new UeaClassifier(rng, tiny({ maskAttention: true, attention }));
      const lengths = [7, 3, 5];
      const { x, mask } = randomBatch(rng, 3, 7, 3, lengths);
      const noisy = x.slice();
      for (let b = 0; b < 3; b++) for (let t = lengths[b]!; t < 7; t++) for (let d = 0; d < 3; d++) noisy[(b * 7 + t) * 3 + d] = 100 * rng.normal();
      const tm = tf.tensor2d(mask, [3, 7]);
      const [a, b] = [x, noisy].map((arr) => tf.tidy(() => m.forward(tf.tensor3d(arr, [3, 7, 3]), tm, { training: false }).arraySync() as number[][]));
      for (let i = 0; i < 3; i++) for (let c = 0; c < 4; c++) expect(b![i]![c]).toBeCloseTo(a![i]![c]!, 4);
      tm.dispose();
      m.dispose();
    });
  }

  it('has gradients that match finite differences (whole model, every parameter, dropout off)', () => {
    const rng = new Rng(5);
    const m = new UeaClassifier(rng, tiny({ dropout: 0 }));
    const { x, mask } = randomBatch(rng, 4, 7, 3, [7, 2, 5, 6]);
    const batch = { size: 4, x: tf.tensor3d(x, [4, 7, 3]), mask: tf.tensor2d(mask, [4, 7]), y: tf.tensor1d([0, 3, 1, 2], 'int32'), tensors: [] };
    const r = checkGradients(() => m.loss(batch, { training: false }), m.trainableVariables(), { h: 1e-2, directions: 4 });
    console.log(`UeaClassifier gradient check: max relative error ${r.maxRelError.toExponential(2)}`);
    expect(r.maxRelError, `analytic ${r.analytic} vs numeric ${r.numeric}`).toBeLessThan(2e-3);
    tf.dispose([batch.x, batch.mask, batch.y]);
    m.dispose();
  });

  it('without maskAttention (the original), padded steps still reach the real ones through attention', () => {
    const rng = new Rng(4);
    const m = new UeaClassifier(rng, tiny());
    const { x, mask } = randomBatch(rng, 1, 7, 3, [4]);
    const noisy = x.slice();
    for (let t = 4; t < 7; t++) for (let d = 0; d < 3; d++) noisy[t * 3 + d] = 5;
    const tm = tf.tensor2d(mask, [1, 7]);
    const [a, b] = [x, noisy].map((arr) => tf.tidy(() => Array.from(m.forward(tf.tensor3d(arr, [1, 7, 3]), tm, { training: false }).dataSync())));
    expect(Math.max(...a!.map((v, i) => Math.abs(v - b![i]!)))).toBeGreaterThan(1e-4);
    tm.dispose();
    m.dispose();
  });
});

describe('ueaTask.build from the configs', () => {
  for (const [file, kind, extra] of [
    ['flowformer.yaml', 'flow', { clamp: null }],
    ['transformer.yaml', 'softmax', { attentionDropout: 0.1 }],
  ] as const) {
    it(`${file}: ${kind} attention in every block, with the time-series options`, () => {
      const { config } = loadConfig<UeaConfig>(join(repoRoot, 'configs/uea/JapaneseVowels', file), { task: ueaTask, sets: ['model.dModel=16', 'model.nHeads=2', 'model.dFF=32'] });
      const data = { train: new UeaSplit({ size: 0, x: new Float32Array(), mask: new Float32Array(), y: new Int32Array(), lengths: new Int32Array() }, 26, 12), info: { numDims: 12, maxLen: 26, classes: ['1', '2', '3'] } };
      const m = ueaTask.build(config, data as unknown as TaskData<never>, new Rng(0)) as UeaClassifier;
      expect(m.blocks.length).toBe(2);
      for (const b of m.blocks) {
        expect(b.norm).toBe('post');
        expect(b.attn.kind).toBe(kind);
        const a = b.attn as unknown as { flowOptions?: { clamp: number | null }; attentionDropout?: number; dropoutRate: number };
        if (kind === 'flow') expect(a.flowOptions!.clamp).toBe(extra.clamp);
        else expect(a.attentionDropout).toBe(0.1);
        expect(a.dropoutRate).toBe(0); // the block applies the residual dropout, as the original
      }
      expect(m.head.inFeatures).toBe(16 * 26);
      expect(m.head.outFeatures).toBe(3);
      m.dispose();
    });
  }
});

describe('UeaSplit', () => {
  it('gathers the requested cases into [B, L, D], [B, L], [B]', () => {
    const arrays = {
      size: 3,
      x: Float32Array.from({ length: 3 * 2 * 2 }, (_, i) => i),
      mask: Float32Array.from([1, 1, 1, 0, 1, 1]),
      y: Int32Array.from([2, 0, 1]),
      lengths: Int32Array.from([2, 1, 2]),
    };
    const s = new UeaSplit(arrays, 2, 2);
    const b = s.batch(Int32Array.from([2, 1]));
    expect(b.size).toBe(2);
    expect(b.x.arraySync()).toEqual([
      [
        [8, 9],
        [10, 11],
      ],
      [
        [4, 5],
        [6, 7],
      ],
    ]);
    expect(b.mask.arraySync()).toEqual([
      [1, 1],
      [1, 0],
    ]);
    expect(Array.from(b.y.dataSync())).toEqual([1, 0]);
    expect(b.tensors.length).toBe(3);
    tf.dispose(b.tensors);
    expect(() => s.batch(Int32Array.from([3]))).toThrow(/index 3 out of range \[0, 3\)/);
  });
});

describe('a short real training run', () => {
  const reason = missingReason('BasicMotions');
  it.skipIf(reason !== null)(`BasicMotions, tiny Flowformer through the core trainer, holdout protocol: the loss falls${reason ? ` (${reason})` : ''}`, async () => {
    const results = scratch('uea-run-');
    const losses: number[] = [];
    const logs: string[] = [];
    const before = tf.memory().numTensors;
    try {
      const summary = await train({
        configPath: join(repoRoot, 'configs/uea/JapaneseVowels/flowformer-holdout.yaml'),
        // The paper's recipe at toy size; of BasicMotions' 40 TRAIN cases, 8 are held out (stratified).
        sets: ['dataset=BasicMotions', 'model.dModel=16', 'model.nHeads=2', 'model.nLayers=1', 'model.dFF=32', 'training.epochs=8', 'optimizer.lr=0.01'],
        task: ueaTask,
        dataRoot,
        resultsRoot: results.dir,
        cacheDir: join(results.dir, 'cache'),
        progress: false,
        handleSigint: false,
        log: (m) => logs.push(m),
        onStep: (i) => losses.push(i.loss),
      });
      expect(logs).toContain('uea/BasicMotions: 32 train / 8 valid / 40 test cases, 6 dims, length 100, 4 classes');
      expect(summary.status).toBe('completed');
      expect(summary.steps).toBe(16); // 2 updates per epoch (16 + 16)
      expect(summary.metric).toMatchObject({ name: 'accuracy', split: 'valid' });
      expect(summary.test?.metrics.accuracy).toBeGreaterThan(0.25); // the selected checkpoint on TEST, above chance
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      console.log(`BasicMotions tiny Flowformer: step losses ${losses.map((l) => l.toFixed(3)).join(' ')}; test accuracy ${summary.test?.metrics.accuracy}`);
      // ln(4) = 1.386 at chance; the last updates must be clearly below the first ones.
      expect(mean(losses.slice(0, 4))).toBeGreaterThan(1.2);
      expect(mean(losses.slice(-4))).toBeLessThan(0.8 * mean(losses.slice(0, 4)));
    } finally {
      results.cleanup();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a protocol/evaluation mismatch with a message that says what to set', async () => {
    const config = { dataset: 'BasicMotions', evaluation: { split: 'valid' }, data: { protocol: 'paper' } } as unknown as UeaConfig;
    await expect(ueaTask.load(config, { dataRoot, cacheDir: '/tmp', rng: new Rng(0), log: () => {} })).rejects.toThrow(
      /data\.protocol 'paper' has no validation split .*: set evaluation\.split: test, or use data\.protocol: holdout/,
    );
  });
});
