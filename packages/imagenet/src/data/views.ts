/**
 * The two views of one image file, as the split and its worker threads compute them: the
 * training view (crop, flip, RandAugment or ColorJitter, drawing only from the image's own
 * seed) and the evaluation view (resize and centre crop), each normalised to `[S, S, 3]` floats.
 * This module imports no tensor library, so a worker thread that loads it stays small.
 */
import { Rng } from '@flowformer/core/rng';
import { colorJitter, hflip, mixPair, normalizeInto, randAugment, releaseImage, type MixResult, type MixupArgs, type RandAugmentArgs, type RgbImage } from './augment.ts';
import { decodeEval, decodePadRandomCrop, decodeRandomResizedCrop } from './decode.ts';

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
  let im: RgbImage;
  if (p.trainCrop === 'random-resized') {
    im = await decodeRandomResizedCrop(file, p.imageSize, rng, p.scale, p.ratio, p.hflipProb); // flipped there
  } else {
    im = await decodePadRandomCrop(file, p.imageSize, 4, rng);
    if (p.hflipProb > 0 && rng.next() < p.hflipProb) im = then(im, hflip(im));
  }
  if (p.randAugment) im = then(im, randAugment(im, rng, p.randAugment));
  if (p.colorJitter > 0 && (!p.randAugment || p.applyJitterWithRandAugment)) im = then(im, colorJitter(im, p.colorJitter, rng));
  return im;
}

/** The next image of a chain: the previous one's pixels go back for later images (augment.ts). */
function then(prev: RgbImage, next: RgbImage): RgbImage {
  if (next !== prev) releaseImage(prev);
  return next;
}

/**
 * One image of a batch: its file, the seed of its training view (null: the evaluation view), and
 * where its `[S, S, 3]` floats go: image `index` of the batch buffer `out` (`[B, S, S, 3]`; a
 * SharedArrayBuffer when a worker thread writes it, so the pixels are never copied between threads).
 */
export interface ViewRequest {
  file: string;
  seed: number | null;
  pipeline: ImagePipelineArgs;
  out: ArrayBufferLike;
  index: number;
}

/** Writes the view of `req`, normalised with the ImageNet mean/std, into its place in the batch buffer. */
export async function writeView(req: ViewRequest): Promise<void> {
  const S = req.pipeline.imageSize;
  const im = req.seed !== null ? await trainView(req.file, req.pipeline, new Rng(req.seed)) : await decodeEval(req.file, S, req.pipeline.evalCropPct);
  normalizeInto(im, new Float32Array(req.out), req.index * S * S * 3);
  releaseImage(im);
}

/**
 * A worker thread's task: one image, or a pair (i, B-1-i) of a batch that Mixup/CutMix mixes
 * together; the thread writes both views and mixes them in place, so that the main thread does no
 * per-pixel work. `mix` was drawn by the main thread after every image's seed, as the batch rule has it.
 */
export interface ViewTask {
  views: ViewRequest[];
  mix: MixResult | null;
}

/** Writes the task's views into the batch buffer and, for a pair, mixes them (`mixPair`). */
export async function writeTask(task: ViewTask): Promise<void> {
  for (const v of task.views) await writeView(v);
  if (task.mix) {
    const [a, b] = task.views;
    const S = a!.pipeline.imageSize;
    mixPair(new Float32Array(a!.out), a!.index, (b ?? a)!.index, S, S, task.mix);
  }
}
