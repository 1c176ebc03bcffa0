/**
 * The Task interface and the task registry.
 *
 * A task package (`packages/<task>`) exports a `Task` from `src/task.ts` and names that file
 * in its package.json under `"flowformer": {"task": "./src/task.ts"}`; the CLI discovers task
 * packages by that field, so adding a task edits no other package. See docs/adding-a-task.md.
 *
 * The trainer owns the loop (order, batching, optimiser, checkpoints); a task owns its data,
 * its model (including its loss) and its metrics. Data is random access by example index so
 * that the trainer alone decides the order (seeded, resumable), whatever the storage: an
 * in-memory array (UEA, LRA), contiguous token blocks (WikiText), one window per start index
 * (D4RL), or images decoded from disk on demand (ImageNet: `batch` may be async and is
 * prefetched one batch ahead while the previous step computes).
 */
import type { tf } from './tf.ts';
import type { Config, TaskSchemas } from './config/schema.ts';
import type { ForwardContext, Module } from './nn/module.ts';
import type { Rng } from './rng.ts';
import type { RunSummary } from './results/run.ts';
import type { PaperData } from './results/paper.ts';
import type { OriginalHooks } from './original.ts';
import type { TableSpec } from './results/table-spec.ts';

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

/**
 * A task: a small required core (name, schema, load, build, evaluate, metric), then optional
 * hooks for the commands that need more (tables, data, generate, visualize, bench).
 */
export interface Task<Cfg extends Config = any, B extends Batch = Batch> {
  name: string;
  /** zod objects for the task's `model` and `data` fields, plus any extra top-level sections. */
  schema: TaskSchemas;
  /** The metric that selects the best checkpoint (a key of what `evaluate` returns). */
  metric: { name: string; mode: 'max' | 'min' };
  load(config: Cfg, ctx: TaskContext): Promise<TaskData<B>>;
  build(config: Cfg, data: TaskData<B>, rng: Rng): TaskModel<B>;
  /** Metrics of the model on a split (no gradient; use `forEachBatch` for the usual loop). */
  evaluate(model: TaskModel<B>, split: Split<B>, ctx: EvalContext<Cfg>): Promise<Metrics>;
  /** One line for `flowformer list`. */
  description?: string;
  /** The datasets `flowformer list` shows. */
  datasets?: { name: string; description: string }[];
  /**
   * The result tables this task declares (`flowformer reproduce --table <name>`): rows,
   * columns as named recipes with their sources, seeds, scales (see results/table-spec.ts).
   * The core and the CLI know a table only from here.
   */
  tables?: TableSpec[];
  /** The config `flowformer train --task <name>` runs when no --config is given (relative to the repository root). */
  defaultConfig?: string;
  /** `flowformer data download|generate --task <name> ...`: how this task obtains its data. */
  data?: DataCommands;
  /** `flowformer generate --run RUN_DIR ...`: sampling from a trained model (language models). */
  generate?(args: GenerateArgs): Promise<{ text: string }>;
  /**
   * `flowformer reproduce --table <name>` (run or --collect, either scale): the task's "runs on
   * this machine" section, appended below the generic ours-vs-paper table in
   * `results/tables/<table>[-mini].md` and under `here` in its JSON. Shows what the generic
   * table cannot: protocols, proxies, throughput, chance levels. Read runs from `args.runs` and
   * the paper's numbers from `args.paper` only (never retype them).
   */
  report?(args: TaskReportArgs): TaskReport | Promise<TaskReport>;
  /**
   * `flowformer visualize --run RUN_DIR --image FILE --out FILE.png ...`: draws what a trained
   * model attends to in one input (ImageNet: the flow maps of the paper's Figure 2). Returns
   * the files written and, optionally, one line for the terminal. The task's own flags are
   * declared in `visualizeOptions` and arrive in `args.options`.
   */
  visualize?(args: VisualizeArgs): Promise<{ files: string[]; summary?: string }>;
  /** Extra flags `flowformer visualize` accepts for this task (e.g. `query`, `stage`), shown in `--help`. */
  visualizeOptions?: Record<string, TaskOption>;
  /**
   * `flowformer bench <what> --task <name> ...`: task-specific benchmarks, keyed by `<what>`
   * (e.g. `data`: throughput of the task's input pipeline). `attention` is the core's own
   * benchmark and cannot be used as a key.
   */
  bench?: Record<string, TaskBench>;
  /**
   * The task's own final protocol, run once on the LAST model when a run completes (and by
   * `flowformer eval` on ckpt/last of that split), recorded as `finalEval` in summary.json.
   * D4RL: the original's evaluation after the last iteration, 100 episodes per target.
   */
  finalEval?: TaskFinalEval<Cfg>;
  /** `flowformer check original` and `flowformer import`: equality with the original PyTorch model (see original.ts). */
  original?: OriginalHooks<TaskModel<B>>;
}

export interface TaskFinalEval<Cfg extends Config = Config> {
  /** The split `evaluate` runs on (the task's `load` sizes it for the protocol). */
  split: 'valid' | 'test';
  /** What summary.json records as `finalEval`, from the metrics of `evaluate` at update `step`. */
  summarize(metrics: Metrics, step: number, config: Cfg): Record<string, unknown>;
}

