/**
 * An image-folder split for the core trainer: `batch(indices, {training, rng})` decodes the
 * examples' files with sharp, augments the training ones, and returns NHWC float tensors.
 *
 * The per-image work (decode, crop, flip, RandAugment, normalise) runs in a pool of `workers`
 * worker threads (default: one per core), so that it scales with the cores and a batch being
 * built for the next update does not hold up the main thread, which only draws the seeds and
 * the Mixup/CutMix lambda and makes the tensors: the threads mix each pair (i, B-1-i) of
 * images themselves. `workers: 0` does it all in the main
 * thread, several files at once (a file sharp decodes, not a plain JPEG, is decoded on libuv's threads). Both paths give the same
 * bytes: each image draws only from its own seed, drawn up front in batch order. The threads
 * write the images straight into the batch (a SharedArrayBuffer): no pixel crosses threads by copy.
 */
import { Rng, tf, type Batch, type BatchContext, type Split } from '@flowformer/core';
import { availableCores, mapLimit, siblingEntry, WorkerPool } from '@flowformer/core/io';
import { drawMix, mixTargets, mixupCutmix } from './augment.ts';
import type { ImageFolder } from './folder.ts';
import { writeView, type ImagePipelineArgs, type ViewRequest, type ViewTask } from './views.ts';

export { trainView, type ImagePipelineArgs } from './views.ts';

export interface ImageBatch extends Batch {
  /** `[B, S, S, 3]` normalised images. */
  x: tf.Tensor4D;
  /** `[B]` int32 class indices (the un-mixed labels). */
  labels: tf.Tensor1D;
  /** `[B, C]` soft targets when Mixup/CutMix made them (training), else null. */
  targets: tf.Tensor2D | null;
}

/** Files decoded at once by the main-thread path (`workers: 0`): libuv's default thread pool size. */
const IN_THREAD_CONCURRENCY = 4;

/** `data.workers` as configured (null: one worker thread per core) to a number of threads. */
export const resolveWorkers = (workers: number | null | undefined): number => workers ?? availableCores();

export class ImageFolderSplit implements Split<ImageBatch> {
  readonly size: number;
  /** Worker threads (0: the main thread). */
  readonly workers: number;
  /** The pool, started at the first batch; one box for the splits that share their threads. */
  private readonly threads: { pool: WorkerPool<ViewTask, null> | null };

  /**
   * `workers`: worker threads (0: none; null: one per core). `subset`: indices into the folder's
   * files that make up this split (default all). `shareThreadsWith`: another split whose worker
   * threads this one uses (a task's training and evaluation splits), rather than starting its own.
   */
  constructor(
    readonly folder: ImageFolder,
    readonly pipeline: ImagePipelineArgs,
    workers: number | null = null,
    readonly subset: Int32Array | null = null,
    shareThreadsWith: ImageFolderSplit | null = null,
  ) {
    this.size = subset ? subset.length : folder.files.length;
    this.workers = resolveWorkers(workers);
    if (!(Number.isInteger(this.workers) && this.workers >= 0)) throw new Error(`imagenet: data.workers ${workers}: expected a whole number >= 0 (0: the main thread)`);
    if (shareThreadsWith && shareThreadsWith.workers !== this.workers) throw new Error(`imagenet: a split with ${this.workers} worker threads cannot share those of a split with ${shareThreadsWith.workers}`);
    this.threads = shareThreadsWith ? shareThreadsWith.threads : { pool: null };
  }

  get numClasses(): number {
    return this.folder.classes.length;
  }

  fileOf(i: number): { file: string; label: number } {
    const k = this.subset ? this.subset[i]! : i;
    if (!(k >= 0 && k < this.folder.files.length)) throw new Error(`imagenet: example index ${i} is outside the split (size ${this.size})`);
    return { file: this.folder.files[k]!, label: this.folder.labels[k]! };
  }

  async batch(indices: Int32Array, ctx: BatchContext): Promise<ImageBatch> {
    const p = this.pipeline;
    const S = p.imageSize;
    const B = indices.length;
    const items = Array.from(indices, (i) => this.fileOf(i));
    // One seed per image drawn up front, in batch order: the crops depend neither on which
    // decode finishes first nor on which thread does it.
    // The images are written straight into the batch: shared memory the worker threads see.
    const out = this.workers > 0 ? new SharedArrayBuffer(B * S * S * 3 * 4) : new ArrayBuffer(B * S * S * 3 * 4);
    const requests: ViewRequest[] = items.map((it, index) => ({ file: it.file, seed: ctx.training ? ctx.rng.nextUint32() : null, pipeline: p, out, index }));
    const x = new Float32Array(out);
    const labels = Int32Array.from(items, (it) => it.label);
    let targets: Float32Array | null = null;
    if (this.workers > 0) {
      // Mixup/CutMix drawn here, after the seeds as in the main-thread path, and applied by the
      // threads: each task is a pair (i, B-1-i) that its thread writes and mixes.
      const mix = ctx.training && p.mixup ? drawMix(S, S, p.mixup, ctx.rng) : null;
      const tasks: ViewTask[] = mix
        ? Array.from({ length: (B + 1) >> 1 }, (_, i) => ({ views: i === B - 1 - i ? [requests[i]!] : [requests[i]!, requests[B - 1 - i]!], mix }))
        : requests.map((r) => ({ views: [r], mix: null }));
      await Promise.all(tasks.map((t) => this.workerPool().run(t, t.views.map((v) => v.file).join(', '))));
      if (mix) targets = mixTargets(labels, this.numClasses, p.mixup!.labelSmoothing, mix.lam);
    } else {
      await mapLimit(requests, IN_THREAD_CONCURRENCY, writeView);
      if (ctx.training && p.mixup) targets = mixupCutmix(x, labels, B, S, S, this.numClasses, p.mixup, ctx.rng).targets;
    }
    const xt = tf.tensor4d(x, [B, S, S, 3]);
    const yt = tf.tensor1d(labels, 'int32');
    const tt = targets ? tf.tensor2d(targets, [B, this.numClasses]) : null;
    return { size: B, x: xt, labels: yt, targets: tt, tensors: tt ? [xt, yt, tt] : [xt, yt] };
  }

  /** Ends the worker threads, shared ones included (they also end with the process; idle ones never keep it alive). */
  async close(): Promise<void> {
    const pool = this.threads.pool;
    this.threads.pool = null;
    await pool?.close();
  }

  private workerPool(): WorkerPool<ViewTask, null> {
    this.threads.pool ??= new WorkerPool<ViewTask, null>({ entry: siblingEntry(import.meta.url, 'worker'), size: this.workers, name: 'imagenet data' });
    return this.threads.pool;
  }
}
