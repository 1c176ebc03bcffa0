/**
 * The `imagenet` task (issue 8): image classification on image folders (ImageNet-1K, or the
 * shared CIFAR-10 copy as a small-data proxy) with the paper's four-stage Flowformer or DeiT,
 * either with Flow-Attention or softmax attention, trained with the DeiT recipe; top-1/top-5.
 */
import path from 'node:path';
import {
  crossEntropy,
  forEachBatch,
  tf,
  type Config,
  type EvalContext,
  type Rng,
  type Split,
  type Task,
  type TaskContext,
  type TaskData,
  type TaskModel,
} from '@flowformer/core';
import { scanImageFolder, sortIlsvrcVal, type ImageFolder } from './data/folder.ts';
import { ImageFolderSplit, type ImageBatch, type ImagePipelineArgs } from './data/split.ts';
import { countParams, DeiT, HierarchicalFlowformer, type ImageClassifier } from './model.ts';
import { ImagenetDataSchema, ImagenetModelSchema, LrScalingSchema, type ImagenetDataConfig, type ImagenetModelConfig, type LrScalingConfig } from './schema.ts';

export type ImagenetConfig = Config & {
  model: ImagenetModelConfig & { name: string };
  data: ImagenetDataConfig & { root?: string };
  lrScaling: LrScalingConfig;
};

export interface ImagenetInfo {
  dataset: string;
  classes: string[];
  trainSize: number;
  testSize: number;
  imageSize: number;
  trainDir: string;
  evalDir: string;
}

/** Keeps the first `n` files of every class (files are grouped by class, sorted). */
function perClass(folder: ImageFolder, n: number | null): Int32Array | null {
  if (n === null) return null;
  const seen = new Map<number, number>();
  const keep: number[] = [];
  folder.labels.forEach((l, i) => {
    const c = seen.get(l) ?? 0;
    if (c < n) keep.push(i);
    seen.set(l, c + 1);
  });
  return Int32Array.from(keep);
}

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
  return new HierarchicalFlowformer(rng, { ...common, dims: m.dims, depths: m.depths, heads: m.heads, layerScale: m.layerScale, labelSmoothing });
}

/** The expected parameter count of the configured model (without building it). */
export function configParams(config: ImagenetConfig, numClasses: number): number {
  const m = config.model;
  return m.arch === 'deit'
    ? countParams('deit', { imageSize: m.imageSize, numClasses, patchSize: m.patchSize, dim: m.dim, depth: m.depth, heads: m.nHeads, mlpRatio: m.mlpRatio })
    : countParams('flowformer', { imageSize: m.imageSize, numClasses, patchSize: m.patchSize, dims: m.dims, depths: m.depths, heads: m.heads, mlpRatio: m.mlpRatio, layerScale: m.layerScale });
}

/** Top-1, top-5 accuracy and the mean cross-entropy of the model on a split (evaluation transform). */
export async function evaluateImages(model: ImageClassifier, split: Split<ImageBatch>, batchSize: number): Promise<{ top1: number; top5: number; loss: number }> {
  let top1 = 0;
  let top5 = 0;
  let lossSum = 0;
  let n = 0;
  await forEachBatch(split, batchSize, (batch) => {
    const r = tf.tidy(() => {
      const logits = model.forward(batch.x, { training: false });
      const k = Math.min(5, logits.shape[1]!);
      const { indices } = tf.topk(logits, k); // [B, k]
      const hit = tf.cast(tf.equal(indices, batch.labels.expandDims(1)), 'float32'); // [B, k]
      const h1 = tf.sum(tf.slice(hit, [0, 0], [-1, 1]));
      const h5 = tf.sum(hit);
      return tf.stack([h1, h5, tf.mul(crossEntropy(logits, batch.labels), batch.size)]);
    });
    const [a, b, c] = r.dataSync();
    r.dispose();
    top1 += a!;
    top5 += b!;
    lossSum += c!;
    n += batch.size;
  });
  return { top1: top1 / n, top5: top5 / n, loss: lossSum / n };
}

