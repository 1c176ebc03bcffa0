/**
 * The `lra` task: the five Long Range Arena benchmarks of the paper's first table (issue 6).
 *
 *   listops     10 classes, tokens of the LRA pipeline, generated here (LRA rules)
 *   text        IMDB, 2 classes, bytes (LRA evaluates on the test split; so do we)
 *   retrieval   AAN citation pairs, 2 classes, bytes, dual encoder
 *   image       CIFAR-10 grayscale pixels, 10 classes, 90/10 split of train
 *   pathfinder  32x32 "hard" (contour length 14), 2 classes, generated here or from the release
 *
 * Accuracy selects the best checkpoint. `evaluate` also reports the majority-class rate: the
 * accuracy of always answering the most frequent training class, the floor to beat.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { attentionFactory, Rng, crossEntropy, forEachBatch, tf, type AttentionModule, type Config, type EvalContext, type Split, type Task, type TaskContext, type TaskData, type TaskModel } from '@flowformer/core';
import { formatPaperCell, paperValue } from '@flowformer/core/results';
import { BYTE_VOCAB_SIZE } from './data/bytes.ts';
import { MissingDataError } from './data/errors.ts';
import { generateLraData, lraDataDir, lraGeneratedPresent, LRA_RELEASE_DIRS } from './data/generate.ts';
import { dataProvenance, type DataOrigin } from './data/provenance.ts';
import { downloadLraData, type LraDownloadable } from './data/download.ts';
import { cifarBinaryFiles, readCifarBinary, readImageFolder, splitTrainVal, subsetImages, type PixelImages } from './data/image.ts';
import { encodeListOps, LISTOPS_NUM_CLASSES, LISTOPS_VOCAB_SIZE, readListOpsTsv } from './data/listops.ts';
import { PATHFINDER_CONDITIONS, readPathfinderCached, splitPathfinder } from './data/pathfinder.ts';
import { readAanSplit } from './data/retrieval.ts';
import { classCounts, LraSplit, type LraBatch } from './data/splits.ts';
import { readImdbSplit } from './data/text.ts';
import { LraClassifier } from './model.ts';
import { lraReport } from './report.ts';
import { lraTables } from './tables.ts';
import { LRA_DATASETS, LraDataSchema, LraModelSchema, type LraDataConfig, type LraDataset, type LraModelConfig } from './schema.ts';

export type LraConfig = Config & { model: LraModelConfig & { name: string }; data: LraDataConfig & { root?: string } };

/** What `load` learns about the data and `build` needs. */
export interface LraInfo {
  dataset: LraDataset;
  dir: string;
  vocabSize: number;
  numClasses: number;
  maxLength: number;
  /** Two documents per example (Retrieval). */
  dual: boolean;
  /** Token 0 is padding (false for pixels, where 0 is black). */
  hasPadding: boolean;
  trainSize: number;
  validSize: number;
  testSize: number;
  /** The most frequent training class and its share of each split. */
  majorityClass: number;
  majorityRate: { train: number; valid: number; test: number };
  /** Release or generated (with the generated set's provenance.json): `dataProvenance(dir)`. */
  origin: DataOrigin;
}

/**
 * Default folder (relative to the data root) of each dataset (data/README.md). ListOps and
 * Pathfinder at size `full` read the LRA release (`lra/listops/`, `lra/pathfinder32/`); given
 * the data root, a missing release falls back to the generated full set when `data.generate`
 * is on (generated on first use into its own folder, and marked as generated). Size `mini` is
 * always a generated set.
 */
export function lraDefaultDir(dataset: LraDataset, data: LraDataConfig, dataRoot?: string): string {
  switch (dataset) {
    case 'listops':
    case 'pathfinder': {
      if (data.size === 'mini') return lraDataDir(dataset, 'mini');
      const release = LRA_RELEASE_DIRS[dataset];
      if (dataRoot === undefined || !data.generate) return release;
      const marker = dataset === 'listops' ? 'basic_train.tsv' : path.join(PATHFINDER_CONDITIONS[data.difficulty], 'metadata');
      return existsSync(path.join(dataRoot, release, marker)) ? release : lraDataDir(dataset, 'full');
    }
    case 'text':
      return 'lra/imdb/aclImdb';
    case 'retrieval':
      return 'lra/aan';
    case 'image':
      return 'lra/cifar10';
  }
}

