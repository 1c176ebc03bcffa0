/**
 * `flowformer bench data --task imagenet`: throughput of the image pipeline (images per second)
 * on the same files, in three views:
 *   decode — read + decode the whole file to RGB, nothing else (the floor under any pipeline);
 *   train  — training view (crop + flip + RandAugment + normalise + Mixup, as configured);
 *   eval   — evaluation view (resize + centre crop + normalise);
 * train and eval go through the same `ImageFolderSplit.batch` the trainer calls (tensors
 * included, BATCHES_AHEAD batches built ahead of the one consumed as the trainer does), once per
 * number of worker threads asked for. The worker counts are timed in
 * interleaved rounds (1, 2, 1, 2, ...) and each figure is the median over the rounds, so that a
 * load that comes and goes on a shared machine falls on all of them alike; the scaling ratio is
 * the median of the per-round ratios.
 *
 * Besides images/s, each row gives the main thread's busy time per batch (event-loop
 * utilisation while the batch is built): the part of a batch that would hold up a training
 * step, which the worker threads are there to remove.
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { BATCHES_AHEAD, Rng, tf } from '@flowformer/core';
import { mapLimit } from '@flowformer/core/io';
import { decodeFull } from './data/decode.ts';
import { scanImageFolder } from './data/folder.ts';
import { ImageFolderSplit, resolveWorkers } from './data/split.ts';
import { ImagenetDataSchema, type ImagenetDataConfig } from './schema.ts';
import { pipelineOf } from './build.ts';

export interface BenchDataOptions {
  /** An image folder with class sub-folders (e.g. <data-root>/imagenet/train or ../shared/data/cifar10/train). */
  dir: string;
  /** Data settings (imageSize, augmentation, workers...); the recipe defaults otherwise. */
  data?: Partial<ImagenetDataConfig>;
  /** Worker-thread counts to compare (0: the main thread); default the data settings' one. */
  workers?: (number | null)[];
  /** Interleaved rounds over the worker counts (default 3); figures are medians over them. */
  rounds?: number;
  /** Images per batch (default 64) and timed batches per view and round (default 4, after one warm-up batch per split). */
  batchSize?: number;
  batches?: number;
  seed?: number;
  log?: (m: string) => void;
}

export interface Throughput {
  imagesPerSecond: number;
  msPerImage: number;
}

/** One view at one worker count: medians over the rounds, and every round's figure. */
export interface ViewResult extends Throughput {
  /** Main-thread busy time per batch (ms): event-loop utilisation x wall time while building it. */
  mainThreadMsPerBatch: number;
  /**
   * CPU time of the whole process (every thread: main, workers, libuv's) per image, in ms:
   * 1000 / this is images/s per core, which the load of other processes on the machine touches
   * far less than images/s.
   */
  cpuMsPerImage: number;
  rounds: number[];
}

export interface WorkersResult {
  /** Worker threads (0: the main thread). */
  workers: number;
  /** true for the count data.workers gives when unset (one per core). */
  isDefault: boolean;
  train: ViewResult;
  eval: ViewResult;
}