export const imagenetTask: Task<ImagenetConfig, ImageBatch> = {
  name: 'imagenet',
  description: 'image classification on image folders (ImageNet-1K; CIFAR-10 as a small proxy): four-stage Flowformer and DeiT-S, flow or softmax attention; top-1/top-5',
  datasets: [
    { name: 'imagenet-1k', description: 'ILSVRC2012 train/<wnid>/*.JPEG and val/<wnid>/*.JPEG under <data-root>/imagenet (not downloadable here). Paper: Flowformer 80.6, DeiT-S+Flow 80.0 top-1' },
    { name: 'cifar10', description: 'the shared CIFAR-10 JPEG folders (<data-root>/cifar10/{train,test}/<class>), 32x32: a small-data proxy, not the paper benchmark' },
  ],
  schema: { model: ImagenetModelSchema, data: ImagenetDataSchema, lrScaling: LrScalingSchema },
  metric: { name: 'top1', mode: 'max' },
  defaultConfig: 'configs/imagenet/cifar10/flowformer.yaml',

  async load(config: ImagenetConfig, ctx: TaskContext): Promise<TaskData<ImageBatch>> {
    const d = config.data;
    const s = config.lrScaling;
    if (s) {
      const batch = config.training.batchSize * config.training.gradAccum;
      const want = (s.baseLr * batch) / s.baseBatch;
      if (Math.abs(config.optimizer.lr - want) > 1e-9 * want) {
        throw new Error(
          `imagenet: optimizer.lr is ${config.optimizer.lr} but the linear scaling rule (lrScaling) gives ${s.baseLr} x ${batch} / ${s.baseBatch} = ${want} for an effective batch of ${batch} (training.batchSize x training.gradAccum). ` +
            `Set optimizer.lr=${want}, or lrScaling: null to choose the lr freely`,
        );
      }
    }
    const base = path.resolve(ctx.dataRoot, d.dir);
    const trainDir = path.join(base, d.trainSplit);
    const evalDir = path.join(base, d.evalSplit);
    const trainFolder = scanImageFolder(trainDir);
    const evalFolder = scanImageFolder(evalDir, { classes: trainFolder.classes });
    const pipeline = pipelineOf(d);
    const train = new ImageFolderSplit(trainFolder, pipeline, d.workers, perClass(trainFolder, d.trainPerClass));
    const test = new ImageFolderSplit(evalFolder, pipeline, d.workers, perClass(evalFolder, d.evalPerClass));
    const info: ImagenetInfo = { dataset: config.dataset, classes: trainFolder.classes, trainSize: train.size, testSize: test.size, imageSize: d.imageSize, trainDir, evalDir };
    ctx.log(`imagenet/${config.dataset}: ${train.size} train images (${trainDir}), ${test.size} evaluation images (${evalDir}), ${trainFolder.classes.length} classes, ${d.imageSize}x${d.imageSize}`);
    return { train, test, info: { ...info, classes: info.classes.length > 50 ? `${info.classes.length} classes` : info.classes } as unknown as Record<string, unknown> };
  },

  build(config: ImagenetConfig, data: TaskData<ImageBatch>, rng: Rng): TaskModel<ImageBatch> {
    const split = data.train as ImageFolderSplit;
    if (!(split instanceof ImageFolderSplit)) throw new Error("imagenet: build() needs the TaskData returned by the imagenet task's load()");
    return buildImageModel(config, split.numClasses, rng);
  },

  async evaluate(model, split, ctx: EvalContext<ImagenetConfig>) {
    return evaluateImages(model as ImageClassifier, split, ctx.batchSize);
  },

  data: {
    download: {
      describe:
        'ImageNet-1K cannot be downloaded automatically (registration at image-net.org): put ILSVRC2012 train/<wnid>/ and val/ under <data-root>/imagenet/. With --ground-truth this sorts a flat val/ folder into class folders',
      examples: [
        ['flowformer data download --task imagenet --ground-truth LOC_val_solution.csv', 'sorts <data-root>/imagenet/val/*.JPEG into val/<wnid>/'],
        ['flowformer data download --task imagenet --ground-truth ILSVRC2012_validation_ground_truth.txt --synsets synsets_in_id_order.txt', 'the devkit form'],
      ],
      async run({ dataRoot, options, log }) {
        const gt = options['ground-truth'];
        const valDir = path.join(dataRoot, 'imagenet', 'val');
        if (typeof gt !== 'string') {
          throw new Error(`imagenet: ImageNet-1K must be obtained from https://image-net.org (registration) and extracted to ${path.join(dataRoot, 'imagenet')}/{train,val}; then run this command with --ground-truth <LOC_val_solution.csv | ILSVRC2012_validation_ground_truth.txt --synsets FILE> to sort the flat val/ folder`);
        }
        sortIlsvrcVal(valDir, gt, typeof options.synsets === 'string' ? options.synsets : undefined, log);
      },
    },
    options: {
      'ground-truth': { describe: 'ILSVRC2012 validation labels: LOC_val_solution.csv, or the devkit ILSVRC2012_validation_ground_truth.txt (needs --synsets)', type: 'string' },
      synsets: { describe: "the wnids in ILSVRC2012_ID order, one per line (meta.mat's order), for the devkit ground truth", type: 'string' },
    },
  },
};

export default imagenetTask;
export { imagenetTask as task };
