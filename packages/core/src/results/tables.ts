/**
 * The paper's benchmark tables rebuilt from our runs (`flowformer reproduce`).
 *
 * The tables are declared by the tasks (`Task.tables`, see table-spec.ts): rows (datasets) x
 * columns (named recipes). Each cell is one job per seed: `flowformer train --config <config>
 * [--set attention.type=<a>] [--set seed=<s>]`, where a row either fixes the config of a column
 * (a recipe of its own, e.g. UEA's transformer.yaml) or falls back to its main config with
 * `attention.type` overridden. Our value of a cell is the mean (± std over seeds) of the
 * completed runs found under `<resultsRoot>/runs/`, matched by config path, attention and seed;
 * the paper's value stands beside it in its paper columns. A cell with no run says 'not run':
 * nothing is ever filled in from the paper. 'main' is the README's summary: one row per table
 * that is a row of the paper's main table. A task may add a section of its own below its table
 * (`Task.report`, see `TableResult.here`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { readConfigChain } from '../config/load.ts';
import { registeredTasks } from '../config/tasks.ts';
import { canResume, isResumable, isUnfinished, readSummaryFile, REPO_ROOT, repoRelativePaths, runState, stateText, type RunState, type RunSummary } from '../train/run-record.ts';
import { loadPaper, paperValue, formatPaperCell, type PaperCell, type PaperData } from './paper.ts';
import { meanStd, relativeTo, reportedMetrics, runOverrides, settingKey, settingKeyOf } from './report.ts';
import type { CellValue, Scale, TableColumn, TableRowSpec, TableSpec, TableTask } from './table-spec.ts';

export type { CellValue, DataSource, Scale, TableColumn, TableRowSpec, TableSpec } from './table-spec.ts';
/** A table's name: one a task declares, or 'main'. */
export type TableName = string;
/** The summary table of the README: one row per declared table that is a row of the paper's main table. */
export const MAIN_TABLE = 'main';
/** The columns of 'main', and of a table run without `--attentions` whose spec names no default. */
export const DEFAULT_ATTENTIONS = ['flow', 'softmax', 'performer', 'reformer'];

/** Our attention type -> the paper's column name, unless a declared table's paper column says otherwise. */
const PAPER_METHOD: Record<string, string> = { flow: 'Flowformer', softmax: 'Transformer', performer: 'Performer', reformer: 'Reformer', linear: 'Linear Trans.', cosformer: 'cosFormer' };

/** Every table the tasks declare (default: the registered tasks), checked for unique names. */
export function tableSpecs(tasks: TableTask[] = registeredTasks<TableTask>()): TableSpec[] {
  const specs = tasks.flatMap((t) => t.tables ?? []);
  const seen = new Map<string, string>();
  for (const s of specs) {
    if (s.name === MAIN_TABLE) throw new Error(`task ${s.task}: a table cannot be named '${MAIN_TABLE}' (the summary of all tables)`);
    const other = seen.get(s.name);
    if (other) throw new Error(`table '${s.name}' is declared by two tasks (${other} and ${s.task}); table names must be unique`);
    seen.set(s.name, s.task);
  }
  return specs;
}

/** The table names `reproduce --table` accepts: the declared ones, and 'main' when one of them is in it. */
export function tableNames(specs: TableSpec[] = tableSpecs(), paper?: PaperData): string[] {
  const names = specs.map((s) => s.name);
  return mainTables(specs, paper).length ? [...names, MAIN_TABLE] : names;
}

/** The declared table `name` (not 'main'); an unknown name is an error listing the known ones. */
export function tableSpec(name: string, specs: TableSpec[] = tableSpecs()): TableSpec {
  const s = specs.find((x) => x.name === name);
  if (!s) throw new Error(`unknown table '${name}'. Tables: ${tableNames(specs).join(', ') || '(none: no task declares one)'}. Run 'flowformer list tables' to see them.`);
  return s;
}

/** The tables 'main' summarises, in the paper's order: the declared tables that are rows of its main table. */
export function mainTables(specs: TableSpec[] = tableSpecs(), paper?: PaperData): string[] {
  let rows: string[];
  try {
    rows = (paper ?? loadPaper()).tables[MAIN_TABLE]?.rows ?? [];
  } catch {
    return [];
  }
  return rows.filter((r) => specs.some((s) => s.name === r));
}

function subTables(table: TableName, specs: TableSpec[]): string[] {
  return table === MAIN_TABLE ? mainTables(specs) : [tableSpec(table, specs).name];
}

