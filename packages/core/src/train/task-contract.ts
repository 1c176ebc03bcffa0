/**
 * The part of the Task contract the trainer needs: data as random-access splits, a model that
 * computes its own loss, metrics, and the trainable core of a task (`TrainableTask`: name,
 * schema, metric, load, build, evaluate, finalEval). The full `Task` of task.ts (tables,
 * reports, data commands, benchmarks, visualisation, the original's hooks) extends it.
 *
 * The trainer owns the loop (order, batching, optimiser, checkpoints); a task owns its data,
 * its model (including its loss) and its metrics. Data is random access by example index so
 * that the trainer alone decides the order (seeded, resumable), whatever the storage: an
 * in-memory array (UEA, LRA), contiguous token blocks (WikiText), one window per start index
 * (D4RL), or images decoded from disk on demand (ImageNet: `batch` may be async and is
 * built BATCHES_AHEAD updates ahead while the current step computes).
 */
import type { tf } from '../tf.ts';
import type { Config, TaskSchemas } from '../config/schema.ts';
import { requireTask } from '../config/tasks.ts';
import type { ForwardContext, Module } from '../nn/module.ts';
import type { Rng } from '../rng.ts';

/** A materialised mini-batch. The trainer disposes `tensors` after the step. */
export interface Batch {
  /** Number of examples in the batch. */
  size: number;
  /** Every tensor the batch holds, for disposal. */
  tensors: tf.Tensor[];
  /** Number of predicted tokens, if the task counts throughput in tokens (LM); else examples/s is shown. */
  tokens?: number;
}

/** What building a batch may depend on besides the indices. */
export interface BatchContext {
  /** True for training batches: apply augmentation (crops, flips, mixup...). */
  training: boolean;
  /**
   * Randomness for augmentation. The trainer derives it from the seed and the step, so a
   * batch is the same whether the run was resumed or not, and prefetching cannot change it.
   */
  rng: Rng;
}

/** One split of a dataset: a random-access collection of examples. */
export interface Split<B extends Batch = Batch> {
  readonly size: number;
  /** Builds the batch of the examples at `indices` (the trainer chooses the order). */
  batch(indices: Int32Array, ctx: BatchContext): B | Promise<B>;
}

export interface TaskData<B extends Batch = Batch> {
  train: Split<B>;
  valid?: Split<B>;
  test?: Split<B>;
  /** Facts to print and record in summary.json (class count, lengths, vocabulary size, ...). */
  info: Record<string, unknown>;
}

/** A model is a Module that can compute its training loss on a batch. */
export interface TaskModel<B extends Batch = Batch> extends Module {
  /** Mean loss of the batch, a scalar. Dropout draws seeds from `ctx.rng` when `ctx.training`. */
  loss(batch: B, ctx: ForwardContext): tf.Scalar;
}

export type Metrics = Record<string, number>;

export interface TaskContext {
  /** Absolute data root: `--data-root`, else config `data.root`, else $FLOWFORMER_DATA_ROOT, else `<cwd>/data`. */
  dataRoot: string;
  /** A folder the task may write caches into (inside the project, ignored by git). */
  cacheDir: string;
  rng: Rng;
  log: (msg: string) => void;
}

export interface EvalContext<Cfg = Config> {
  config: Cfg;
  /** Which split is evaluated ('valid' or 'test'), e.g. for messages. */
  splitName: string;
  /** Examples per evaluation batch (config evaluation.batchSize, default training.batchSize). */
  batchSize: number;
  /** Randomness for evaluations that need it (RL rollouts); the same at every evaluation. */
  rng: Rng;
  log: (msg: string) => void;
}

/** What the trainer and `evaluateRun` need of a task; task.ts's `Task` adds the optional hooks of the other commands. */
export interface TrainableTask<Cfg extends Config = any, B extends Batch = Batch> {
  name: string;
  /** zod objects for the task's `model` and `data` fields, plus any extra top-level sections. */
  schema: TaskSchemas;
  /** The metric that selects the best checkpoint (a key of what `evaluate` returns). */
  metric: { name: string; mode: 'max' | 'min' };
  load(config: Cfg, ctx: TaskContext): Promise<TaskData<B>>;
  build(config: Cfg, data: TaskData<B>, rng: Rng): TaskModel<B>;
  /** Metrics of the model on a split (no gradient; use `forEachBatch` for the usual loop). */
  evaluate(model: TaskModel<B>, split: Split<B>, ctx: EvalContext<Cfg>): Promise<Metrics>;
  /**
   * The task's own final protocol, run once on the LAST model when a run completes (and by
   * `flowformer eval` on ckpt/last of that split), recorded as `finalEval` in summary.json.
   * D4RL: the original's evaluation after the last iteration, 100 episodes per target.
   */
  finalEval?: TaskFinalEval<Cfg>;
}

export interface TaskFinalEval<Cfg extends Config = Config> {
  /** The split `evaluate` runs on (the task's `load` sizes it for the protocol). */
  split: 'valid' | 'test';
  /** What summary.json records as `finalEval`, from the metrics of `evaluate` at update `step`. */
  summarize(metrics: Metrics, step: number, config: Cfg): Record<string, unknown>;
}

/**
 * Runs `fn` on consecutive batches of a split in index order (evaluation), disposing each
 * batch's tensors afterwards. `fn` should do its tensor work inside `tf.tidy`.
 */
export async function forEachBatch<B extends Batch>(
  split: Split<B>,
  batchSize: number,
  fn: (batch: B, indices: Int32Array) => void | Promise<void>,
  rng?: Rng,
): Promise<void> {
  for (let start = 0; start < split.size; start += batchSize) {
    const n = Math.min(batchSize, split.size - start);
    const indices = new Int32Array(n);
    for (let i = 0; i < n; i++) indices[i] = start + i;
    const batch = await split.batch(indices, { training: false, rng: rng ?? NO_RNG });
    try {
      await fn(batch, indices);
    } finally {
      for (const t of batch.tensors) t.dispose();
    }
  }
}

/** Evaluation batches must not be random; this placeholder makes any use of randomness an error. */
const NO_RNG = new Proxy({} as Rng, {
  get() {
    throw new Error('an evaluation batch asked for randomness: pass an rng to forEachBatch if this is intended');
  },
});

/** The registered task named `name`, as the trainer sees it (task.ts's `registerTask` put it there). */
export function getTrainableTask(name: string): TrainableTask {
  return requireTask<TrainableTask>(name);
}
