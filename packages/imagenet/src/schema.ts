/**
 * The imagenet task's config sections. Defaults are the paper's recipe: the model of
 * thuml/Flowformer `Flowformer_CV/main.py` (`Flowformer(patch_size=4, embed_dim=[96,192,384,768],
 * depth=[3,3,10,3], drop_path_rate=0.2, init_values=1e-5)`) and DeiT's data pipeline
 * (`--color-jitter 0.4 --aa rand-m9-mstd0.5-inc1 --smoothing 0.1 --mixup 0.8 --cutmix 1.0
 * --mixup-switch-prob 0.5 --train-interpolation bicubic`).
 */
import { z } from 'zod';

const posInt = () => z.number().int().positive();
const prob = () => z.number().min(0).max(1);

export const ImagenetModelSchema = z.strictObject({
  /** 'flowformer': the four-stage model; 'deit': DeiT (a plain ViT with CLS). The attention comes from the `attention` section. */
  arch: z.enum(['flowformer', 'deit']).default('flowformer'),
  /** Input side in pixels; must equal data.imageSize. */
  imageSize: posInt().default(224),
  patchSize: posInt().default(4),
  /** flowformer: widths, depths and heads per stage. */
  dims: z.array(posInt()).min(1).default([96, 192, 384, 768]),
  depths: z.array(posInt()).min(1).default([3, 3, 10, 3]),
  /** The original's Flow_Attention(dim) uses its default num_heads=12 in every stage. */
  heads: z.array(posInt()).min(1).default([12, 12, 12, 12]),
  /** deit: width, depth, heads (DeiT-S: 384, 12, 6; patchSize 16). */
  dim: posInt().default(384),
  depth: posInt().default(12),
  nHeads: posInt().default(6),
  mlpRatio: z.number().positive().default(4),
  /** Stochastic depth of the last block, rising linearly from 0 (Flowformer 0.2, DeiT-S 0.1). */
  dropPath: z.number().min(0).lt(1).default(0.2),
  /** LayerScale init on the MLP branch (flowformer only; 0 = none). */
  layerScale: z.number().min(0).default(1e-5),
  /**
   * flowformer with a 'flow' attention: added once more after each of the four flow
   * contractions, as the vision code's Flow_Attention (`flowformer.py:76-79`) does on top of
   * the usual eps. 1e-6 is the original's computation; 0 gives the core Flow-Attention
   * (`Flow_Attention.py`), a deliberate difference to label in tables.
   */
  flowOuterEps: z.number().min(0).default(1e-6),
  /** Dropout (DeiT/Flowformer `--drop`, 0). */
  dropout: z.number().min(0).lt(1).default(0),
});

export const ImagenetDataSchema = z.strictObject({
  /** The image-folder dataset under the data root (`<root>/<dir>/<trainSplit>/<class>/*`). */
  dir: z.string().default('imagenet'),
  trainSplit: z.string().default('train'),
  /** The evaluated folder (ImageNet 'val', the paper's numbers), exposed as the `test` split. */
  evalSplit: z.string().default('val'),
  imageSize: posInt().default(224),
  /** Use only the first N images of each class of the training / evaluation folders (quick checks). */
  trainPerClass: posInt().nullable().default(null),
  evalPerClass: posInt().nullable().default(null),
  /** 'random-resized' (ImageNet) or 'pad-random' (RandomCrop(size, padding=4): the original's rule for inputs <= 32 px). */
  trainCrop: z.enum(['random-resized', 'pad-random']).default('random-resized'),
  scale: z.tuple([z.number().gt(0).max(1), z.number().gt(0).max(1)]).default([0.08, 1]),
  ratio: z.tuple([z.number().positive(), z.number().positive()]).default([3 / 4, 4 / 3]),
  hflip: prob().default(0.5),
  /** RandAugment (timm rand-m9-mstd0.5-inc1), or null for none. */
  randAugment: z
    .strictObject({ numOps: posInt().default(2), magnitude: z.number().min(0).max(10).default(9), magnitudeStd: z.number().min(0).default(0.5), prob: prob().default(0.5) })
    .nullable()
    .default({ numOps: 2, magnitude: 9, magnitudeStd: 0.5, prob: 0.5 }),
  /** ColorJitter strength (brightness = contrast = saturation). */
  colorJitter: z.number().min(0).default(0.4),
  /**
   * timm's `transforms_imagenet_train` applies ColorJitter only when no auto-augmentation is
   * set, so DeiT's `--color-jitter 0.4` is inactive next to RandAugment. false follows timm.
   */
  applyJitterWithRandAugment: z.boolean().default(false),
  /** Evaluation resize: shorter side to floor(imageSize / evalCropPct), then centre crop (DeiT 0.875 = 224/256; 1 = none). */
  evalCropPct: z.number().gt(0).max(1).default(0.875),
  /** Mixup/CutMix (timm Mixup, batch mode), or null for none. */
  mixup: z
    .strictObject({ mixupAlpha: z.number().min(0).default(0.8), cutmixAlpha: z.number().min(0).default(1.0), prob: prob().default(1), switchProb: prob().default(0.5) })
    .nullable()
    .default({ mixupAlpha: 0.8, cutmixAlpha: 1.0, prob: 1, switchProb: 0.5 }),
  /** Label smoothing: folded into the Mixup targets, or the cross-entropy's when mixup is null (DeiT 0.1). */
  labelSmoothing: z.number().min(0).lt(1).default(0.1),
  /**
   * Worker threads that decode and augment the images (src/data/split.ts); null (the default):
   * one per core (os.availableParallelism()); 0: all in the main thread, which then blocks the
   * training step while it augments. The batches are the same bytes whatever the number.
   */
  workers: z.number().int().min(0).nullable().default(null),
});

/**
 * The linear learning-rate scaling of DeiT (`lr = base * batch / 512`), checked at load: a run
 * whose effective batch changed without its lr fails with the value to set. null: no check.
 */
export const LrScalingSchema = z.strictObject({ baseLr: z.number().positive(), baseBatch: posInt().default(512) }).nullable().default(null);

export type ImagenetModelConfig = z.output<typeof ImagenetModelSchema>;
export type ImagenetDataConfig = z.output<typeof ImagenetDataSchema>;
export type LrScalingConfig = z.output<typeof LrScalingSchema>;
