/**
 * The `imagenet` task (issue 8): image classification on image folders (ImageNet-1K, or the
 * shared CIFAR-10 copy as a small-data proxy) with the paper's four-stage Flowformer or DeiT,
 * either with Flow-Attention or softmax attention, trained with the DeiT recipe; top-1/top-5.
 */
import fs from 'node:fs';
import path from 'node:path';
import { crossEntropy, forEachBatch, loadConfig, tf, type EvalContext, type Rng, type Split, type Task, type TaskBench, type TaskContext, type TaskData, type TaskModel, type TaskOptionValues, type VisualizeArgs } from '@flowformer/core';
import type { BenchComparison } from '@flowformer/core/results';
import { paperSummary } from '@flowformer/core/results';
import { scanImageFolder, sortIlsvrcVal, type ImageFolder } from './data/folder.ts';
import { ImageFolderSplit, type ImageBatch } from './data/split.ts';
import type { ImageClassifier } from './model.ts';
import { ImagenetDataSchema, type ImagenetDataConfig } from './schema.ts';
import { imagenetOriginal } from './original.ts';
import { buildImageModel, imagenetSchemas, pipelineOf, type ImagenetConfig } from './build.ts';
import { imagenetReport } from './report.ts';
import { imagenetTables } from './tables.ts';

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

/** `--query`: 'row,col' (a cell of the token grid) or 'cls'; undefined keeps the default (centre, or CLS for DeiT). */
export function parseQuery(q: string | number | boolean | undefined): [number, number] | 'cls' | undefined {
  if (q === undefined || q === '') return undefined;
  const s = String(q).trim();
  if (s.toLowerCase() === 'cls') return 'cls';
  const m = /^(\d+)\s*,\s*(\d+)$/.exec(s);
  if (!m) throw new Error(`imagenet: --query '${s}': expected 'row,col' (a cell of the stage's token grid, from 0, e.g. 3,4) or 'cls' (DeiT's class token)`);
  return [Number(m[1]), Number(m[2])];
}

/** A non-negative integer flag, or undefined. */
function intFlag(name: string, v: string | number | boolean | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 0)) throw new Error(`imagenet: --${name} ${v}: expected a whole number >= 0`);
  return n;
}

/** `flowformer visualize` for an imagenet run: the Figure 2 flow maps (src/visualize.ts). */
async function visualizeHook(args: VisualizeArgs): Promise<{ files: string[]; summary: string }> {
  // Loaded on demand: drawing needs sharp and the checkpoint, training does not.
  const { visualize } = await import('./visualize.ts');
  const o = args.options;
  const tile = intFlag('tile', o.tile);
  if (tile === 0) throw new Error('imagenet: --tile 0: a tile needs at least one pixel');
  const r = await visualize(args.runDir, args.image, args.out, {
    checkpoint: args.checkpoint,
    stage: intFlag('stage', o.stage),
    block: intFlag('block', o.block),
    query: parseQuery(o.query),
    tile,
  });
  // The run's summary.json names the classes (when there are at most 50 of them).
  let label = `class ${r.predicted.index}`;
  try {
    const classes = JSON.parse(fs.readFileSync(path.join(args.runDir, 'summary.json'), 'utf8'))?.dataInfo?.classes;
    if (Array.isArray(classes) && typeof classes[r.predicted.index] === 'string') label = `'${classes[r.predicted.index]}' (class ${r.predicted.index})`;
  } catch {
    // no summary (a run still training): the index alone
  }
  const cell = r.queryToken - r.prefix;
  const query = r.queryToken < r.prefix ? 'the CLS token' : `cell ${Math.floor(cell / r.grid[1])},${cell % r.grid[1]}`;
  const summary =
    `${r.kind} maps of stage ${r.stage} block ${r.block}: ${r.heads} heads, ${r.grid[0]}x${r.grid[1]} tokens, query ${query}; ` +
    `the model predicts ${label} with p=${r.predicted.probability.toFixed(3)}; ${r.width}x${r.height} px (row 1: flow into the query, row 2: source competition)`;
  return { files: [r.out], summary };
}

/** `--workers 1,2`: worker-thread counts (0: the main thread; 'default': one per core). */
export function parseWorkerList(v: string | number | boolean | undefined): (number | null)[] | undefined {
  if (v === undefined || v === '') return undefined;
  return String(v)
    .split(',')
    .map((s) => s.trim())
    .map((s) => {
      if (s === 'default') return null;
      const n = Number(s);
      if (s === '' || !(Number.isInteger(n) && n >= 0)) throw new Error(`imagenet: --workers ${v}: expected worker-thread counts separated by commas, e.g. 1,2 (0: the main thread; 'default': one per core)`);
      return n;
    });
}

