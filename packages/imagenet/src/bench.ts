/**
 * `flowformer bench data --task imagenet`: decoding and augmentation throughput of the image
 * pipeline (images per second), training view (crop + flip + RandAugment + Mixup) and
 * evaluation view (resize + centre crop), through the same `ImageFolderSplit.batch` the trainer calls.
 */
import { Rng, tf } from '@flowformer/core';
import { scanImageFolder } from './data/folder.ts';
import { ImageFolderSplit } from './data/split.ts';
import { ImagenetDataSchema, type ImagenetDataConfig } from './schema.ts';
import { pipelineOf } from './task.ts';

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

export interface BenchDataResult {
  dir: string;
  imageSize: number;
  workers: number;
  batchSize: number;
  images: number;
  train: { imagesPerSecond: number; msPerImage: number };
  eval: { imagesPerSecond: number; msPerImage: number };
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
  const run = async (training: boolean) => {
    let t0 = 0;
    for (let b = 0; b <= nb; b++) {
      if (b === 1) t0 = performance.now(); // batch 0 warms up sharp and the file cache
      const idx = new Int32Array(B).map((_, i) => order[((b * B + i) % split.size)]!);
      const batch = await split.batch(idx, { training, rng });
      tf.dispose(batch.tensors);
    }
    const s = (performance.now() - t0) / 1000;
    return { imagesPerSecond: (nb * B) / s, msPerImage: (1000 * s) / (nb * B) };
  };
  const train = await run(true);
  const evalR = await run(false);
  const r: BenchDataResult = { dir: opts.dir, imageSize: data.imageSize, workers: data.workers, batchSize: B, images: nb * B, train, eval: evalR };
  log(`imagenet data: ${opts.dir} at ${data.imageSize}px, ${data.workers} workers: train ${train.imagesPerSecond.toFixed(0)} img/s, eval ${evalR.imagesPerSecond.toFixed(0)} img/s (${nb * B} images each)`);
  return r;
}