function checkDataset(name: string): LraDataset {
  if (!(LRA_DATASETS as readonly string[]).includes(name)) {
    throw new Error(`lra: unknown dataset '${name}'; the LRA datasets are ${LRA_DATASETS.join(', ')}`);
  }
  return name as LraDataset;
}

const u8 = (ids: Int32Array) => Uint8Array.from(ids);

function pixelSplit(x: PixelImages, maxLength: number): LraSplit {
  return new LraSplit({ seqs: { flat: x.pixels, rowLength: x.height * x.width }, offset: 0 }, x.labels, maxLength);
}

async function loadSplits(dataset: LraDataset, config: LraConfig, ctx: TaskContext, dir: string): Promise<{ train: LraSplit; valid: LraSplit; test: LraSplit; vocabSize: number; numClasses: number; dual: boolean; hasPadding: boolean }> {
  const L = config.data.maxLength;
  const d = config.data;
  switch (dataset) {
    case 'listops': {
      if (!existsSync(path.join(dir, 'basic_train.tsv'))) {
        if (!d.generate || d.dir !== undefined) {
          throw new MissingDataError('ListOps (basic_train.tsv)', dir, `Generate it with 'flowformer data generate --task lra --dataset listops${d.size === 'mini' ? ' --size mini' : ''}' (or set data.generate: true), or download the LRA release ('flowformer data download --task lra').`);
        }
        await generateLraData({ dataset: 'listops', dataRoot: ctx.dataRoot, size: d.size, log: ctx.log });
      }
      const mk = (split: string) => {
        const ex = readListOpsTsv(path.join(dir, `basic_${split}.tsv`), 'lra');
        return new LraSplit({ seqs: ex.map((e) => u8(encodeListOps(e.source, L, false))), offset: 0 }, Int32Array.from(ex.map((e) => e.target)), L);
      };
      return { train: mk('train'), valid: mk('val'), test: mk('test'), vocabSize: LISTOPS_VOCAB_SIZE, numClasses: LISTOPS_NUM_CLASSES, dual: false, hasPadding: true };
    }
    case 'text': {
      const train = readImdbSplit(dir, 'train', L);
      const test = readImdbSplit(dir, 'test', L);
      // The folders give all negative reviews, then all positive ones: shuffle once (seeded),
      // as tfds' records are, so that data.trainLimit / evalLimit take both classes.
      const s = (x: typeof train, seed: number) => {
        const p = new Rng(seed).permutation(x.labels.length);
        return new LraSplit({ seqs: Array.from(p, (i) => x.docs[i]!), offset: 1 }, Int32Array.from(p, (i) => x.labels[i]!), L);
      };
      // LRA (tfds imdb_reviews) has no validation split and evaluates on test for both.
      const t = s(test, d.splitSeed + 1);
      return { train: s(train, d.splitSeed), valid: t, test: t, vocabSize: BYTE_VOCAB_SIZE, numClasses: 2, dual: false, hasPadding: true };
    }
    case 'retrieval': {
      const mk = async (split: 'train' | 'eval' | 'test') => {
        const p = await readAanSplit(dir, split, L);
        return new LraSplit({ seqs: p.docs1, offset: 1 }, p.labels, L, { seqs: p.docs2, offset: 1 });
      };
      return { train: await mk('train'), valid: await mk('eval'), test: await mk('test'), vocabSize: BYTE_VOCAB_SIZE, numClasses: 2, dual: true, hasPadding: true };
    }
    case 'image': {
      if (L !== 1024) throw new Error(`lra/image: data.maxLength must be 1024 (32 x 32 pixels), got ${L}`);
      const binDir = [dir, path.join(dir, 'cifar-10-batches-bin')].find((p) => existsSync(path.join(p, 'data_batch_1.bin')));
      let train: PixelImages;
      let test: PixelImages;
      let splitSeed: number | undefined;
      if (binDir) {
        const f = cifarBinaryFiles(binDir);
        train = readCifarBinary(f.train);
        test = readCifarBinary(f.test);
      } else if (existsSync(path.join(dir, 'train')) && existsSync(path.join(dir, 'test'))) {
        ctx.log(`lra/image: decoding the image folders in ${dir} with sharp`);
        train = await readImageFolder(path.join(dir, 'train'));
        test = await readImageFolder(path.join(dir, 'test'));
        splitSeed = d.splitSeed; // folders are sorted by class: shuffle before the 90/10 split
        // ...and the test images too, so that data.evalLimit takes a sample of every class.
        test = subsetImages(test, new Rng(d.splitSeed + 1).permutation(test.count));
      } else {
        throw new MissingDataError('CIFAR-10 (binary batches or {train,test}/<class>/ folders)', dir, "Run 'flowformer data download --task lra --dataset image', or point data.dir at image folders such as ../shared/data/cifar10.");
      }
      const tv = splitTrainVal(train, 0.9, splitSeed);
      return { train: pixelSplit(tv.train, L), valid: pixelSplit(tv.val, L), test: pixelSplit(test, L), vocabSize: 256, numClasses: 10, dual: false, hasPadding: false };
    }
    case 'pathfinder': {
      const cond = path.join(dir, PATHFINDER_CONDITIONS[d.difficulty]);
      // A generated mini set with another image count (an older mini definition) is regenerated.
      const stale = d.generate && d.dir === undefined && d.size === 'mini' && !lraGeneratedPresent(ctx.dataRoot, 'pathfinder', 'mini', d.difficulty);
      if (!existsSync(path.join(cond, 'metadata')) || stale) {
        if (!d.generate || d.dir !== undefined) {
          throw new MissingDataError('Pathfinder', cond, `Generate it with 'flowformer data generate --task lra --dataset pathfinder${d.size === 'mini' ? ' --size mini' : ''}' (or set data.generate: true), or download the LRA release.`);
        }
        await generateLraData({ dataset: 'pathfinder', dataRoot: ctx.dataRoot, size: d.size, difficulty: d.difficulty, log: ctx.log });
      }
      const side = Math.round(Math.sqrt(L));
      if (side * side !== L) throw new Error(`lra/pathfinder: data.maxLength must be a square (32 x 32 = 1024), got ${L}`);
      const all = await readPathfinderCached(cond, side, ctx.cacheDir, ctx.log);
      if (all.skipped) ctx.log(`lra/pathfinder: skipped ${all.skipped} empty image files (as LRA does)`);
      const s = splitPathfinder(all);
      return { train: pixelSplit(s.train, L), valid: pixelSplit(s.val, L), test: pixelSplit(s.test, L), vocabSize: 256, numClasses: 2, dual: false, hasPadding: false };
    }
  }
}