/** A flag a task adds to a command: shown in that command's `--help`, handed to the task in `options`. */
export interface TaskOption {
  describe: string;
  type: 'string' | 'number' | 'boolean';
  choices?: string[];
  default?: string | number | boolean;
}

/** Flag values as the CLI parsed them (the task's `TaskOption` defaults already applied). */
export type TaskOptionValues = Record<string, string | number | boolean | undefined>;

/** What `flowformer visualize` hands to a task. */
export interface VisualizeArgs {
  /** A run folder of this task (`results/runs/<task>/<config>/<run-id>`, with config.yaml and ckpt/). */
  runDir: string;
  /** The input to draw for (ImageNet: an image file). */
  image: string;
  /** The PNG to write; its folder exists. */
  out: string;
  /** Which checkpoint; undefined: 'best' if the run has one, else 'last'. */
  checkpoint?: 'best' | 'last';
  /** The task's own flags (declared in `Task.visualizeOptions`), e.g. `query: '3,4'`, `stage: 1`. */
  options: TaskOptionValues;
  dataRoot?: string;
  cacheDir?: string;
  log?: (msg: string) => void;
}

/** What `flowformer bench <what> --task <name>` hands to a task. */
export interface TaskBenchArgs {
  /** Absolute data root. */
  dataRoot: string;
  /** The task's own flags (declared in `TaskBench.options`). */
  options: TaskOptionValues;
  log: (msg: string) => void;
}

/** A task benchmark's result: the CLI prints `columns`/`rows` as a table and records the rest. */
export interface TaskBenchResult {
  /** One line saying what was measured, e.g. 'imagenet data pipeline, cifar10/train at 32 px'. */
  title: string;
  /** What the numbers depend on besides the machine (folder, image size, concurrency...), as label -> value. */
  setup: Record<string, string | number | boolean>;
  columns: string[];
  rows: (string | number)[][];
  /** Notes printed under the table (how to read it, what is and is not timed). */
  notes?: string[];
  /** The raw numbers, written to the JSON record as they are. */
  raw?: unknown;
}

export interface TaskBench {
  /** One line for `--help`. */
  describe: string;
  /** Examples for `--help`: [command line, what it does]. */
  examples?: [string, string][];
  /** Flags the benchmark accepts (besides --task and --data-root), shown in `--help`. */
  options?: Record<string, TaskOption>;
  run(args: TaskBenchArgs): Promise<TaskBenchResult>;
}

/** What `flowformer generate` hands to a task. */
export interface GenerateArgs {
  runDir: string;
  prompt: string;
  /** Number of tokens to sample. */
  tokens: number;
  temperature?: number;
  topK?: number;
  seed?: number;
  checkpoint?: 'best' | 'last';
  dataRoot?: string;
  cacheDir?: string;
  log?: (msg: string) => void;
  /** Receives each sampled token's text as soon as it exists (streaming output). */
  onText?: (text: string) => void;
}

/** What `flowformer reproduce` hands to `Task.report`. */
export interface TaskReportArgs {
  /** Every run record under `<resultsRoot>/runs/` (all tasks and statuses; filter what you need). */
  runs: RunSummary[];
  /** Absolute repository root (run records hold absolute config paths; show them relative to it). */
  repoRoot: string;
  /** Absolute results root the runs were read from. */
  resultsRoot: string;
  /** The paper's numbers (results/paper/flowformer-paper.json), for `paperValue(table, row, method, paper)`. */
  paper: PaperData;
  /** The scale of the table being written; the section may show runs of either scale. */
  scale: 'paper' | 'mini';
}

/** A task's section of a result table. */
export interface TaskReport {
  /** The section heading (markdown `##`). */
  title: string;
  /** The section body: tables and notes, no heading. */
  markdown: string;
  /** The same content as data, written to the table's JSON under `here.data`. */
  json: unknown;
}

/** What `flowformer data download|generate` hands to a task. */
export interface DataCommandArgs {
  /** Absolute data root. */
  dataRoot: string;
  /** `--dataset`, if given. */
  dataset?: string;
  /** The task's own flags from the command line (declared in `DataCommands.options`), e.g. `size`, `env`. */
  options: TaskOptionValues;
  log: (msg: string) => void;
}

export interface DataCommand {
  /** One line for `--help`. */
  describe: string;
  /** Examples for `--help`: [command line, what it does]. */
  examples?: [string, string][];
  run(args: DataCommandArgs): Promise<void>;
}

export interface DataCommands {
  download?: DataCommand;
  generate?: DataCommand;
  /** Extra flags the data commands accept (besides --dataset and --data-root), shown in `--help`. */
  options?: Record<string, TaskOption>;
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

const registry = new Map<string, Task>();

export function registerTask(task: Task): void {
  registry.set(task.name, task);
}

export function getTask(name: string): Task {
  const t = registry.get(name);
  if (!t) {
    const known = [...registry.keys()].sort().join(', ') || '(none registered)';
    throw new Error(`unknown task '${name}'. Known tasks: ${known}. Run 'flowformer list' to see them.`);
  }
  return t;
}

export function listTasks(): Task[] {
  return [...registry.values()].sort((a, b) => a.name.localeCompare(b.name));
}

