/**
 * The `uea` task: UEA multivariate time-series classification (issue 5). Data from the data
 * root (`uea/<Name>/`), preprocessing as the original, the paper's classifier, accuracy.
 */
import { attentionFactory, crossEntropy, forEachBatch, tf, type AttentionFactory, type Config, type EvalContext, type Rng, type Split, type Task, type TaskContext, type TaskData, type TaskModel } from '@flowformer/core';
import { paperSummary } from '@flowformer/core/results';
import { downloadUea, UEA_ARCHIVE_URL } from './data/download.ts';
import { readUeaSplit } from './data/load.ts';
import { prepareUea } from './data/preprocess.ts';
import { UeaSplit, type UeaBatch } from './data/split.ts';
import { PAPER_DATASETS } from './datasets.ts';
import { ueaReport } from './report.ts';
import { ueaTables } from './tables.ts';
import { UeaClassifier, ueaClassifierOf } from './model.ts';
import { ueaOriginal } from './original.ts';
import { UeaDataSchema, UeaModelSchema, type UeaDataConfig, type UeaModelConfig } from './schema.ts';

export type UeaConfig = Config & { model: UeaModelConfig & { name: string }; data: UeaDataConfig & { root?: string } };

/** What `load` learns about the data and `build` needs. */
export interface UeaInfo {
  dataset: string;
  protocol: 'paper' | 'holdout';
  numDims: number;
  maxLen: number;
  classes: string[];
  trainSize: number;
  validSize: number | null;
  testSize: number;
  /** TEST cases longer than the TRAIN maximum, cut to it (as the original does). */
  truncatedTest: number;
  source: { train: string; test: string };
}

function ueaInfo(data: TaskData<UeaBatch>): UeaInfo {
  const info = data.info as unknown as UeaInfo;
  if (typeof info.numDims !== 'number' || typeof info.maxLen !== 'number' || !Array.isArray(info.classes)) {
    throw new Error('uea: build() needs the TaskData returned by the uea task\'s load() (info.numDims, info.maxLen, info.classes)');
  }
  return info;
}

/**
 * The attention of every block, from the config's `attention` section through the core's
 * registry ('flow' for Flowformer, 'softmax' for the Transformer, or any baseline). Its own
 * output dropout stays 0: the original applies the residual dropout in the block instead.
 */
export function ueaAttention(config: UeaConfig): AttentionFactory {
  return attentionFactory({ dModel: config.model.dModel, nHeads: config.model.nHeads }, config.attention);
}

export async function evaluateUea(model: TaskModel<UeaBatch>, split: Split<UeaBatch>, batchSize: number): Promise<{ accuracy: number; loss: number }> {
  let correct = 0;
  let lossSum = 0;
  const clf = model as UeaClassifier;
  await forEachBatch(split, batchSize, (batch) => {
    const [c, l] = tf.tidy(() => {
      const logits = clf.forward(batch.x, batch.mask, { training: false });
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), batch.y), 'float32'));
      return [hits, tf.mul(crossEntropy(logits, batch.y), batch.size)];
    });
    correct += c.dataSync()[0]!;
    lossSum += l.dataSync()[0]!;
    c.dispose();
    l.dispose();
  });
  return { accuracy: correct / split.size, loss: lossSum / split.size };
}