function lraInfo(data: TaskData<LraBatch>): LraInfo {
  const info = data.info as unknown as LraInfo;
  if (typeof info.vocabSize !== 'number' || typeof info.numClasses !== 'number') {
    throw new Error("lra: build() needs the TaskData returned by the lra task's load() (info.vocabSize, info.numClasses)");
  }
  return info;
}

/**
 * The attention layer a config asks for, from the core's registry (`attention.type`: flow,
 * softmax or any baseline): qkvDim wide with nHeads heads, mapping embDim -> embDim.
 */
export function lraAttention(config: LraConfig): (rng: Rng) => AttentionModule {
  const m = config.model;
  return attentionFactory({ dModel: m.qkvDim ?? m.embDim, nHeads: m.nHeads, dInput: m.embDim, dOutput: m.embDim }, config.attention);
}

/** Accuracy, mean loss and the majority-class rate of a split. */
export async function evaluateLra(model: TaskModel<LraBatch>, split: Split<LraBatch>, batchSize: number, majorityClass?: number): Promise<{ accuracy: number; loss: number; majorityRate: number }> {
  let correct = 0;
  let lossSum = 0;
  let majority = 0;
  const clf = model as LraClassifier;
  await forEachBatch(split, batchSize, (batch) => {
    const [c, l, m] = tf.tidy(() => {
      const logits = clf.forward(batch, { training: false });
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), batch.labels), 'float32'));
      const maj = tf.sum(tf.cast(tf.equal(batch.labels, majorityClass ?? -1), 'float32'));
      return [hits, tf.mul(crossEntropy(logits, batch.labels), batch.size), maj];
    });
    correct += c.dataSync()[0]!;
    lossSum += l.dataSync()[0]!;
    majority += m.dataSync()[0]!;
    c.dispose();
    l.dispose();
    m.dispose();
  });
  return { accuracy: correct / split.size, loss: lossSum / split.size, majorityRate: majority / split.size };
}