/** The torchvision peer's record (`--peer FILE`): written by a driver outside the repository. */
interface PeerRecord {
  command: string;
  versions?: Record<string, string>;
  threads?: number;
  imageSize?: number;
  /** cpuMsPerImage: CPU time of all its processes per image, when the peer measured it. */
  results: { workers: number; imagesPerSecond: number; cpuMsPerImage?: number }[];
  /** What the peer times, and how its transforms differ from ours (printed in the notes). */
  transforms?: string;
  differences?: string;
}

function readPeer(file: string): PeerRecord {
  let j: PeerRecord;
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8')) as PeerRecord;
  } catch (e) {
    throw new Error(`imagenet: --peer ${file}: ${(e as Error).message}`);
  }
  if (typeof j?.command !== 'string' || !Array.isArray(j.results) || !j.results.every((r) => Number.isInteger(r?.workers) && typeof r?.imagesPerSecond === 'number')) {
    throw new Error(`imagenet: --peer ${file}: expected {"command": "...", "results": [{"workers": 1, "imagesPerSecond": 123.4}, ...]}`);
  }
  return j;
}

/** `flowformer bench data --task imagenet`: the image pipeline's throughput (src/bench.ts). */
const benchDataHook: TaskBench = {
  describe: 'images/s of the image pipeline: decode only, the training view (crop, flip, RandAugment, Mixup) and the evaluation view, per number of worker threads',
  examples: [
    ['flowformer bench data --task imagenet', 'the ImageNet recipe (224 px) on <data-root>/imagenet/train, one worker thread per core'],
    [
      'flowformer bench data --task imagenet --dir cifar10/train --data-root ../shared/data --workers 1,2 --out results/bench/data-imagenet-224',
      'the 224 px recipe on the shared CIFAR-10 files with 1 and 2 worker threads side by side (interleaved rounds), recorded',
    ],
    [
      'flowformer bench data --task imagenet --dir cifar10/train --data-root ../shared/data --workers 1,2 --peer torchvision.json',
      "the same, with a torchvision DataLoader's images/s (a JSON written outside the repository) beside ours",
    ],
    ['flowformer bench data --task imagenet --config configs/imagenet/cifar10/flowformer.yaml --data-root ../shared/data --workers 0,2', "the CIFAR-10 proxy's pipeline (32 px): main thread vs 2 worker threads"],
  ],
  options: {
    config: { type: 'string', describe: "take the data settings (and the folder: <data.dir>/<data.trainSplit>) from this imagenet config, e.g. configs/imagenet/cifar10/flowformer.yaml; default: the ImageNet recipe's" },
    dir: { type: 'string', describe: "the image folder (class sub-folders), relative to the data root or absolute; default: the config's training folder, else imagenet/train" },
    images: { type: 'number', default: 256, describe: 'timed images per view and round (rounded up to whole batches; one untimed warm-up batch first)' },
    'batch-size': { type: 'number', default: 64, describe: 'images per batch' },
    workers: { type: 'string', describe: "worker-thread counts to compare, separated by commas, e.g. 1,2 (data.workers; 0: the main thread; 'default': one per core; default the config's)" },
    rounds: { type: 'number', default: 3, describe: 'interleaved rounds over the worker counts; each figure is the median over them' },
    peer: { type: 'string', describe: "a peer's record to show beside ours (JSON: command, versions, results: [{workers, imagesPerSecond}]), e.g. torchvision's DataLoader on the same folder" },
    'image-size': { type: 'number', describe: "output side in pixels (data.imageSize; default the config's, 224)" },
    seed: { type: 'number', default: 0, describe: 'which images are sampled, and the augmentation draws' },
  },
  async run({ dataRoot, options, log }) {
    const { benchData } = await import('./bench.ts');
    const num = (name: string, v: TaskOptionValues[string]) => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!(Number.isInteger(n) && n > 0)) throw new Error(`imagenet: --${name} ${v}: expected a whole number > 0`);
      return n;
    };
    let data: Partial<ImagenetDataConfig> = {};
    let dir = 'imagenet/train';
    if (typeof options.config === 'string') {
      const { config } = loadConfig<ImagenetConfig>(path.resolve(options.config), { task: imagenetTask });
      const { root: _root, ...d } = config.data;
      data = d;
      dir = path.join(d.dir, d.trainSplit);
    }
    if (typeof options.dir === 'string') dir = options.dir;
    const workers = parseWorkerList(options.workers);
    const imageSize = num('image-size', options['image-size']);
    if (imageSize !== undefined) data = { ...data, imageSize };
    const images = num('images', options.images) ?? 256;
    const batchSize = Math.min(num('batch-size', options['batch-size']) ?? 64, images);
    const rounds = num('rounds', options.rounds) ?? 3;
    const seed = intFlag('seed', options.seed) ?? 0;
    const peer = typeof options.peer === 'string' ? readPeer(options.peer) : null;
    const abs = path.resolve(dataRoot, dir);
    const r = await benchData({ dir: abs, data, workers, rounds, batchSize, batches: Math.ceil(images / batchSize), seed, log });
    const d = ImagenetDataSchema.parse(data);
    const sharp = (await import('sharp')).default;
    const crop = d.trainCrop === 'pad-random' ? 'RandomCrop with 4 px padding' : `RandomResizedCrop (scale ${d.scale.join('-')})`;
    const trainSteps = [crop, d.hflip > 0 ? `flip ${d.hflip}` : null, d.randAugment ? `RandAugment m${d.randAugment.magnitude} n${d.randAugment.numOps}` : null, 'normalise', d.mixup ? 'Mixup/CutMix' : null];
    const evalSteps = d.evalCropPct === 1 ? 'resize to the side if needed, normalise' : `resize shorter side to ${Math.floor(d.imageSize / d.evalCropPct)}, centre crop, normalise`;
    const perCore = (ips: number, w: number) => Math.round(ips / Math.max(1, w));
    const first = r.byWorkers[0]!;
    // view, what is timed, images/s first (as before worker threads), then who did it and the rest.
    const rows: (string | number)[][] = [['decode', 'read + decode the whole file to RGB', Math.round(r.decode.imagesPerSecond), 'ours, 4 files at once in the main thread', '', '', '', '', '']];
    for (const view of ['train', 'eval'] as const) {
      for (const w of r.byWorkers) {
        const t = w[view];
        rows.push([
          view,
          view === 'train' ? `${trainSteps.filter(Boolean).join(', ')}, to a tensor` : `${evalSteps}, to a tensor`,
          Math.round(t.imagesPerSecond),
          `ours, ${w.workers === 0 ? 'main thread' : `${w.workers} worker thread${w.workers > 1 ? 's' : ''}`}${w.isDefault ? ' (default)' : ''}`,
          perCore(t.imagesPerSecond, w.workers),
          (t.imagesPerSecond / first[view].imagesPerSecond).toFixed(2),
          t.cpuMsPerImage.toFixed(2),
          Math.round(1000 / t.cpuMsPerImage),
          t.mainThreadMsPerBatch.toFixed(1),
        ]);
      }
    }
    for (const p of peer?.results ?? []) {
      const cpu = p.cpuMsPerImage;
      rows.push(['train', "the peer's training view (notes below)", Math.round(p.imagesPerSecond), `peer, DataLoader num_workers ${p.workers}`, perCore(p.imagesPerSecond, p.workers), '', cpu ? cpu.toFixed(2) : '', cpu ? Math.round(1000 / cpu) : '', '']);
    }
    const scaling = Object.entries(r.trainScaling).map(([w, x]) => `${first.workers} -> ${w} workers ${x.toFixed(2)}x`);
    // The performance page's lines (core results/bench-summary.ts): the training view's images/s
    // per core against the peer's at the same worker count (issue #42: at least the peer's), and
    // the 1 -> 2 worker scaling beside the peer's (its target, at least 1.7x, is not relative to the peer).
    const comparisons: BenchComparison[] = [];
    const what = `ImageNet training view at ${d.imageSize} px (${dir})`;
    for (const w of r.byWorkers) {
      const p = peer?.results.find((x) => x.workers === w.workers);
      if (!p?.cpuMsPerImage) continue;
      comparisons.push({ work: `${what}, ${w.workers} worker${w.workers > 1 ? 's' : ''}: images/s per core`, unit: 'images/s', ours: 1000 / w.train.cpuMsPerImage, peer: 'torchvision', peerValue: 1000 / p.cpuMsPerImage, better: 'higher', goal: 1 });
    }
    const p1 = peer?.results.find((x) => x.workers === 1);
    const p2 = peer?.results.find((x) => x.workers === 2);
    if (first.workers === 1 && r.trainScaling['2'] !== undefined && p1 && p2) {
      comparisons.push({ work: `${what}: images/s with 2 workers over 1`, unit: 'x', ours: r.trainScaling['2'], peer: 'torchvision', peerValue: p2.imagesPerSecond / p1.imagesPerSecond, better: 'higher', target: 1.7 });
    }
    return {
      title: `imagenet data pipeline: ${dir} at ${d.imageSize} px`,
      setup: {
        folder: dir,
        'image files in the folder': r.files,
        'output size': `${d.imageSize} px`,
        'worker threads compared': r.byWorkers.map((w) => w.workers).join(', '),
        'default worker threads (one per core)': r.cores,
        'rounds (interleaved, each timing every view and count; medians)': r.rounds,
        'training-view scaling (median of per-round ratios)': scaling.join('; ') || 'one count only',
        'batch size': r.batchSize,
        'timed images per view': r.images,
        seed,
        config: typeof options.config === 'string' ? options.config : 'none (the ImageNet recipe defaults)',
        sharp: `${sharp.versions.sharp ?? '?'} (libvips ${sharp.versions.vips})`,
        ...(peer ? { 'peer command': peer.command, 'peer versions': Object.entries(peer.versions ?? {}).map(([k, v]) => `${k} ${v}`).join(', '), 'peer threads': peer.threads ?? '?' } : {}),
      },
      columns: ['view', 'what is timed (per image)', 'images/s', 'pipeline', 'images/s per worker', `x vs ${first.workers} workers`, 'CPU ms/image (all threads)', 'images/s per core (1000 / CPU ms)', 'main thread busy ms/batch'],
      rows,
      notes: [
        'Files are read once before timing, so every view decodes from the page cache; one warm-up batch per worker count and view is not timed.',
        'The worker counts are timed in interleaved rounds with the same images and augmentation draws; images/s is the median over the rounds.',
        'main thread busy ms/batch: event-loop utilisation while a batch is built, i.e. what would hold up a training step; with worker threads it is only the batch assembly (copies, Mixup/CutMix, tensors).',
        'CPU ms/image: CPU time of every thread of the process (main, workers, libuv) over the timed batches, per image; images/s per core = 1000 / that. Other processes on the machine slow images/s but hardly this.',
        ...(peer ? ["The peer's figures come from its own record (--peer), measured by its command; put it beside ours only when both ran in the same session."] : []),
        ...(peer?.transforms ? [`Peer transforms: ${peer.transforms}.`] : []),
        ...(peer?.differences ? [`How they differ from ours: ${peer.differences}.`] : []),
      ],
      raw: { ...r, peer },
      ...(comparisons.length ? { comparisons } : {}),
    };
  },
};