/** The paper table a declared table stands beside (its `paperTable`, default its name). */
function paperTableOf(table: string, specs: TableSpec[]): string {
  return specs.find((s) => s.name === table)?.paperTable ?? table;
}

/** Our attention type -> the paper's column name: the declared paper column of that table, else the usual name. */
export function paperMethod(table: string, attention: string, specs?: TableSpec[]): string | null {
  let declared: TableSpec[] = specs ?? [];
  if (!specs) {
    try {
      declared = tableSpecs();
    } catch {
      declared = [];
    }
  }
  const spec = declared.find((s) => s.name === table || (s.paperTable ?? s.name) === table);
  if (spec) {
    for (const scale of spec.scales ?? (['paper', 'mini'] as Scale[])) {
      const c = spec.columns(scale).find((x) => x.kind === 'paper' && x.attention === attention && x.key === attention);
      if (c) return c.paperMethod;
    }
  }
  return PAPER_METHOD[attention] ?? null;
}

export { REPO_ROOT };

/** The rows of one table at one scale (not 'main', which is the tables' summary rows). */
export function tableRows(table: string, scale: Scale, specs: TableSpec[] = tableSpecs()): TableRowSpec[] {
  const s = tableSpec(table, specs);
  if (s.scales && !s.scales.includes(scale)) throw new Error(`table ${table} has no ${scale} scale (scales: ${s.scales.join(', ')})`);
  return s.rows(scale);
}

/** The task a table's rows train. */
export function tableTask(table: string, specs: TableSpec[] = tableSpecs()): string {
  return tableSpec(table, specs).task;
}

/**
 * The columns a table run trains: `keys` (from `--attentions`) or the spec's default (its paper
 * columns; every column of a table without any). A key the table does not declare is an attention trained on each row's fallback
 * config: an extra column, labelled so, without a paper value.
 */
export function tableColumns(table: string, scale: Scale, keys?: string[], specs: TableSpec[] = tableSpecs()): TableColumn[] {
  const s = tableSpec(table, specs);
  const declared = s.columns(scale);
  const paperCols = declared.filter((c) => c.kind === 'paper');
  const want = keys ?? s.defaultColumns?.(scale) ?? (paperCols.length ? paperCols : declared).map((c) => c.key);
  return want.map(
    (k) =>
      declared.find((c) => c.key === k) ?? {
        key: k, attention: k, kind: 'extra', paperMethod: null, label: `${k} (fallback config)`,
        recipe: `each row's fallback config with attention.type=${k}`, source: 'our variant: not a recipe of the original',
      },
  );
}

export interface Job {
  table: string;
  row: string;
  task: string;
  /** The column (recipe) key: a paper column's is its attention type. */
  column: string;
  /** The attention type the job trains. */
  attention: string;
  /** The seed given with --seeds (or the table's declared seeds), else the config's own `seed:`. */
  seed: number;
  /** Relative to the repository root (absolute outside it). */
  config: string;
  /** `--set` values of `flowformer train`. */
  sets: string[];
  /** A file-name-safe id: <table>-<row>-<column>-s<seed>. */
  id: string;
  /** The config file does not exist (yet): the job cannot run, and its cell says so. */
  missingConfig?: boolean;
}

export interface JobOptions {
  table: TableName;
  scale: Scale;
  /** Column keys; default each table's default columns ('main': DEFAULT_ATTENTIONS). */
  attentions?: string[];
  /**
   * Seeds to run (`--set seed=<s>` per job). Omitted: the table's declared seeds, else one job
   * per cell with the config's own `seed:` and no seed override, so runs made with a plain
   * `flowformer train --config` match.
   */
  seeds?: number[];
  /** Where configs are resolved from; default the repository this package lies in. */
  repoRoot?: string;
  /** Keep only these rows (names as in the table). */
  only?: string[];
  /**
   * Extra `--set` values for the jobs: `key=value` for every job, `<row>:key=value` for one
   * row's jobs (e.g. `image:data.dir=cifar10`). Shown as overrides beside the numbers.
   */
  sets?: string[];
  /** The declared tables; default those of the registered tasks. */
  specs?: TableSpec[];
}

/** The extra sets of `o.sets` that apply to a row. */
function rowSets(sets: string[] | undefined, row: string): string[] {
  return (sets ?? []).flatMap((s) => {
    const m = /^([^=:]+):(.+=.*)$/.exec(s);
    return m ? (m[1] === row ? [m[2]!] : []) : [s];
  });
}

