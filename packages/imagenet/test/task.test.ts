import { readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, loadConfig, shutdownBackend, tf, train } from '@flowformer/core';
import { benchData, configParams, imagenetTask, visualize, type ImagenetConfig } from '../src/index.ts';
import { parseQuery } from '../src/task.ts';
import { repoRoot, shared, tempDir } from './helpers.ts';

const cifar = shared('cifar10');
const tmp = tempDir();
beforeAll(async () => {
  await initBackend((process.env.FLOWFORMER_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'wasm');
});
afterAll(async () => {
  await shutdownBackend();
  tmp.cleanup();
});

const configDir = path.join(repoRoot, 'configs/imagenet');
const load = (rel: string, sets: string[] = []) => loadConfig<ImagenetConfig>(path.join(configDir, rel), { task: imagenetTask, sets }).config;

describe('configs', () => {
  it('the ImageNet recipe: AdamW 5e-4 x 1024/512, wd 0.05, cosine from 1e-6 over 5 warm-up epochs to 1e-5, 300 epochs, clip 1; the models and their sizes', () => {
    const f = load('imagenet-1k/flowformer.yaml');
    expect(f.optimizer).toMatchObject({ type: 'adamw', lr: 1e-3, weightDecay: 0.05 });
    expect(f.training.batchSize * f.training.gradAccum).toBe(1024);
    expect(f.schedule).toMatchObject({ type: 'warmup-cosine', unit: 'epoch', warmupSteps: 5, warmupInitLr: 1e-6, minLr: 1e-5, warmupPrefix: false });
    expect(f.training).toMatchObject({ epochs: 300, gradClip: 1 });
    expect(f.attention).toEqual({ type: 'flow', clamp: 1 });
    expect(f.data.mixup).toEqual({ mixupAlpha: 0.8, cutmixAlpha: 1, prob: 1, switchProb: 0.5 });
    expect(f.data.randAugment).toEqual({ numOps: 2, magnitude: 9, magnitudeStd: 0.5, prob: 0.5 });
    expect(configParams(f, 1000)).toBe(43_311_304);
    expect(load('imagenet-1k/flowformer-softmax.yaml').attention).toEqual({ type: 'softmax' });
    const d = load('imagenet-1k/deit-s-flow.yaml');
    expect(configParams(d, 1000)).toBe(22_050_664);
    expect(d.training.gradClip).toBe(1);
    expect(load('imagenet-1k/deit-s.yaml').attention.type).toBe('softmax');
    expect(load('cifar10/softmax.yaml').attention.type).toBe('softmax');
    expect(load('cifar10/flowformer.yaml').data).toMatchObject({ dir: 'cifar10', evalSplit: 'test', imageSize: 32, trainCrop: 'pad-random', mixup: null });
  });

  it('the linear lr scaling rule is checked at load and names the value to set', async () => {
    const cfg = load('imagenet-1k/flowformer.yaml', ['training.gradAccum=4']);
    await expect(imagenetTask.load(cfg, { dataRoot: tmp.dir, cacheDir: tmp.dir, rng: undefined as never, log: () => {} })).rejects.toThrow(
      /optimizer.lr is 0.001 but .* 5e-4|optimizer.lr is 0.001 but the linear scaling rule \(lrScaling\) gives 0.0005 x 512 \/ 512 = 0.0005.*Set optimizer.lr=0.0005/,
    );
    const ok = load('imagenet-1k/flowformer.yaml');
    await expect(imagenetTask.load(ok, { dataRoot: tmp.dir, cacheDir: tmp.dir, rng: undefined as never, log: () => {} })).rejects.toThrow(/imagenet\/train does not exist/);
  });
});

describe('visualize hook', () => {
  it("--query: 'row,col' or 'cls'; anything else names the expected form", () => {
    expect(parseQuery(undefined)).toBeUndefined();
    expect(parseQuery('3,4')).toEqual([3, 4]);
    expect(parseQuery(' 0 , 7 ')).toEqual([0, 7]);
    expect(parseQuery('CLS')).toBe('cls');
    expect(() => parseQuery('3;4')).toThrow(/--query '3;4': expected 'row,col'.*or 'cls'/);
    expect(() => parseQuery('-1,2')).toThrow(/expected 'row,col'/);
  });
});

describe.skipIf(!cifar.present)(`training on real CIFAR-10 images ${cifar.reason}`, () => {
  it('the CIFAR-10 proxy config (toy size) trains through the core trainer: the loss falls; top-1/top-5 reported; attention maps of the run; data throughput', async () => {
    const logs: string[] = [];
    const losses: number[] = [];
    const before = tf.memory().numTensors;
    const summary = await train({
      configPath: path.join(configDir, 'cifar10/flowformer.yaml'),
      sets: [
        'data.trainPerClass=20', 'data.evalPerClass=10', 'data.randAugment=null', 'model.dims=[16,16,24,32]', 'model.depths=[1,1,1,1]',
        'model.heads=[2,2,2,2]', 'training.epochs=4', 'training.batchSize=20', 'training.logEvery=1', 'evaluation.every=4',
        'optimizer.lr=0.003', 'schedule.unit=step', 'schedule.warmupSteps=4', 'optimizer.weightDecay=0',
      ],
      task: imagenetTask,
      dataRoot: path.dirname(cifar.path),
      resultsRoot: path.join(tmp.dir, 'results'),
      cacheDir: path.join(tmp.dir, 'cache'),
      progress: false,
      handleSigint: false,
      log: (m) => logs.push(m),
      onStep: (i) => losses.push(i.loss),
    });
    expect(logs.some((l) => /imagenet\/cifar10: 200 train images .* 100 evaluation images .* 10 classes, 32x32/.test(l))).toBe(true);
    expect(summary.status).toBe('completed');
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`CIFAR-10 toy: first losses ${losses.slice(0, 5).map((l) => l.toFixed(3))}, last ${losses.slice(-5).map((l) => l.toFixed(3))}; best ${JSON.stringify(summary.best)}`);
    expect(mean(losses.slice(-8))).toBeLessThan(mean(losses.slice(0, 5)) - 0.05);
    const runs = path.join(tmp.dir, 'results/runs/imagenet/cifar10-flowformer');
    const runDir = path.join(runs, readdirSync(runs)[0]!);
    expect(tf.memory().numTensors).toBe(before);

    // Figure 2 from the trained run: one column per head plus the image, two rows.
    const out = path.join(tmp.dir, 'maps.png');
    const r = await visualize(runDir, path.join(cifar.path, 'test/cat/0000.jpg'), out, { tile: 64 });
    expect(r.kind).toBe('flow');
    expect(r.heads).toBe(2);
    expect(r.grid).toEqual([8, 8]);
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([3 * 64, 2 * 64, 'png']);
    expect(tf.memory().numTensors).toBe(before);

    const b = await benchData({ dir: path.join(cifar.path, 'train'), data: { imageSize: 32, trainCrop: 'pad-random', evalCropPct: 1 }, workers: [0, 1], rounds: 2, batchSize: 32, batches: 2 });
    const [main, one] = b.byWorkers;
    console.log(`data throughput (shared machine, indicative): train ${main!.train.imagesPerSecond.toFixed(0)} / ${one!.train.imagesPerSecond.toFixed(0)} img/s (main thread / 1 worker), eval ${main!.eval.imagesPerSecond.toFixed(0)} img/s at 32 px`);
    expect(b.byWorkers.map((w) => w.workers)).toEqual([0, 1]);
    for (const w of b.byWorkers) {
      expect(w.train.imagesPerSecond).toBeGreaterThan(0);
      expect(w.eval.imagesPerSecond).toBeGreaterThan(0);
      expect(w.train.rounds).toHaveLength(2);
    }
    expect(b.trainScaling['1']).toBeGreaterThan(0);
    expect(b.decode.imagesPerSecond).toBeGreaterThan(0);
    expect(b.images).toBe(64);
  }, 600_000);
});