export const imagenetTask: Task<ImagenetConfig, ImageBatch> = {
  name: 'imagenet',
  description: 'image classification on image folders (ImageNet-1K; CIFAR-10 as a small proxy): four-stage Flowformer and DeiT-S, flow or softmax attention; top-1/top-5',
  datasets: [
    {
      name: 'imagenet-1k',
      // The paper's accuracies come from results/paper/flowformer-paper.json, never retyped here.
      description: `ILSVRC2012 train/<wnid>/*.JPEG and val/<wnid>/*.JPEG under <data-root>/imagenet (not downloadable here). Paper top-1: ${paperSummary('imagenet', 'imagenet-1k', ['Flowformer'])}, ${paperSummary('imagenet', 'imagenet-1k-deit-s', ['DeiT-S + Flowformer'])}`,
    },
    { name: 'cifar10', description: 'the shared CIFAR-10 JPEG folders (<data-root>/cifar10/{train,test}/<class>), 32x32: a small-data proxy, not the paper benchmark' },
  ],
  schema: imagenetSchemas,
  metric: { name: 'top1', mode: 'max' },
  original: imagenetOriginal,
  defaultConfig: 'configs/imagenet/cifar10/flowformer.yaml',
  report: imagenetReport,
  tables: imagenetTables,

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
    const test = new ImageFolderSplit(evalFolder, pipeline, d.workers, perClass(evalFolder, d.evalPerClass), train); // the same threads
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

  visualize: visualizeHook,
  visualizeOptions: {
    query: { type: 'string', describe: "the query token: 'row,col' in the stage's token grid (from 0), or 'cls' (DeiT); default the centre cell, or CLS for DeiT" },
    stage: { type: 'number', describe: 'the stage whose attention is drawn (from 0; default 0; DeiT has one)' },
    block: { type: 'number', describe: 'the block within the stage (from 0; default its last)' },
    tile: { type: 'number', describe: 'side of each tile in pixels (default 160): the PNG is (heads + 1) x 2 tiles' },
  },
  bench: { data: benchDataHook },
};

export default imagenetTask;
export { imagenetTask as task };