/** The config a (row, column) cell trains, or null when the row has no such column. */
export function cellConfig(r: TableRowSpec, column: Pick<TableColumn, 'key' | 'attention'> | string): { config: string; sets: string[] } | null {
  const c = typeof column === 'string' ? { key: column, attention: column } : column;
  const fixed = r.configs?.[c.key];
  if (fixed) return { config: fixed, sets: [] };
  return r.config ? { config: r.config, sets: [`attention.type=${c.attention}`] } : null;
}

/** How a row's cells are configured, for the table's provenance lines. */
function rowConfigText(r: TableRowSpec, repoRoot: string): string | null {
  const rel = (c: string) => relativeTo(repoRoot, path.resolve(repoRoot, c));
  const fixed = Object.entries(r.configs ?? {}).map(([a, c]) => `${a}: ${rel(c)}`);
  if (!fixed.length) return r.config && rel(r.config);
  return [...fixed, ...(r.config ? [`others: ${rel(r.config)} --set attention.type=<a>`] : [])].join(', ');
}

/** The `seed:` a config file resolves to (the core schema's default, 0, when none is written). */
export function configSeed(repoRoot: string, config: string): number {
  const file = path.resolve(repoRoot, config);
  const seed = readConfigChain(file).seed;
  if (seed === undefined) return 0;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0) throw new Error(`${config}: seed: expected a non-negative integer, got ${JSON.stringify(seed)}`);
  return seed;
}

/** The column keys of a table run: `--attentions`, else the table's default ('main': DEFAULT_ATTENTIONS). */
export function columnKeys(o: Pick<JobOptions, 'table' | 'scale' | 'attentions' | 'specs'>): string[] {
  if (o.attentions) return o.attentions;
  if (o.table === MAIN_TABLE) return DEFAULT_ATTENTIONS;
  return tableColumns(o.table, o.scale, undefined, o.specs ?? tableSpecs()).map((c) => c.key);
}

/** Every job the table needs: one per (row, column, seed), rows first, in the table's order. */
export function tableJobs(o: JobOptions): Job[] {
  const specs = o.specs ?? tableSpecs();
  const root = o.repoRoot ?? REPO_ROOT;
  const seedOf = new Map<string, number>();
  // A missing config (a recipe whose file has not landed) has no seed of its own: its job gets 0.
  const exists = (config: string) => fs.existsSync(path.resolve(root, config));
  const ownSeed = (config: string) => {
    if (!seedOf.has(config)) seedOf.set(config, exists(config) ? configSeed(root, config) : 0);
    return seedOf.get(config)!;
  };
  const jobs: Job[] = [];
  for (const t of subTables(o.table, specs)) {
    const columns = tableColumns(t, o.scale, o.table === MAIN_TABLE ? (o.attentions ?? DEFAULT_ATTENTIONS) : o.attentions, specs);
    const declaredSeeds = o.seeds ? undefined : tableSpec(t, specs).seeds?.(o.scale);
    for (const r of tableRows(t, o.scale, specs)) {
      if (r.skip || (o.only && !o.only.includes(r.row))) continue;
      for (const col of columns) {
        const c = cellConfig(r, col);
        if (!c) continue;
        const config = relativeTo(root, path.resolve(root, c.config));
        // --seeds: a seed override per job. Declared seeds: an override only where the seed is
        // not the config's own, so the first job is the plain `flowformer train --config`.
        const seeds = o.seeds
          ? o.seeds.map((s) => ({ s, set: [`seed=${s}`] }))
          : declaredSeeds
            ? declaredSeeds.map((s) => ({ s, set: s === ownSeed(config) ? [] : [`seed=${s}`] }))
            : [{ s: ownSeed(config), set: [] as string[] }];
        for (const { s, set } of seeds)
          jobs.push({ table: t, row: r.row, task: r.task, column: col.key, attention: col.attention, seed: s, config, sets: [...c.sets, ...set, ...rowSets(o.sets, r.row)], id: `${t}-${r.row}-${col.key}-s${s}`, ...(exists(config) ? {} : { missingConfig: true }) });
      }
    }
  }
  return jobs;
}

/**
 * Every summary.json under `<resultsRoot>/runs/<task>/<config>/<run-id>/`, with `runDir` where it
 * was found and `configPath` absolute here (readSummaryFile).
 */
export function readRunSummaries(resultsRoot: string, repoRoot = REPO_ROOT): RunSummary[] {
  const runs = path.join(resultsRoot, 'runs');
  const out: RunSummary[] = [];
  if (!fs.existsSync(runs)) return out;
  for (const task of fs.readdirSync(runs))
    for (const cfg of safeDirs(path.join(runs, task)))
      for (const id of safeDirs(path.join(runs, task, cfg))) {
        const f = path.join(runs, task, cfg, id, 'summary.json');
        if (!fs.existsSync(f)) continue;
        try {
          out.push(readSummaryFile(f, repoRoot));
        } catch {
          // a summary cut by a crash: not a result
        }
      }
  return out;
}