export const ueaTask: Task<UeaConfig, UeaBatch> = {
  name: 'uea',
  description: 'UEA multivariate time-series classification (10 datasets of the paper; accuracy)',
  datasets: [
    ...PAPER_DATASETS.map((d) => ({
      name: d.name,
      // The paper's accuracies come from results/paper/flowformer-paper.json, never retyped here.
      description: `paper: ${paperSummary('uea', d.name, ['Flowformer', 'Transformer'])} (${d.epochs} epochs)`,
    })),
    { name: 'BasicMotions', description: 'tiny archive dataset (40/40 cases) for quick checks; not in the paper' },
  ],
  schema: { model: UeaModelSchema, data: UeaDataSchema },
  metric: { name: 'accuracy', mode: 'max' },
  defaultConfig: 'configs/uea/JapaneseVowels/flowformer.yaml',
  report: ueaReport,
  tables: ueaTables,
  original: ueaOriginal,

  async load(config: UeaConfig, ctx: TaskContext): Promise<TaskData<UeaBatch>> {
    const { protocol } = config.data;
    const want = protocol === 'paper' ? 'test' : 'valid';
    if (config.evaluation.split !== want) {
      throw new Error(
        protocol === 'paper'
          ? `uea: data.protocol 'paper' has no validation split (the paper selects by TEST accuracy): set evaluation.split: test, or use data.protocol: holdout`
          : `uea: data.protocol 'holdout' selects the checkpoint on the validation split: set evaluation.split: valid`,
      );
    }
    const trainRaw = readUeaSplit(ctx.dataRoot, config.dataset, 'TRAIN');
    const testRaw = readUeaSplit(ctx.dataRoot, config.dataset, 'TEST');
    const p = prepareUea(trainRaw, testRaw, { protocol, validFraction: config.data.validFraction, splitSeed: config.data.splitSeed });
    const mk = (a: typeof p.train) => new UeaSplit(a, p.maxLen, p.numDims);
    const info: UeaInfo = {
      dataset: config.dataset,
      protocol,
      numDims: p.numDims,
      maxLen: p.maxLen,
      classes: p.classes,
      trainSize: p.train.size,
      validSize: p.valid?.size ?? null,
      testSize: p.test.size,
      truncatedTest: p.truncatedTest,
      source: { train: trainRaw.source, test: testRaw.source },
    };
    ctx.log(
      `uea/${config.dataset}: ${info.trainSize} train${info.validSize !== null ? ` / ${info.validSize} valid` : ''} / ${info.testSize} test cases, ` +
        `${info.numDims} dims, length ${info.maxLen}, ${info.classes.length} classes` +
        (info.truncatedTest > 0 ? `; ${info.truncatedTest} TEST cases longer than ${info.maxLen} are truncated` : ''),
    );
    return {
      train: mk(p.train),
      valid: p.valid ? mk(p.valid) : undefined,
      test: mk(p.test),
      info: info as unknown as Record<string, unknown>,
    };
  },

  build(config: UeaConfig, data: TaskData<UeaBatch>, rng: Rng): TaskModel<UeaBatch> {
    const info = ueaInfo(data);
    const m = config.model;
    return ueaClassifierOf(rng, config.model, { numDims: info.numDims, maxLen: info.maxLen, numClasses: info.classes.length }, ueaAttention(config), { recompute: config.training.recompute });
  },

  async evaluate(model, split, ctx: EvalContext<UeaConfig>) {
    return evaluateUea(model, split, ctx.batchSize);
  },

  data: {
    download: {
      describe: `fetch a UEA dataset (<Name>.zip from ${UEA_ARCHIVE_URL}, as sktime does) into <data-root>/uea/<Name>/`,
      examples: [
        ['flowformer data download --task uea --dataset JapaneseVowels', 'JapaneseVowels_{TRAIN,TEST}.ts into data/uea/JapaneseVowels/'],
        ['flowformer data download --task uea --dataset all', 'the 10 datasets of the paper'],
      ],
      async run({ dataRoot, dataset, options, log }) {
        if (!dataset) throw new Error(`uea: name a dataset with --dataset (one of ${PAPER_DATASETS.map((d) => d.name).join(', ')}, or 'all')`);
        const names = dataset === 'all' ? PAPER_DATASETS.map((d) => d.name) : [dataset];
        const baseUrl = typeof options['base-url'] === 'string' ? options['base-url'] : undefined;
        for (const name of names) {
          let shown = -1;
          const r = await downloadUea(name, dataRoot, {
            baseUrl,
            force: options.force === true,
            log,
            onProgress: ({ received, total }) => {
              // One line per 10% (or per 10 MB when the size is unknown).
              const mark = total ? Math.floor((10 * received) / total) : Math.floor(received / 10e6);
              if (mark !== shown) {
                shown = mark;
                log(`${name}: ${(received / 1e6).toFixed(1)} MB${total ? ` of ${(total / 1e6).toFixed(1)} MB` : ''}`);
              }
            },
          });
          log(r.downloaded ? `${name}: ${r.files.join(', ')} in ${r.dir}` : `${name}: already in ${r.dir} (use --force to fetch again)`);
        }
      },
    },
    options: {
      'base-url': { describe: `where <Name>.zip files are fetched from (default ${UEA_ARCHIVE_URL})`, type: 'string' },
      force: { describe: 'download again even if the dataset is present', type: 'boolean', default: false },
    },
  },
};

export default ueaTask;
export { ueaTask as task };
