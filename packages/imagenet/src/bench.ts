/**
 * `flowformer bench data --task imagenet`: decoding and augmentation throughput of the image
 * pipeline (images per second) in three views of the same files:
 *   decode — read + decode the whole file to RGB, nothing else (the floor under any pipeline);
 *   train  — training view (crop + flip + RandAugment + normalise + Mixup, as configured);
 *   eval   — evaluation view (resize + centre crop + normalise);
 * train and eval go through the same `ImageFolderSplit.batch` the trainer calls (tensors included).
 */
import { readFile } from 'node:fs/promises';
import { Rng, tf } from '@flowformer/core';
import { mapLimit } from '@flowformer/core/io';
import { decodeFull } from './data/decode.ts';
import { scanImageFolder } from './data/folder.ts';
import { ImageFolderSplit } from './data/split.ts';
import { ImagenetDataSchema, type ImagenetDataConfig } from './schema.ts';
import { pipelineOf } from './build.ts';

export interface BenchDataOptions {
  /** An image folder with class sub-folders (e.g. <data-root>/imagenet/train or ../shared/data/cifar10/train). */
  dir: string;
  /** Data settings (imageSize, augmentation, workers...); the recipe defaults otherwise. */
  data?: Partial<ImagenetDataConfig>;
  /** Images per batch (default 64) and number of timed batches per view (default 4, after one warm-up batch). */
  batchSize?: number;
  batches?: number;
  seed?: number;
  log?: (m: string) => void;
}

export interface Throughput {
  imagesPerSecond: number;
  msPerImage: number;
}

export interface BenchDataResult {
  dir: string;
  /** Image files in the folder (the timed ones are a seeded random sample of them). */
  files: number;
  imageSize: number;
  workers: number;
  batchSize: number;
  /** Timed images per view (batches x batchSize). */
  images: number;
  decode: Throughput;
  train: Throughput;
  eval: Throughput;
}

export async function benchData(opts: BenchDataOptions): Promise<BenchDataResult> {
  const data = ImagenetDataSchema.parse(opts.data ?? {});
  const folder = scanImageFolder(opts.dir);
  const split = new ImageFolderSplit(folder, pipelineOf(data), data.workers);
  const B = Math.min(opts.batchSize ?? 64, split.size);
  const nb = opts.batches ?? 4;
  const rng = new Rng(opts.seed ?? 0);
  const log = opts.log ?? (() => {});
  const order = new Int32Array(split.size).map((_, i) => i);
  rng.shuffle(order);
  const batchIndices = (b: number) => new Int32Array(B).map((_, i) => order[(b * B + i) % split.size]!);
  // Read every file once first so that no view pays for the disk and the others not: all three
  // then time decoding from the page cache.
  for (let b = 0; b <= nb; b++) await mapLimit([...batchIndices(b)], data.workers, (i) => readFile(split.fileOf(i).file));
  const time = async (one: (idx: Int32Array) => Promise<void>): Promise<Throughput> => {
    let t0 = 0;
    for (let b = 0; b <= nb; b++) {
      if (b === 1) t0 = performance.now(); // batch 0 warms up sharp and the JIT
      await one(batchIndices(b));
    }
    const s = (performance.now() - t0) / 1000;
    return { imagesPerSecond: (nb * B) / s, msPerImage: (1000 * s) / (nb * B) };
  };
  const decode = await time(async (idx) => {
    await mapLimit([...idx], data.workers, (i) => decodeFull(split.fileOf(i).file));
  });
  const view = (training: boolean) =>
    time(async (idx) => {
      const batch = await split.batch(idx, { training, rng });
      tf.dispose(batch.tensors);
    });
  const train = await view(true);
  const evalR = await view(false);
  const r: BenchDataResult = { dir: opts.dir, files: split.size, imageSize: data.imageSize, workers: data.workers, batchSize: B, images: nb * B, decode, train, eval: evalR };
  log(
    `imagenet data: ${opts.dir} at ${data.imageSize}px, ${data.workers} workers: decode ${decode.imagesPerSecond.toFixed(0)} img/s, ` +
      `train ${train.imagesPerSecond.toFixed(0)} img/s, eval ${evalR.imagesPerSecond.toFixed(0)} img/s (${nb * B} images each)`,
  );
  return r;
}
