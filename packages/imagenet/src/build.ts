/**
 * What the imagenet task, its data benchmark (bench.ts) and its flow maps (visualize.ts) share:
 * the config's type and sections, the image pipeline it configures, and the model it builds.
 * Kept apart from task.ts so that those modules, which task.ts loads on demand, need not
 * import task.ts back.
 */
import type { Config, Rng } from '@flowformer/core';
import type { ImagePipelineArgs } from './data/views.ts';
import { countParams, DeiT, HierarchicalFlowformer, type ImageClassifier } from './model.ts';
import { ImagenetDataSchema, ImagenetModelSchema, LrScalingSchema, type ImagenetDataConfig, type ImagenetModelConfig, type LrScalingConfig } from './schema.ts';

export type ImagenetConfig = Config & {
  model: ImagenetModelConfig & { name: string };
  data: ImagenetDataConfig & { root?: string };
  lrScaling: LrScalingConfig;
};

/** The task's config sections, validated by the core's loader next to the shared ones. */
export const imagenetSchemas = { model: ImagenetModelSchema, data: ImagenetDataSchema, lrScaling: LrScalingSchema };

export function pipelineOf(d: ImagenetDataConfig): ImagePipelineArgs {
  return {
    imageSize: d.imageSize,
    trainCrop: d.trainCrop,
    scale: d.scale,
    ratio: d.ratio,
    hflipProb: d.hflip,
    randAugment: d.randAugment,
    colorJitter: d.colorJitter,
    applyJitterWithRandAugment: d.applyJitterWithRandAugment,
    evalCropPct: d.evalCropPct,
    mixup: d.mixup ? { ...d.mixup, labelSmoothing: d.labelSmoothing } : null,
  };
}

/** Builds the configured model for `numClasses` classes. */
export function buildImageModel(config: ImagenetConfig, numClasses: number, rng: Rng): ImageClassifier {
  const m = config.model;
  if (m.imageSize !== config.data.imageSize) throw new Error(`imagenet: model.imageSize (${m.imageSize}) and data.imageSize (${config.data.imageSize}) differ; set both`);
  const common = { imageSize: m.imageSize, numClasses, patchSize: m.patchSize, mlpRatio: m.mlpRatio, dropPath: m.dropPath, dropout: m.dropout, attention: config.attention };
  const labelSmoothing = config.data.mixup ? 0 : config.data.labelSmoothing; // with Mixup the smoothing is in the soft targets
  if (m.arch === 'deit') return new DeiT(rng, { ...common, dim: m.dim, depth: m.depth, heads: m.nHeads, labelSmoothing });
  return new HierarchicalFlowformer(rng, { ...common, dims: m.dims, depths: m.depths, heads: m.heads, layerScale: m.layerScale, labelSmoothing, flowOuterEps: m.flowOuterEps });
}

/** The expected parameter count of the configured model (without building it). */
export function configParams(config: ImagenetConfig, numClasses: number): number {
  const m = config.model;
  return m.arch === 'deit'
    ? countParams('deit', { imageSize: m.imageSize, numClasses, patchSize: m.patchSize, dim: m.dim, depth: m.depth, heads: m.nHeads, mlpRatio: m.mlpRatio })
    : countParams('flowformer', { imageSize: m.imageSize, numClasses, patchSize: m.patchSize, dims: m.dims, depths: m.depths, heads: m.heads, mlpRatio: m.mlpRatio, layerScale: m.layerScale });
}
