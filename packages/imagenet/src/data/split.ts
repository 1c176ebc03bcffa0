/**
 * An image-folder split for the core trainer: `batch(indices, {training, rng})` decodes the
 * examples' files with sharp, at most `workers` at a time (a bounded queue: the trainer also
 * prefetches one batch ahead, so at most two batches of pixels are in memory), augments the
 * training ones, and returns NHWC float tensors.
 */
import { Rng, tf, type Batch, type BatchContext, type Split } from '@flowformer/core';
import { mapLimit } from '@flowformer/core/io';
import { colorJitter, hflip, mixupCutmix, normalizeInto, randAugment, type MixupArgs, type RandAugmentArgs, type RgbImage } from './augment.ts';
import { decodeEval, decodePadRandomCrop, decodeRandomResizedCrop } from './decode.ts';
import type { ImageFolder } from './folder.ts';

export interface ImageBatch extends Batch {
  /** `[B, S, S, 3]` normalised images. */
  x: tf.Tensor4D;
  /** `[B]` int32 class indices (the un-mixed labels). */
  labels: tf.Tensor1D;
  /** `[B, C]` soft targets when Mixup/CutMix made them (training), else null. */
  targets: tf.Tensor2D | null;
}

/** The training and evaluation transforms (DeiT's `create_transform` + `Mixup`). */
export interface ImagePipelineArgs {
  imageSize: number;
  /** 'random-resized': RandomResizedCrop (ImageNet); 'pad-random': RandomCrop with 4 px zero padding (the original's rule for inputs <= 32 px). */
  trainCrop: 'random-resized' | 'pad-random';
  scale: [number, number];
  ratio: [number, number];
  hflipProb: number;
  /** RandAugment, or null for none. */
  randAugment: RandAugmentArgs | null;
  /** ColorJitter strength; timm applies it only when RandAugment is off (`applyJitterWithRandAugment` false). */
  colorJitter: number;
  applyJitterWithRandAugment: boolean;
  /** Evaluation: resize the shorter side to floor(imageSize / evalCropPct), centre crop. */
  evalCropPct: number;
  mixup: MixupArgs | null;
}

/** Decodes and augments one training image (everything but Mixup/CutMix), drawing only from `rng`. */
export async function trainView(file: string, p: ImagePipelineArgs, rng: Rng): Promise<RgbImage> {
  let im =
    p.trainCrop === 'random-resized' ? await decodeRandomResizedCrop(file, p.imageSize, rng, p.scale, p.ratio) : await decodePadRandomCrop(file, p.imageSize, 4, rng);
  if (p.hflipProb > 0 && rng.next() < p.hflipProb) im = hflip(im);
  if (p.randAugment) im = randAugment(im, rng, p.randAugment);
  if (p.colorJitter > 0 && (!p.randAugment || p.applyJitterWithRandAugment)) im = colorJitter(im, p.colorJitter, rng);
  return im;
}

export class ImageFolderSplit implements Split<ImageBatch> {
  readonly size: number;

  /** `subset`: indices into the folder's files that make up this split (default all). */
  constructor(
    readonly folder: ImageFolder,
    readonly pipeline: ImagePipelineArgs,
    readonly workers = 4,
    readonly subset: Int32Array | null = null,
  ) {
    this.size = subset ? subset.length : folder.files.length;
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
    // One seed per image drawn up front, in batch order: the crops do not depend on which
    // decode finishes first.
    const seeds = ctx.training ? items.map(() => ctx.rng.nextUint32()) : null;
    const images = await mapLimit(items, this.workers, (it, j) =>
      ctx.training ? trainView(it.file, p, new Rng(seeds![j]!)) : decodeEval(it.file, S, p.evalCropPct),
    );
    const x = new Float32Array(B * S * S * 3);
    images.forEach((im, j) => normalizeInto(im, x, j * S * S * 3));
    const labels = Int32Array.from(items, (it) => it.label);
    let targets: Float32Array | null = null;
    if (ctx.training && p.mixup) targets = mixupCutmix(x, labels, B, S, S, this.numClasses, p.mixup, ctx.rng).targets;
    const xt = tf.tensor4d(x, [B, S, S, 3]);
    const yt = tf.tensor1d(labels, 'int32');
    const tt = targets ? tf.tensor2d(targets, [B, this.numClasses]) : null;
    return { size: B, x: xt, labels: yt, targets: tt, tensors: tt ? [xt, yt, tt] : [xt, yt] };
  }
}