function safeDirs(d: string): string[] {
  try {
    return fs.readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

/**
 * Which runs trained a job: the same config file, attention and seed, and the same extra
 * `--set`s (in any order). A run with other overrides (another protocol, a shorter budget) is
 * another setting, so it never fills this job's cell.
 */
function runsOf(job: Job, repoRoot: string): (r: RunSummary) => boolean {
  const key = settingKeyOf(job.config, job.attention, job.sets, repoRoot);
  return (r) => r.seed === job.seed && settingKey(r, repoRoot) === key;
}

/** The runs of a job that `keep` accepts, latest first (the job match first: it is the cheap test). */
function runsOfJobWhere(job: Job, runs: RunSummary[], repoRoot: string, keep: (r: RunSummary) => boolean): RunSummary[] {
  const isJob = runsOf(job, repoRoot);
  return runs.filter((r) => isJob(r) && keep(r)).sort((a, b) => (a.runId < b.runId ? 1 : -1));
}

/** The completed runs of a job, latest first. */
export function runsOfJob(job: Job, runs: RunSummary[], repoRoot: string): RunSummary[] {
  return runsOfJobWhere(job, runs, repoRoot, (r) => r.status === 'completed');
}

/** The latest run of a job that has not completed: interrupted, stopped early, running, or abandoned. */
function unfinishedRunOfJob(job: Job, runs: RunSummary[], repoRoot: string): RunSummary | undefined {
  return runsOfJobWhere(job, runs, repoRoot, (r) => isUnfinished(runState(r)))[0];
}

/**
 * The latest run of a job that is running now, on this machine (its process is alive, see
 * `runState`): `reproduce` leaves the job alone instead of starting a second run of it.
 */
export function runningRunOfJob(job: Job, runs: RunSummary[], repoRoot: string): RunSummary | undefined {
  return runsOfJobWhere(job, runs, repoRoot, (r) => runState(r) === 'running')[0];
}

/**
 * The latest run of a job that `reproduce` continues with `--resume` instead of starting over:
 * interrupted (Ctrl-C, SIGTERM), stopped early, or abandoned (killed or crashed, see
 * `runState`), with its ckpt/last on disk (`canResume`).
 */
export function interruptedRunOfJob(job: Job, runs: RunSummary[], repoRoot: string): RunSummary | undefined {
  return runsOfJobWhere(job, runs, repoRoot, (r) => canResume(r))[0];
}

/**
 * The latest run of a job that stopped before the end but cannot go on here because its
 * ckpt/last is missing: a record committed or copied from the machine that trained it (checkpoints
 * are never committed), or one that died before its first checkpoint. `reproduce` starts such a
 * job over and says so; the record stays and is shown as unfinished in the table.
 */
export function strandedRunOfJob(job: Job, runs: RunSummary[], repoRoot: string): RunSummary | undefined {
  return runsOfJobWhere(job, runs, repoRoot, (r) => {
    const state = runState(r); // once: it may probe the run's pid
    return isResumable(state) && !canResume(r, state);
  })[0];
}

/** Our number of a run, in the paper's unit: the test metric of the best checkpoint, else the best evaluation; accuracies in %. */
export function runValue(s: RunSummary): number | null {
  const name = s.metric?.name;
  if (!name) return null;
  const v = reportedMetrics(s)?.metrics[name] ?? s.best?.value ?? null;
  if (v === null || !Number.isFinite(v)) return null;
  return name === 'accuracy' || name === 'top1' ? v * 100 : v;
}

/** A run's number in a cell of `spec`: the table's own `value` when it declares one, else runValue. */
export function cellValueOf(s: RunSummary, spec?: TableSpec): CellValue | null {
  if (spec?.value) return spec.value(s);
  const v = runValue(s);
  return v === null ? null : { value: v };
}

export interface OurCell {
  mean: number;
  std: number | null;
  n: number;
  values: number[];
  /** A labelled secondary figure over the same runs (e.g. D4RL's best over training), mean over seeds. */
  secondary?: { label: string; mean: number; std: number | null };
  /** Seeds whose run trained on generated data, not the dataset's release (the cell says so). */
  generated?: number[];
  runs: { runDir: string; seed: number; config: string; dataset: string; dataDir: unknown; backend: string; gitCommit: string | null; steps: number; command: string; overrides: string[] }[];
}

/** A run of a cell's seed that has not completed (interrupted, stopped early, running or abandoned): shown, never counted. */
export interface UnfinishedRun {
  runDir: string;
  seed: number;
  /** 'abandoned': the record says running but its process is gone (see `runState`). */
  status: RunState;
  steps: number;
  totalSteps: number;
  /** Its best evaluation so far, in the paper's unit, or null before the first one. */
  bestSoFar: number | null;
  /** What that evaluation measured: `<split> <metric>`, e.g. 'test accuracy'. */
  bestOf: string;
}

export interface TableCell {
  /** The attention type the column trains (for paper columns also the column's key). */
  attention: string;
  /** The column (recipe) key. */
  column: string;
  paperMethod: string | null;
  ours: OurCell | null;
  /** 'ok', 'not run', 'partial: k of n seeds', each followed by the seeds whose run is unfinished. */
  status: string;
  paper: PaperCell | null;
  /** Seeds of this cell without a completed run but with an unfinished one (latest per seed). */
  unfinished?: UnfinishedRun[];
}

export interface TableRowResult {
  row: string;
  config: string | null;
  paperRow: string | null;
  note?: string;
  cells: TableCell[];
}

/** A task's own section below the table (`Task.report`): what was run on this machine. */
export interface TableHere {
  task: string;
  title: string;
  markdown: string;
  /** Written to the table's JSON under `here.data`. */
  json: unknown;
}

/** A column as the table records it: its recipe and where it comes from. */
export type TableColumnInfo = TableColumn;

export interface TableResult {
  table: TableName;
  title: string;
  scale: Scale;
  metric: string;
  mode: string;
  /** The seeds run, or 'config': each job used its config's own `seed:`. */
  seeds: number[] | 'config';
  /** The column keys, in order (a paper column's key is its attention type). */
  attentions: string[];
  /** Each column's recipe and source (sub-tables only; 'main' summarises theirs). */
  columns?: TableColumnInfo[];
  paperSource: string;
  generatedAt: string;
  /** The `--set`s the table was built with (`key=value`, `<row>:key=value`): a run counts only with the same ones. */
  sets: string[];
  rows: TableRowResult[];
  /** The task's "runs on this machine" section, appended below the table (task tables only). */
  here?: TableHere;
}

export interface BuildOptions extends JobOptions {
  runs: RunSummary[];
  repoRoot: string;
  paper?: PaperData;
  now?: Date;
}

/** How far an unfinished run got, for a cell's status: `seed 666 interrupted at update 137 of 1700, best test accuracy so far 92.15`. */
function unfinishedText(u: UnfinishedRun): string {
  const best = u.bestSoFar === null ? 'no evaluation yet' : `best ${u.bestOf} so far ${f2(u.bestSoFar)}`;
  return `seed ${u.seed} ${stateText(u.status)} at update ${u.steps} of ${u.totalSteps}, ${best}`;
}

/** Whether a run trained on generated data: the table's own test, else what the run recorded about its data. */
function onGeneratedData(r: RunSummary, spec?: TableSpec): boolean {
  if (spec?.runOnGeneratedData) return spec.runOnGeneratedData(r);
  const info = (r.dataInfo ?? {}) as Record<string, unknown>;
  return info.dataKind === 'generated' || (typeof info.provenance === 'object' && info.provenance !== null);
}

function ourCell(jobs: Job[], runs: RunSummary[], repoRoot: string, spec?: TableSpec, scale: Scale = 'paper'): { cell: OurCell | null; status: string; unfinished?: UnfinishedRun[] } {
  // Per seed the latest completed run; it counts when it has a value.
  const done = jobs.map((j) => runsOfJob(j, runs, repoRoot)[0]);
  const found = done.flatMap((r) => {
    const v = r ? cellValueOf(r, spec) : null;
    return r && v ? [{ r, v }] : [];
  });
  // Seeds without a completed run: their latest unfinished run, if any, is named in the status.
  const unfinished = jobs.flatMap((j, i): UnfinishedRun[] => {
    if (done[i]) return [];
    const u = unfinishedRunOfJob(j, runs, repoRoot);
    return u ? [{ runDir: relativeTo(repoRoot, u.runDir), seed: u.seed, status: runState(u), steps: u.steps, totalSteps: u.totalSteps, bestSoFar: u.best ? runValue(u) : null, bestOf: `${u.metric?.split ?? 'valid'} ${u.metric?.name ?? 'metric'}` }] : [];
  });
  const extra = unfinished.length ? { unfinished } : {};
  const listed = unfinished.map(unfinishedText).join('; ');
  // Completed runs the table cannot read a value from (a record older than what the table reports): said, not hidden as 'not run'.
  const valueless = spec?.whyNoValue ? done.filter((r): r is RunSummary => r !== undefined && !cellValueOf(r, spec)) : [];
  const why = valueless.map((r) => `seed ${r.seed}: ${spec!.whyNoValue!(r)}`).join('; ');
  if (!found.length) return { cell: null, status: [why && `no value: ${why}`, listed && `not finished: ${listed}`].filter(Boolean).join('; ') || 'not run', ...extra };
  const values = found.map(({ v }) => v.value);
  const second = found.map(({ v }) => v.secondary).filter((x): x is NonNullable<CellValue['secondary']> => x !== undefined);
  // Mini tables run on generated sets by design (their notes say so); a paper cell must say it.
  const generated = scale === 'mini' ? [] : found.filter(({ r }) => onGeneratedData(r, spec)).map(({ r }) => r.seed);
  const cell: OurCell = {
    ...meanStd(values),
    n: values.length,
    values,
    ...(second.length === found.length ? { secondary: { label: second[0]!.label, ...meanStd(second.map((x) => x.value)) } } : {}),
    ...(generated.length ? { generated } : {}),
    runs: found.map(({ r }) => ({ runDir: relativeTo(repoRoot, r.runDir), seed: r.seed, config: path.relative(repoRoot, r.configPath), dataset: r.dataset, dataDir: (r.dataInfo as Record<string, unknown> | undefined)?.dir ?? null, backend: r.backend, gitCommit: r.gitCommit, steps: r.steps, command: r.command, overrides: runOverrides(r.command) })),
  };
  return { cell, status: found.length === jobs.length ? 'ok' : `partial: ${found.length} of ${jobs.length} seeds${why ? `; no value: ${why}` : ''}${listed ? `; ${listed}` : ''}`, ...extra };
}

/** One declared table from the runs found. */
function buildSubTable(t: string, o: BuildOptions, paper: PaperData, specs: TableSpec[]): TableRowResult[] {
  const spec = tableSpec(t, specs);
  const pt = paperTableOf(t, specs);
  const columns = tableColumns(t, o.scale, o.table === MAIN_TABLE ? (o.attentions ?? DEFAULT_ATTENTIONS) : o.attentions, specs);
  const jobs = tableJobs({ ...o, table: t, specs });
  const rows: TableRowResult[] = [];
  // Paper values stand beside paper columns only: an extra column is our variant, not the published recipe.
  const methodOf = (r: TableRowSpec | null, c: TableColumn) => (c.kind === 'paper' ? ((r && r.methods?.[c.key]) ?? c.paperMethod) : null);
  for (const r of tableRows(t, o.scale, specs)) {
    if (o.only && !o.only.includes(r.row)) continue;
    const cells = columns.map((col): TableCell => {
      const method = methodOf(r, col);
      const p = r.paperRow && method ? paperValue(pt, r.paperRow, method, paper) : null;
      const js = jobs.filter((j) => j.row === r.row && j.column === col.key);
      const head = { attention: col.attention, column: col.key, paperMethod: method };
      if (r.skip) return { ...head, ours: null, status: `skipped: ${r.skip}`, paper: p };
      if (!js.length) return { ...head, ours: null, status: 'no config for this attention', paper: p };
      if (js.every((j) => j.missingConfig)) return { ...head, ours: null, status: `config missing: ${js[0]!.config}`, paper: p };
      const { cell, status, unfinished } = ourCell(js, o.runs, o.repoRoot, spec, o.scale);
      return { ...head, paper: p, ours: cell, status, ...(unfinished ? { unfinished } : {}) };
    });
    rows.push({ row: r.row, config: rowConfigText(r, o.repoRoot), paperRow: r.paperRow, note: r.skip ?? r.note, cells });
  }
  // The paper's average row: ours only when every row of the column has a value, and labelled
  // partial (with its count) when those rows are fewer than the paper's.
  const paperRows = paper.tables[pt]?.rows ?? [];
  const paperCount = paperRows.filter((x) => x !== 'average').length;
  if (paperRows.includes('average') && rows.length > 1) {
    const partial = rows.length < paperCount ? `partial: mean of ${rows.length} rows, the paper's of ${paperCount}` : null;
    rows.push({
      row: 'average', config: null, paperRow: 'average',
      note: partial ?? (o.scale === 'mini' ? 'mean of the rows above (mini scale)' : 'mean of the rows above'),
      cells: columns.map((col, i): TableCell => {
        const method = methodOf(null, col);
        const cs = rows.map((r) => r.cells[i]!);
        const ok = cs.every((c) => c.ours);
        const vals = ok ? cs.map((c) => c.ours!.mean) : [];
        return {
          attention: col.attention, column: col.key, paperMethod: method, paper: method ? paperValue(pt, 'average', method, paper) : null,
          status: ok ? (partial ?? 'ok') : `not run (${cs.filter((c) => !c.ours).length} of ${cs.length} rows missing)`,
          ours: ok ? { mean: vals.reduce((x, y) => x + y, 0) / vals.length, std: null, n: vals.length, values: vals, runs: cs.flatMap((c) => c.ours!.runs) } : null,
        };
      }),
    });
  }
  return rows;
}

/** The table's cells: ours from `runs`, the paper's beside them. */
export function buildTable(o: BuildOptions): TableResult {
  const paper = o.paper ?? loadPaper();
  const specs = o.specs ?? tableSpecs();
  const attentions = columnKeys({ ...o, specs });
  const declared = o.table === MAIN_TABLE || o.seeds ? undefined : tableSpec(o.table, specs).seeds?.(o.scale);
  const seeds: number[] | 'config' = o.seeds ?? declared ?? 'config';
  const base = { table: o.table, scale: o.scale, seeds, sets: o.sets ?? [], attentions, generatedAt: (o.now ?? new Date()).toISOString() };
  if (o.table !== MAIN_TABLE) {
    const spec = tableSpec(o.table, specs);
    const p = paper.tables[paperTableOf(o.table, specs)];
    const head = p
      ? { title: p.title, metric: p.metric, mode: p.mode, paperSource: p.source }
      : { title: spec.title ?? o.table, metric: spec.metric?.name ?? '-', mode: spec.metric?.mode ?? '-', paperSource: 'none (this table has no counterpart in the paper)' };
    return { ...base, ...head, columns: tableColumns(o.table, o.scale, o.attentions, specs), rows: buildSubTable(o.table, o, paper, specs) };
  }
  // 'main': one row per benchmark, its summary row (the average, or the single row).
  const main = paper.tables[MAIN_TABLE]!;
  const mainMethod = (a: string) => PAPER_METHOD[a] ?? null;
  const rows: TableRowResult[] = mainTables(specs, paper).map((t) => {
    const sub = buildSubTable(t, { ...o, only: undefined }, paper, specs);
    const avg = sub.find((x) => x.row === 'average');
    // An incomplete average (rows without runs, e.g. datasets not on this machine): summarise the
    // rows that ran in EVERY column instead, so the columns stay comparable with each other, and
    // say so; the paper's cell beside it is still its full average.
    if (avg && avg.cells.some((c) => !c.ours)) {
      const full = sub.filter((x) => x.row !== 'average' && x.cells.every((c) => c.ours));
      if (full.length) {
        const names = full.map((x) => x.row).join(', ');
        return {
          row: t, config: null, paperRow: t,
          note: `from the ${t} table: mean over ${names} only, the rows run in every column (${sub.length - 1 - full.length} of ${sub.length - 1} rows lack runs); the paper's number is its average over all rows`,
          cells: avg.cells.map((c, i) => {
            const vals = full.map((x) => x.cells[i]!.ours!.mean);
            const method = mainMethod(c.attention);
            return {
              ...c, paperMethod: method, paper: method ? paperValue(MAIN_TABLE, t, method, paper) : null,
              status: `partial: mean of ${names}`,
              ours: { mean: meanStd(vals).mean, std: null, n: vals.length, values: vals, runs: full.flatMap((x) => x.cells[i]!.ours!.runs) },
            };
          }),
        };
      }
    }
    const r = avg ?? sub[0]!;
    return {
      row: t, config: r.config, paperRow: t, note: `from the ${t} table, row ${r.row}${r.note ? ` (${r.note})` : ''}`,
      cells: r.cells.map((c) => ({ ...c, paperMethod: mainMethod(c.attention), paper: mainMethod(c.attention) ? paperValue(MAIN_TABLE, t, mainMethod(c.attention)!, paper) : null })),
    };
  });
  return { ...base, title: main.title, metric: main.metric, mode: main.mode, paperSource: main.source, rows };
}

const f2 = (x: number) => x.toFixed(2);

/** A cell of ours: mean ± std, at paper scale with its number of seeds; what it is not, after it. */
function oursText(c: TableCell, scale: Scale): string {
  if (!c.ours) return c.status;
  const o = c.ours;
  let v = o.std === null ? f2(o.mean) : `${f2(o.mean)} ± ${f2(o.std)}`;
  // A row's cell at paper scale says over how many seeds (an average row's n counts rows, not seeds).
  if (scale === 'paper' && !c.status.startsWith('partial: mean') && o.runs.length === o.n) v += ` (${o.n} seed${o.n === 1 ? '' : 's'})`;
  if (o.secondary) v += `; ${o.secondary.label} ${f2(o.secondary.mean)}`;
  if (o.generated) v += `; generated data${o.generated.length < o.n ? ` (seeds ${o.generated.join(',')})` : ''}`;
  return c.status === 'ok' ? v : `${v} (${c.status})`;
}

/** A column's header: its key, or what an extra column is. */
function columnHeader(t: TableResult, key: string): string {
  const c = t.columns?.find((x) => x.key === key);
  return c?.label ?? key;
}

/** Markdown: one row per table row, ours | paper per column, then each column's recipe and where each number came from. */
export function tableMarkdown(t: TableResult): string {
  const L: string[] = [];
  L.push(`# ${t.title} — ${t.table}, scale ${t.scale}`, '');
  const seeds = t.seeds === 'config' ? "each config's own seed" : `seeds ${t.seeds.join(',')}`;
  const sets = t.sets.map((x) => ` --set ${x}`).join('');
  L.push(`Ours: \`flowformer reproduce --table ${t.table} --scale ${t.scale}${sets}\`, ${seeds}; mean ± std over seeds. Paper: ${t.paperSource} (results/paper/flowformer-paper.json).`);
  L.push(`Cells without a completed run say "not run", or "not finished" with how far an interrupted, running or abandoned run got (never counted); no number of ours is ever taken from the paper. Generated ${t.generatedAt}.`, '');
  L.push(`| row | ${t.attentions.map((a) => `${columnHeader(t, a)} (ours) | paper`).join(' | ')} |`);
  L.push(`| --- | ${t.attentions.map(() => '--: | --:').join(' | ')} |`);
  for (const r of t.rows) L.push(`| ${r.row} | ${r.cells.map((c) => `${oursText(c, t.scale)} | ${formatPaperCell(c.paper)}`).join(' | ')} |`);
  L.push('', 'Paper columns: ' + t.attentions.map((a) => `${a} = ${t.rows[0]?.cells.find((c) => c.column === a)?.paperMethod ?? '(none)'}`).join(', ') + '.', '');
  if (t.columns?.length) {
    L.push('## Recipes', '');
    for (const c of t.columns)
      L.push(`- **${c.label ?? c.key}** (${c.kind === 'paper' ? `paper column: ${c.paperMethod ?? '-'}` : 'extra: our variant, not the published recipe; no paper value beside it'}): ${c.recipe}; source: ${c.source}`);
    L.push('');
  }
  L.push('## Where our numbers come from', '');
  for (const r of t.rows) {
    L.push(`- **${r.row}**: config ${r.config ?? '-'}${r.paperRow && r.paperRow !== r.row ? `; paper row ${r.paperRow}` : ''}${r.note ? `; ${r.note}` : ''}`);
    if (r.row === 'average' || t.table === MAIN_TABLE) continue;
    for (const c of r.cells)
      for (const run of c.ours?.runs ?? [])
        L.push(`  - ${c.column} seed ${run.seed}: ${run.runDir} (dataset ${run.dataset}, data ${String(run.dataDir ?? '-')}, ${run.steps} steps, backend ${run.backend}, commit ${run.gitCommit ?? '-'}${run.overrides.length ? `; overrides: ${run.overrides.map((o) => `--set ${o}`).join(' ')}` : ''})`);
  }
  if (t.here) L.push('', `## ${t.here.title}`, '', `Written by the ${t.here.task} task's report from the run records under the results root, not only this table's jobs.`, '', t.here.markdown.trimEnd());
  return L.join('\n') + '\n';
}

/** Writes `<dir>/<table>.md` and `.json` (for --scale mini: `<table>-mini.*`). */
export function writeTable(dir: string, t: TableResult, repoRoot = REPO_ROOT): { md: string; json: string } {
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, t.scale === 'mini' ? `${t.table}-mini` : t.table);
  fs.writeFileSync(base + '.md', tableMarkdown(t));
  const { here, ...rest } = t;
  const json = here ? { ...rest, here: { task: here.task, title: here.title, data: here.json } } : rest;
  // Paths inside the repository (run folders in a task's section) are written relative to it:
  // the tables are committed, and a clone elsewhere must write the same file.
  fs.writeFileSync(base + '.json', JSON.stringify(json, repoRelativePaths(repoRoot), 2) + '\n');
  return { md: base + '.md', json: base + '.json' };
}
