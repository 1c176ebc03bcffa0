import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVAL, initBackend, Rng, shutdownBackend, type TaskContext } from '@flowformer/core';
import { lraTask, type LraConfig } from '../src/task.ts';
import { CIFAR_RECORD_BYTES } from '../src/data/image.ts';
import type { LraClassifier } from '../src/model.ts';
import { tempDir } from './helpers.ts';

beforeAll(async () => {
  await initBackend((process.env.FLOWFORMER_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'wasm');
});
afterAll(async () => {
  await shutdownBackend();
});
const tmp = tempDir();
afterAll(tmp.cleanup);

const ctx = (dataRoot: string): TaskContext => ({ dataRoot, cacheDir: path.join(tmp.dir, 'cache'), rng: new Rng(0), log: () => {} });
const cfg = (dataset: string, data: Record<string, unknown>, model: Record<string, unknown> = {}) =>
  ({
    task: 'lra',
    dataset,
    seed: 0,
    model: { name: 'flowformer', embDim: 16, qkvDim: 8, nHeads: 2, nLayers: 1, mlpDim: 16, dropout: 0, pool: 'cls', positions: 'sinusoidal', maskPadding: true, ...model },
    attention: { type: 'flow' },
    data: { size: 'full', generate: false, difficulty: 'hard', splitSeed: 0, ...data },
  }) as unknown as LraConfig;

/** Loads, builds and runs one evaluation batch; returns the info and the logits' shape. */
async function roundTrip(config: LraConfig, dataRoot: string) {
  const data = await lraTask.load(config, ctx(dataRoot));
  const model = lraTask.build(config, data, new Rng(1)) as LraClassifier;
  const b = await data.train.batch(Int32Array.from([0, 1]), { training: false, rng: new Rng(2) });
  const logits = model.forward(b, EVAL);
  const shape = logits.shape;
  const metrics = await lraTask.evaluate(model, data.test!, { config, splitName: 'test', batchSize: 4, rng: new Rng(3), log: () => {} });
  logits.dispose();
  b.tensors.forEach((t) => t.dispose());
  model.dispose();
  return { info: data.info, shape, metrics, data };
}

describe('lra task: load -> build -> evaluate on small files in the real formats', () => {
  it('text (aclImdb folders): bytes + 1, test split doubles as validation', async () => {
    const root = path.join(tmp.dir, 'd1');
    for (const [s, c, n, t] of [['train', 'pos', '1_9.txt', 'good film'], ['train', 'neg', '2_1.txt', 'bad'], ['test', 'pos', '3_8.txt', 'nice'], ['test', 'neg', '4_2.txt', 'awful']]) {
      mkdirSync(path.join(root, 'lra/imdb/aclImdb', s!, c!), { recursive: true });
      writeFileSync(path.join(root, 'lra/imdb/aclImdb', s!, c!, n!), t!);
    }
    const r = await roundTrip(cfg('text', { maxLength: 12 }), root);
    expect(r.info).toMatchObject({ vocabSize: 257, numClasses: 2, trainSize: 2, validSize: 2, testSize: 2, dual: false });
    expect(r.data.valid).toBe(r.data.test);
    expect(r.shape).toEqual([2, 2]);
    expect(r.metrics.majorityRate).toBe(0.5);
    // The two training reviews, in a seeded shuffled order, as bytes + 1 padded with 0.
    const b = await r.data.train.batch(Int32Array.from([0, 1]), { training: false, rng: new Rng(0) });
    const ids = Array.from(b.tensors[0]!.dataSync());
    const rows = [ids.slice(0, 12), ids.slice(12)].map((row) => Buffer.from(row.filter((x) => x > 0).map((x) => x - 1)).toString());
    expect(rows.sort()).toEqual(['bad', 'good film']);
    expect(ids.slice(0, 12).filter((x) => x === 0).length).toBeGreaterThan(0);
    b.tensors.forEach((t) => t.dispose());
  });

  it('retrieval (AAN tsv): a dual encoder over two documents', async () => {
    const dir = path.join(tmp.dir, 'd2', 'lra/aan');
    mkdirSync(dir, { recursive: true });
    for (const s of ['train', 'eval', 'test']) writeFileSync(path.join(dir, `new_aan_pairs.${s}.tsv`), '1\ta\tb\tfirst doc\tsecond\n0\tc\td\tthird\tfourth doc\n');
    const r = await roundTrip(cfg('retrieval', { maxLength: 16 }), path.join(tmp.dir, 'd2'));
    expect(r.info).toMatchObject({ vocabSize: 257, dual: true, trainSize: 2 });
    expect(r.shape).toEqual([2, 2]);
  });

  it('image (CIFAR binary batches): 1024 pixel tokens, 90/10 split, no padding mask', async () => {
    const dir = path.join(tmp.dir, 'd3', 'lra/cifar10/cifar-10-batches-bin');
    mkdirSync(dir, { recursive: true });
    const rec = (n: number) => {
      const b = Buffer.alloc(n * CIFAR_RECORD_BYTES, 128);
      for (let r = 0; r < n; r++) b[r * CIFAR_RECORD_BYTES] = r % 10;
      return b;
    };
    for (let i = 1; i <= 5; i++) writeFileSync(path.join(dir, `data_batch_${i}.bin`), rec(4));
    writeFileSync(path.join(dir, 'test_batch.bin'), rec(6));
    const r = await roundTrip(cfg('image', { maxLength: 1024 }, { positions: 'learned' }), path.join(tmp.dir, 'd3'));
    expect(r.info).toMatchObject({ vocabSize: 256, numClasses: 10, trainSize: 18, validSize: 2, testSize: 6, hasPadding: false });
    expect(r.shape).toEqual([2, 10]);
    await expect(lraTask.load(cfg('image', { maxLength: 512 }), ctx(path.join(tmp.dir, 'd3')))).rejects.toThrow(/maxLength must be 1024/);
  });

  it('pathfinder and listops: a missing set says how to generate it', async () => {
    await expect(lraTask.load(cfg('pathfinder', { maxLength: 1024 }), ctx(path.join(tmp.dir, 'none')))).rejects.toThrow(/flowformer data generate --task lra --dataset pathfinder/);
    await expect(lraTask.load(cfg('listops', { maxLength: 100, size: 'mini' }), ctx(path.join(tmp.dir, 'none')))).rejects.toThrow(/--dataset listops --size mini/);
    await expect(lraTask.load(cfg('mnist', { maxLength: 100 }), ctx(tmp.dir))).rejects.toThrow(/unknown dataset 'mnist'/);
  });
});
