/**
 * The Task interface and the task registry, at the top of the core.
 *
 * A task package (`packages/<task>`) exports a `Task` from `src/task.ts` and names that file
 * in its package.json under `"flowformer": {"task": "./src/task.ts"}`; the CLI discovers task
 * packages by that field, so adding a task edits no other package. See docs/adding-a-task.md.
 *
 * What the trainer needs of a task (batches, splits, the model's loss, metrics, and the
 * trainable core of the interface) is train/task-contract.ts, re-exported here; `Task` adds the
 * hooks of the other commands. The registry's map is config/tasks.ts (the loader resolves
 * `task:` through it); `registerTask` here is the only way in, so every entry is a whole Task.
 */
import type { Config } from './config/schema.ts';
import { addTask, registeredTasks, requireTask } from './config/tasks.ts';
import type { Batch, TaskModel, TrainableTask } from './train/task-contract.ts';
import type { RunSummary } from './train/run-record.ts';
import type { PaperData } from './results/paper.ts';
import type { OriginalHooks } from './original.ts';
import type { TableSpec } from './results/table-spec.ts';
import type { BenchComparison } from './results/bench-summary.ts';

export {
  forEachBatch,
  type Batch,
  type BatchContext,
  type EvalContext,
  type Metrics,
  type Split,
  type TaskContext,
  type TaskData,
  type TaskFinalEval,
  type TaskModel,
  type TrainableTask,
} from './train/task-contract.ts';

/**
 * A task: the trainable core (name, schema, metric, load, build, evaluate, finalEval; see
 * train/task-contract.ts), then optional hooks for the commands that need more (tables, data,
 * generate, visualize, bench, the original's weights).
 */
export interface Task<Cfg extends Config = any, B extends Batch = Batch> extends TrainableTask<Cfg, B> {
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
  /** `flowformer check original` and `flowformer import`: equality with the original PyTorch model (see original.ts). */
  original?: OriginalHooks<TaskModel<B>>;
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
  /** Lines for the performance page when the benchmark measured a peer beside us (results/bench-summary.ts). */
  comparisons?: BenchComparison[];
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

export function registerTask(task: Task): void {
  addTask(task);
}

export function getTask(name: string): Task {
  return requireTask<Task>(name);
}

export function listTasks(): Task[] {
  return registeredTasks<Task>();
}
