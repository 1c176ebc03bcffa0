import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkGradients, EVAL, initBackend, makeOptimizer, Rng, shutdownBackend, tf, train } from '@flowformer/core';
import { DecisionTransformer } from '../src/model.ts';
import { D4rlWindows } from '../src/data/windows.ts';
import { splitTrajectories } from '../src/data/trajectories.ts';
import { readD4rlFile } from '../src/data/hdf5.ts';
import { generateDataset } from '../src/generate.ts';
import { rollouts } from '../src/evaluate.ts';
import { makeEnv } from '../src/envs/locomotion.ts';
import { d4rlTask } from '../src/task.ts';
import { tmp, toyData } from './helpers.ts';

beforeAll(async () => {
  await initBackend((process.env.FLOWFORMER_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'wasm');
});
afterAll(async () => {
  await shutdownBackend();
});

const tiny = (attention: { type: string; [k: string]: unknown }, seed = 0) =>
  new DecisionTransformer(new Rng(seed), { stateDim: 11, actDim: 3, hiddenSize: 32, nLayers: 2, nHeads: 2, dropout: 0.1, maxEpisodeLength: 1000, activation: 'relu', attention });

function randomInputs(B: number, K: number, seed: number) {
  const r = new Rng(seed);
  const f = (n: number) => Float32Array.from({ length: n }, () => r.normal());
  return {
    s: tf.tensor3d(f(B * K * 11), [B, K, 11]),
    a: tf.tensor3d(f(B * K * 3).map(Math.tanh), [B, K, 3]),
    r: tf.tensor3d(f(B * K), [B, K, 1]),
    t: tf.tensor2d(Int32Array.from({ length: B * K }, (_, i) => (i % K) + 5), [B, K], 'int32'),
  };
}

describe('Decision Transformer', () => {
  for (const attention of [{ type: 'flow', clamp: 10 }, { type: 'softmax', attentionDropout: 0.1 }]) {
    it(`${attention.type}: [B, K, A] actions in (-1, 1); right padding cannot change any real step's prediction; no leaks`, () => {
      const model = tiny(attention);
      const x = randomInputs(2, 6, 1);
      const before = tf.memory().numTensors;
      const y = model.forward(x.s, x.a, x.r, x.t, EVAL);
      expect(tf.memory().numTensors).toBe(before + 1); // only the output survives
      expect(y.shape).toEqual([2, 6, 3]);
      const yv = y.arraySync() as number[][][];
      expect(yv.flat(2).every((v) => Math.abs(v) < 1)).toBe(true);
      // change steps 4, 5 (as padding would): steps 0..3 must not move; change action 3: step 3 must not move
      const y2 = tf.tidy(() => {
        const s2 = tf.concat([tf.slice(x.s, [0, 0, 0], [2, 4, 11]), tf.fill([2, 2, 11], -7)], 1);
        const a2 = tf.concat([tf.slice(x.a, [0, 0, 0], [2, 3, 3]), tf.fill([2, 3, 3], -10)], 1);
        return model.forward(s2, a2, x.r, x.t, EVAL).arraySync() as number[][][];
      });
      for (let b = 0; b < 2; b++) for (let k = 0; k < 4; k++) for (let j = 0; j < 3; j++) expect(y2[b]![k]![j]).toBeCloseTo(yv[b]![k]![j]!, 5);
      expect(Math.abs(y2[0]![5]![0]! - yv[0]![5]![0]!)).toBeGreaterThan(1e-6);
      for (const t of [y, x.s, x.a, x.r, x.t]) t.dispose();
      model.dispose();
    });
  }

  it('finite-difference gradient check of the whole loss on right-padded windows (flow attention, clamp 10)', () => {
    const data = toyData([{ length: 3, end: 'terminal' }, { length: 6, end: 'timeout' }]);
    const win = new D4rlWindows(data, splitTrajectories(data).trajectories, { contextLength: 4 });
    const model = new DecisionTransformer(new Rng(2), { stateDim: 2, actDim: 1, hiddenSize: 8, nLayers: 1, nHeads: 2, dropout: 0.1, maxEpisodeLength: 1000, activation: 'relu', attention: { type: 'flow', clamp: 10 } });
    const batch = win.batch(new Int32Array([1, 3, 6])); // a cut window, a full one, a padded one
    const r = checkGradients(() => model.loss(batch, EVAL), model.trainableVariables(), { h: 1e-2, directions: 4 });
    expect(r.maxRelError, `analytic ${r.analytic} vs numeric ${r.numeric}`).toBeLessThan(5e-3);
    for (const t of batch.tensors) t.dispose();
    model.dispose();
  });

  it('GPT-2 initialisation inside the transformer (kernels N(0, 0.02), biases 0); PyTorch defaults outside', () => {
    const model = tiny({ type: 'flow', clamp: 10 });
    const byName = new Map(model.namedParams().map((p) => [p.name, p.variable]));
    const std = (v: tf.Tensor) => Math.sqrt((tf.moments(v).variance.dataSync() as Float32Array)[0]!);
    const names = [...byName.keys()];
    const attnKernel = names.find((n) => /^blocks\.0\.attn\..*kernel$/.test(n))!;
    expect(std(byName.get(attnKernel)!)).toBeCloseTo(0.02, 2);
    expect(std(byName.get('blocks.1.mlp.fc1.kernel')!)).toBeCloseTo(0.02, 2);
    expect(Array.from(byName.get('blocks.1.mlp.fc1.bias')!.dataSync()).every((v) => v === 0)).toBe(true);
    expect(std(byName.get('embedTimestep.weight')!)).toBeCloseTo(1, 1);
    expect(std(byName.get('embedState.kernel')!)).toBeCloseTo(1 / Math.sqrt(11) / Math.sqrt(3), 2); // U(+-1/sqrt(in))
    model.dispose();
  });

  it('the loss is the MSE over real steps only, and falls in a short training on generated data', async () => {
    const dir = tmp();
    await generateDataset({ env: 'hopper', policy: 'random', steps: 400, seed: 5, out: join(dir, 'h.hdf5') });
    const data = await readD4rlFile(join(dir, 'h.hdf5'));
    const win = new D4rlWindows(data, splitTrajectories(data).trajectories, { contextLength: 5 });
    const model = new DecisionTransformer(new Rng(0), { stateDim: 11, actDim: 3, hiddenSize: 16, nLayers: 1, nHeads: 2, dropout: 0.1, maxEpisodeLength: 1000, activation: 'relu', attention: { type: 'flow', clamp: 10 } });
    // hand-computed masked MSE of one batch
    const b = win.batch(Int32Array.from({ length: 16 }, (_, i) => (i * 37) % win.size));
    const lossV = model.loss(b, EVAL);
    const pred = model.forward(b.states, b.actions, tf.slice(b.returnsToGo, [0, 0, 0], [16, 5, 1]), b.timesteps, EVAL);
    const p = pred.dataSync();
    const a = b.actions.dataSync();
    const m = b.mask.dataSync();
    let sum = 0;
    let cnt = 0;
    for (let i = 0; i < 16 * 5; i++) if (m[i]) for (let j = 0; j < 3; j++) (sum += (p[i * 3 + j]! - a[i * 3 + j]!) ** 2), cnt++;
    expect(lossV.dataSync()[0]).toBeCloseTo(sum / cnt, 6);
    lossV.dispose();
    pred.dispose();
    for (const t of b.tensors) t.dispose();
    // AdamW (lr 3e-3 to be quick), wd 1e-4, 25 updates of 16 windows
    const opt = makeOptimizer({ type: 'adamw', lr: 3e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-4, decayAll: true }, model.namedParams());
    const nameOf = new Map(model.namedParams().map((p) => [p.variable.name, p.name]));
    const rng = new Rng(1);
    const fixed = win.batch(Int32Array.from({ length: 16 }, (_, i) => (i * 11) % win.size));
    const evalLoss = () => tf.tidy(() => model.loss(fixed, EVAL).dataSync()[0]!);
    const first = evalLoss();
    for (let step = 0; step < 25; step++) {
      const idx = Int32Array.from({ length: 16 }, () => rng.int(win.size));
      const batch = win.batch(idx);
      const { value, grads } = tf.variableGrads(() => model.loss(batch, { training: true, rng }), model.trainableVariables());
      opt.step(Object.fromEntries(Object.entries(grads).map(([k, g]) => [nameOf.get(k)!, g])), 3e-3);
      value.dispose();
      for (const g of Object.values(grads)) g.dispose();
      for (const t of batch.tensors) t.dispose();
    }
    const last = evalLoss();
    expect(last).toBeLessThan(first * 0.7);
    for (const t of fixed.tensors) t.dispose();
    model.dispose();
  });

  it('parallel return-conditioned rollouts: lockstep episodes, seeded, the same as one by one', async () => {
    const model = tiny({ type: 'flow', clamp: 10 });
    const common = { model, makeEnv: () => makeEnv('hopper'), target: 3600, scale: 1000, stateMean: new Array(11).fill(0), stateStd: new Array(11).fill(1), contextLength: 4, episodes: 2, maxSteps: 6 };
    const together = await rollouts({ ...common, parallel: 2, rng: new Rng(9) });
    const alone = await rollouts({ ...common, parallel: 1, rng: new Rng(9) });
    expect(together.lengths.every((l) => l >= 1 && l <= 6)).toBe(true);
    // the same resets in the same order, so the same episodes
    together.returns.forEach((r, i) => expect(r).toBeCloseTo(alone.returns[i]!, 6));
    model.dispose();
  });
});

describe('the d4rl task with the core trainer', () => {
  it('trains a few updates with sampling with replacement, evaluates by rollouts, records the normalised score', async () => {
    const dataRoot = tmp();
    await d4rlTask.data!.generate!.run({ dataRoot, dataset: 'hopper-random', options: { policy: 'random', steps: 300, seed: 1 }, log: () => {} });
    const cfgPath = join(dataRoot, 'tiny.yaml');
    writeFileSync(
      cfgPath,
      [
        'task: d4rl',
        'dataset: hopper-random',
        'seed: 1',
        'model: {name: flowformer, hiddenSize: 16, nLayers: 1, nHeads: 2}',
        'attention: {type: flow, clamp: 10}',
        'optimizer: {type: adamw, lr: 0.001, weightDecay: 0.0001, decayAll: true}',
        'schedule: {type: warmup-constant, warmupSteps: 2, warmupInitLr: 0.0005}',
        'training: {batchSize: 8, steps: 4, gradClip: 0.25, logEvery: 1}',
        'evaluation: {every: 4, unit: steps, split: valid, testBest: false}',
        'data: {contextLength: 5}',
        'rollout: {episodes: 2, finalEpisodes: 2, parallel: 2, maxSteps: 5}',
      ].join('\n'),
    );
    const losses: number[] = [];
    const summary = await train({ configPath: cfgPath, task: d4rlTask, dataRoot, resultsRoot: join(dataRoot, 'results'), cacheDir: join(dataRoot, '.cache'), progress: false, log: () => {}, handleSigint: false, onStep: (s) => losses.push(s.loss) });
    expect(losses.length).toBe(4);
    expect(losses.every(Number.isFinite)).toBe(true);
    const m = summary.final!.metrics;
    expect(Object.keys(m)).toEqual(expect.arrayContaining(['score', 'return_3600', 'score_1800', 'length_3600']));
    expect(m.score).toBeCloseTo((100 * (m.return_3600! + 20.272305)) / (3234.3 + 20.272305), 6);
  });
});
