/**
 * The Task interface and the task registry (DRAFT contract; the experiment framework owns
 * and may refine it). A task package (`packages/<task>`) exports a `Task` from
 * `src/task.ts` and names that file in its package.json under `"flowformer": {"task": ...}`;
 * the CLI discovers task packages by that field, so adding a task edits no other package.
 */
import type { z } from 'zod';
import type { tf } from './tf.ts';
import type { ForwardContext, Module } from './nn/module.ts';
import type { Rng } from './train/rng.ts';

/** A materialised mini-batch. The trainer disposes `tensors` after the step. */
export interface Batch {
  /** Number of examples in the batch. */
  size: number;
  /** Every tensor the batch holds, for disposal. */
  tensors: tf.Tensor[];
}

/** One split of a dataset: a random-access collection of examples. */
export interface Split<B extends Batch = Batch> {
  readonly size: number;
  /** Builds the batch of the examples at `indices` (the trainer chooses the order). */
  batch(indices: Int32Array): B | Promise<B>;
}

export interface TaskData<B extends Batch = Batch> {
  train: Split<B>;
  valid?: Split<B>;
  test?: Split<B>;
  /** Facts to print and record (class count, lengths, vocabulary size, ...). */
  info: Record<string, unknown>;
}

/** A model is a Module that can compute its training loss on a batch. */
export interface TaskModel<B extends Batch = Batch> extends Module {
  loss(batch: B, ctx: ForwardContext): tf.Scalar;
}

export type Metrics = Record<string, number>;

export interface TaskContext {
  /** Absolute data root (`--data-root`, `FLOWFORMER_DATA_ROOT`, or `<repo>/data`). */
  dataRoot: string;
  /** A folder the task may write caches into (inside the project, ignored by git). */
  cacheDir: string;
  rng: Rng;
  log: (msg: string) => void;
}

export interface Task<Cfg = any, B extends Batch = Batch> {
  name: string;
  description: string;
  datasets: { name: string; description: string }[];
  /** zod schemas of the task-specific config sections (merged into the shared schema). */
  schema: { model: z.ZodType; data: z.ZodType; [section: string]: z.ZodType };
  /** The metric that selects the best checkpoint. */
  metric: { name: string; mode: 'max' | 'min' };
  load(config: Cfg, ctx: TaskContext): Promise<TaskData<B>>;
  build(config: Cfg, data: TaskData<B>, rng: Rng): TaskModel<B>;
  evaluate(model: TaskModel<B>, split: Split<B>, config: Cfg): Promise<Metrics>;
}

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