export interface BenchDataResult {
  dir: string;
  /** Image files in the folder (the timed ones are a seeded random sample of them). */
  files: number;
  imageSize: number;
  batchSize: number;
  /** Timed images per view and round (batches x batchSize). */
  images: number;
  rounds: number;
  /** The first worker-thread count timed (the only one unless several were asked for). */
  workers: number;
  cores: number;
  decode: Throughput;
  byWorkers: WorkersResult[];
  /**
   * Median over the rounds of train images/s at each count / at the first count listed (e.g.
   * `{ "2": 1.86 }` for --workers 1,2).
   */
  trainScaling: Record<string, number>;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export async function benchData(opts: BenchDataOptions): Promise<BenchDataResult> {
  const data = ImagenetDataSchema.parse(opts.data ?? {});
  const folder = scanImageFolder(opts.dir);
  const pipeline = pipelineOf(data);
  const counts = [...new Set((opts.workers ?? [data.workers]).map(resolveWorkers))];
  const splits = counts.map((w) => new ImageFolderSplit(folder, pipeline, w));
  const size = splits[0]!.size;
  const B = Math.min(opts.batchSize ?? 64, size);
  const nb = opts.batches ?? 4;
  const rounds = opts.rounds ?? 3;
  const rng = new Rng(opts.seed ?? 0);
  const log = opts.log ?? (() => {});
  const order = new Int32Array(size).map((_, i) => i);
  rng.shuffle(order);
  const batchIndices = (b: number) => new Int32Array(B).map((_, i) => order[(b * B + i) % size]!);
  const fileOf = (i: number) => splits[0]!.fileOf(i).file;
  try {
    // Read every file once first so that no view pays for the disk and the others not: all of
    // them then decode from the page cache.
    for (let b = 0; b <= nb; b++) await mapLimit([...batchIndices(b)], 8, (i) => readFile(fileOf(i)));
    const decodeSeconds = await wall(async () => {
      for (let b = 1; b <= nb; b++) await mapLimit([...batchIndices(b)], 4, (i) => decodeFull(fileOf(i)));
    });
    const decode = throughput(nb * B, decodeSeconds);
    // Warm-up: start every pool's threads, load sharp and let the JIT compile, untimed.
    for (const split of splits) {
      for (const training of [true, false]) tf.dispose((await split.batch(batchIndices(0), { training, rng: new Rng(1) })).tensors);
    }
    const times = splits.map(() => ({ train: [] as number[], eval: [] as number[], trainBusy: [] as number[], evalBusy: [] as number[], trainCpu: [] as number[], evalCpu: [] as number[] }));
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < splits.length; k++) {
        for (const view of ['train', 'eval'] as const) {
          // The same images and augmentation draws for every count in a round; batches built
          // ahead of the one consumed as the trainer builds them.
          const build = (b: number) => splits[k]!.batch(batchIndices(b), { training: view === 'train', rng: new Rng(1000 * (r + 1) + b) });
          const elu0 = performance.eventLoopUtilization();
          const cpu0 = process.cpuUsage();
          const s = await wall(async () => {
            const pending = Array.from({ length: Math.min(nb, BATCHES_AHEAD) }, (_, i) => build(i + 1));
            for (let b = 1; b <= nb; b++) {
              const batch = await pending.shift()!;
              if (b + BATCHES_AHEAD <= nb) pending.push(build(b + BATCHES_AHEAD));
              tf.dispose(batch.tensors);
            }
          });
          const elu = performance.eventLoopUtilization(elu0);
          const cpu = process.cpuUsage(cpu0);
          times[k]![view].push((nb * B) / s);
          times[k]![view === 'train' ? 'trainBusy' : 'evalBusy'].push(elu.active / nb);
          times[k]![view === 'train' ? 'trainCpu' : 'evalCpu'].push((cpu.user + cpu.system) / 1000 / (nb * B));
        }
      }
      log(`round ${r + 1}/${rounds}: train ${counts.map((w, k) => `${w} workers ${times[k]!.train[r]!.toFixed(0)}`).join(', ')} img/s`);
    }
    const defaultWorkers = resolveWorkers(null);
    const viewOf = (ips: number[], busy: number[], cpu: number[]): ViewResult => {
      const m = median(ips);
      return { imagesPerSecond: m, msPerImage: 1000 / m, mainThreadMsPerBatch: median(busy), cpuMsPerImage: median(cpu), rounds: ips };
    };
    const byWorkers = counts.map((w, k) => {
      const t = times[k]!;
      return { workers: w, isDefault: w === defaultWorkers, train: viewOf(t.train, t.trainBusy, t.trainCpu), eval: viewOf(t.eval, t.evalBusy, t.evalCpu) };
    });
    const trainScaling: Record<string, number> = {};
    for (let k = 1; k < counts.length; k++) trainScaling[String(counts[k])] = median(times[k]!.train.map((v, r) => v / times[0]!.train[r]!));
    const result: BenchDataResult = { dir: opts.dir, files: size, imageSize: data.imageSize, batchSize: B, images: nb * B, rounds, workers: counts[0]!, cores: defaultWorkers, decode, byWorkers, trainScaling };
    log(
      `imagenet data: ${opts.dir} at ${data.imageSize}px: decode ${decode.imagesPerSecond.toFixed(0)} img/s; ` +
        byWorkers.map((w) => `${w.workers} workers: train ${w.train.imagesPerSecond.toFixed(0)}, eval ${w.eval.imagesPerSecond.toFixed(0)} img/s`).join('; '),
    );
    return result;
  } finally {
    await Promise.all(splits.map((s) => s.close()));
  }
}

async function wall(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

function throughput(images: number, seconds: number): Throughput {
  return { imagesPerSecond: images / seconds, msPerImage: (1000 * seconds) / images };
}