/** `--size full|mini|N` as given on the command line. */
function parseSize(v: unknown): 'full' | 'mini' | number {
  if (v === undefined || v === 'full') return 'full';
  if (v === 'mini') return 'mini';
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--size must be 'full', 'mini' or a positive integer (examples), got '${String(v)}'`);
  return n;
}

/** Which download brings a dataset: ListOps, Retrieval and Pathfinder come with the LRA release. */
const DOWNLOAD_OF: Record<string, LraDownloadable> = { release: 'release', listops: 'release', retrieval: 'release', pathfinder: 'release', text: 'text', image: 'image' };

/**
 * "paper Flowformer 38.70": the paper's accuracy of a row of its LRA table, read from
 * results/paper/flowformer-paper.json (never retyped here); a missing file leaves the
 * descriptions without numbers rather than breaking every command.
 */
function paperNote(row: string): string {
  try {
    return `paper Flowformer ${formatPaperCell(paperValue('lra', row, 'Flowformer'))}`;
  } catch {
    return 'paper: results/paper/flowformer-paper.json';
  }
}

export const lraTask: Task<LraConfig, LraBatch> = {
  name: 'lra',
  description: `Long Range Arena: ListOps, Text, Retrieval, Image, Pathfinder (accuracy; ${paperNote('average')} on average)`,
  datasets: [
    { name: 'listops', description: `nested list operations, 10 classes (generated; ${paperNote('listops')})` },
    { name: 'text', description: `IMDB byte-level sentiment, 2 classes (${paperNote('text')})` },
    { name: 'retrieval', description: `AAN byte-level citation matching, dual encoder (${paperNote('retrieval')})` },
    { name: 'image', description: `CIFAR-10 grayscale pixel sequences, 10 classes (${paperNote('image')})` },
    { name: 'pathfinder', description: `32x32 path connectivity, hard (generated; ${paperNote('pathfinder')})` },
  ],
  schema: { model: LraModelSchema, data: LraDataSchema },
  metric: { name: 'accuracy', mode: 'max' },
  defaultConfig: 'configs/lra/listops/mini.yaml',
  report: lraReport,
  tables: lraTables((dataset, data) => lraDefaultDir(dataset, data)),

  async load(config: LraConfig, ctx: TaskContext): Promise<TaskData<LraBatch>> {
    const dataset = checkDataset(config.dataset);
    const dir = path.resolve(ctx.dataRoot, config.data.dir ?? lraDefaultDir(dataset, config.data, ctx.dataRoot));
    const s = await loadSplits(dataset, config, ctx, dir);
    const origin = dataProvenance(dir);
    const train = s.train.head(config.data.trainLimit);
    const valid = s.valid.head(config.data.evalLimit);
    const test = s.test === s.valid ? valid : s.test.head(config.data.evalLimit);
    const counts = classCounts(train.labels, s.numClasses);
    const majorityClass = counts.indexOf(Math.max(...counts));
    const rate = (x: LraSplit) => x.labels.reduce((n, l) => n + (l === majorityClass ? 1 : 0), 0) / Math.max(1, x.size);
    const info: LraInfo = {
      dataset,
      dir,
      vocabSize: s.vocabSize,
      numClasses: s.numClasses,
      maxLength: config.data.maxLength,
      dual: s.dual,
      hasPadding: s.hasPadding,
      trainSize: train.size,
      validSize: valid.size,
      testSize: test.size,
      majorityClass,
      majorityRate: { train: rate(train), valid: rate(valid), test: rate(test) },
      origin,
    };
    const from = origin.kind === 'generated' ? `${dir} (generated${origin.provenance ? `, seed ${origin.provenance.seed}` : ''}; not the LRA release)` : dir;
    ctx.log(
      `lra/${dataset}: ${info.trainSize} train / ${info.validSize} valid / ${info.testSize} test examples from ${from}; ` +
        `${info.maxLength} tokens, vocabulary ${info.vocabSize}, ${info.numClasses} classes; ` +
        `majority class ${majorityClass} is ${(100 * info.majorityRate.test).toFixed(2)}% of test`,
    );
    return { train, valid, test, info: info as unknown as Record<string, unknown> };
  },

  build(config: LraConfig, data: TaskData<LraBatch>, rng: Rng): TaskModel<LraBatch> {
    const info = lraInfo(data);
    const m = config.model;
    const model = new LraClassifier(rng, {
      vocabSize: info.vocabSize,
      maxLength: info.maxLength,
      numClasses: info.numClasses,
      embDim: m.embDim,
      nLayers: m.nLayers,
      mlpDim: m.mlpDim,
      dropout: m.dropout,
      pool: m.pool,
      positions: m.positions,
      maskPadding: m.maskPadding && info.hasPadding,
      dual: info.dual,
      attention: lraAttention(config),
    });
    model.majorityClass = info.majorityClass;
    return model;
  },

  async evaluate(model, split, ctx: EvalContext<LraConfig>) {
    // The training majority class (set by build); for a model built elsewhere, the split's own.
    let majorityClass = (model as LraClassifier).majorityClass;
    if (majorityClass === undefined && split instanceof LraSplit) {
      const counts = classCounts(split.labels, Math.max(...split.labels) + 1);
      majorityClass = counts.indexOf(Math.max(...counts));
    }
    return evaluateLra(model, split, ctx.batchSize, majorityClass);
  },

  data: {
    generate: {
      describe: 'generate ListOps (LRA rules) or Pathfinder-32 (published rules) in the LRA release formats, into folders of their own (lra/listops-generated/<size>/, lra/pathfinder-generated/<size>/) with a provenance.json; never where the release goes',
      examples: [
        ['flowformer data generate --task lra --dataset listops', "96k/2k/2k trees of 500-2000 tokens by LRA's rules into data/lra/listops-generated/full/"],
        ['flowformer data generate --task lra --dataset listops --size mini', 'the short trees of the mini config into data/lra/listops-generated/mini/'],
        ['flowformer data generate --task lra --dataset pathfinder --size 20000', '20,000 hard 32x32 images into data/lra/pathfinder-generated/20000/'],
      ],
      async run({ dataRoot, dataset, options, log }) {
        if (dataset !== 'listops' && dataset !== 'pathfinder') {
          throw new Error(`--dataset must be listops or pathfinder (the other LRA datasets are downloaded: 'flowformer data download --task lra'), got '${dataset ?? ''}'`);
        }
        const r = await generateLraData({
          dataset,
          dataRoot,
          size: parseSize(options.size),
          seed: options.seed === undefined ? undefined : Number(options.seed),
          difficulty: (options.difficulty as 'easy' | 'intermediate' | 'hard' | undefined) ?? 'hard',
          force: options.force === true,
          log,
        });
        if (r.generated) log(`wrote ${Object.entries(r.counts).map(([k, v]) => `${v} ${k}`).join(', ')} to ${r.dir} in ${r.seconds.toFixed(1)} s`);
      },
    },
    download: {
      describe: 'download the LRA release (ListOps, AAN, Pathfinder), IMDB and CIFAR-10 (binary) and unpack them under data/lra/',
      examples: [
        ['flowformer data download --task lra', 'everything (about 8 GB)'],
        ['flowformer data download --task lra --dataset image', 'CIFAR-10 binary batches only (163 MB)'],
      ],
      async run({ dataRoot, dataset, log }) {
        let which: LraDownloadable[] | undefined;
        if (dataset !== undefined) {
          const d = DOWNLOAD_OF[dataset];
          if (!d) throw new Error(`--dataset must be one of ${Object.keys(DOWNLOAD_OF).join(', ')}, got '${dataset}'`);
          which = [d];
        }
        await downloadLraData({ dataRoot, datasets: which, log });
      },
    },
    options: {
      size: { type: 'string', describe: "generate: 'full' (LRA's sizes), 'mini' (the mini configs' sets) or a number of examples", default: 'full' },
      seed: { type: 'number', describe: 'generate: random seed (default 0 for full and N, 1 for mini)' },
      difficulty: { type: 'string', describe: 'generate pathfinder: contour length 6 / 9 / 14', choices: ['easy', 'intermediate', 'hard'], default: 'hard' },
      force: { type: 'boolean', describe: 'generate: overwrite existing files', default: false },
    },
  },
};

export default lraTask;
export { lraTask as task };
