/**
 * What a task declares about its result tables (`Task.tables`), so that the core and the CLI
 * build, plan, run and collect any table without naming a task.
 *
 * A table is rows (datasets, or LRA's tasks) x columns. Every column is a named *recipe* with
 * the file of the original it comes from: a `paper` column reproduces the published number of
 * `paperMethod` (the recipe that produced it); an `extra` column is one of our variants (the
 * paper's definition of an attention where the published numbers used another, a baseline in
 * Flowformer's settings, ...), always labelled and never given a paper value. Each cell is one
 * job per seed: `flowformer train --config <config> [--set attention.type=<a>] [--set seed=<s>]`.
 */
import type { ConfigTask } from '../config/schema.ts';
import type { RunSummary } from '../train/run-record.ts';

export type Scale = 'paper' | 'mini';

/** One column of a table: a named recipe. */
export interface TableColumn {
  /** The column's id in job ids, `--attentions` and the JSON; a paper column uses its attention type ('flow', 'softmax', ...). */
  key: string;
  /** The attention type the column's jobs train (`attention.type` of the config, or the override). */
  attention: string;
  /** 'paper': the recipe of the published number of `paperMethod`; 'extra': our variant, shown without a paper value. */
  kind: 'paper' | 'extra';
  /** The paper's column this one reproduces (e.g. 'Flowformer', 'Decision Transformer'); null for an extra column. */
  paperMethod: string | null;
  /** The recipe's name, e.g. 'Flowformer_LRA flowformer_base (LRA-code Flow-Attention)'. */
  recipe: string;
  /** The file(s) of the original code the recipe comes from, e.g. 'thuml/Flowformer Flowformer_LRA/listops/configs/flowformer_base.py'. */
  source: string;
  /** The column header when it is not the key (extra columns say what they are). */
  label?: string;
}

/** One row of a table at one scale. */
export interface TableRowSpec {
  row: string;
  /** The task its jobs train. */
  task: string;
  /**
   * The fallback config (relative to the repository root, or absolute): a column without an
   * entry in `configs` trains it with `--set attention.type=<attention>`. Null: only the
   * `configs` columns run.
   */
  config: string | null;
  /** Fixed config per column key, trained as is (no attention override). */
  configs?: Record<string, string>;
  /** Paper column per column key where the row's differs from the column's (ImageNet's DeiT-S row). */
  methods?: Record<string, string>;
  /** The paper row shown beside ours; null when ours has no paper counterpart. */
  paperRow: string | null;
  /** Why a row is skipped. */
  skip?: string;
  /** How ours differs from the paper's setting. */
  note?: string;
}

/** Where a job's data comes from: a dataset's release, or a regeneration by our generator. */
export interface DataSource {
  /** Absolute folder (or file) the job reads. */
  folder: string;
  kind: 'release' | 'generated';
  /** For generated data: what its provenance file says (generator, version, seed, args, createdAt). */
  provenance?: unknown;
  /** How to obtain the release (for the error when a paper table would train on generated data). */
  release?: string;
}

/** A run's number in a cell, in the paper's unit; optionally a labelled secondary figure. */
export interface CellValue {
  value: number;
  /** E.g. { label: 'best over training', value: 74.1 }: shown after the value, never instead of it. */
  secondary?: { label: string; value: number };
}

/** A table a task declares (`Task.tables`). */
export interface TableSpec {
  /** The `--table` name; unique over all tasks, never 'main'. */
  name: string;
  /** The task its rows train. */
  task: string;
  /** The table of results/paper/flowformer-paper.json beside it (title, metric, rows, values); default `name`. */
  paperTable?: string;
  /** Title and metric for a table the paper file lacks (an ablation or a test task). */
  title?: string;
  metric?: { name: string; mode: 'max' | 'min' };
  /** One line for `reproduce --help` and `list tables`. */
  describe?: string;
  /** The scales it exists at; default both. */
  scales?: Scale[];
  rows(scale: Scale): TableRowSpec[];
  columns(scale: Scale): TableColumn[];
  /** The column keys a table run trains without `--attentions`; default every `paper` column (every column when none is). */
  defaultColumns?(scale: Scale): string[];
  /**
   * The seeds each cell runs without `--seeds` (the paper's protocol: a mean over runs).
   * Undefined: one job per cell with its config's own `seed:`.
   */
  seeds?(scale: Scale): number[] | undefined;
  /**
   * Where a job's data comes from, from its resolved config (for `--plan`, and so that a paper
   * table refuses generated data as the release). Undefined: the plan says 'unknown'.
   */
  dataSource?(config: Record<string, unknown>, dataRoot: string): DataSource;
  /** Whether a completed run trained on generated data (a cell filled from it says so). */
  runOnGeneratedData?(run: RunSummary): boolean;
  /** A run's number in a cell; default the test metric of the best checkpoint (accuracies in %). */
  value?(run: RunSummary): CellValue | null;
  /** Why a completed run has no `value` (e.g. it predates what the table reports); shown in its cell instead of 'not run'. */
  whyNoValue?(run: RunSummary): string;
}

/** What the tables need of a task: its name and schema (to resolve its configs) and the tables it declares. Every `Task` is one. */
export interface TableTask extends ConfigTask {
  tables?: TableSpec[];
}
