/**
 * The paper's benchmark tables rebuilt from our runs (`flowformer reproduce`).
 *
 * A table is rows (a dataset or LRA task) x columns (an attention type). Each cell is one job
 * per seed: `flowformer train --config <config> [--set attention.type=<a>] [--set seed=<s>]`,
 * where a row either fixes the config of an attention (a baseline with its own recipe, e.g.
 * UEA's transformer.yaml) or falls back to its main config with `attention.type` overridden;
 * without `--seeds` the seed is the config's own `seed:`. Our value of a cell is the mean
 * (± std over seeds) of the completed runs found under `<resultsRoot>/runs/`, matched by
 * config path, attention and seed; the paper's value stands beside it. A cell with no run
 * says 'not run': nothing is ever filled in from the paper. A task may add a section of its
 * own below the table (`Task.report`, see `TableResult.here`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { readConfigChain } from '../config/load.ts';
import { canResume, isResumable, isUnfinished, readSummaryFile, REPO_ROOT, repoRelativePaths, runState, stateText, type RunState, type RunSummary } from './run.ts';
import { loadPaper, paperValue, formatPaperCell, type PaperCell, type PaperData } from './paper.ts';
import { meanStd, relativeTo, reportedMetrics, runOverrides, settingKey, settingKeyOf } from './report.ts';

export const TABLES = ['lra', 'imagenet', 'wikitext', 'uea', 'd4rl', 'main'] as const;
export type TableName = (typeof TABLES)[number];
export type Scale = 'paper' | 'mini';
export const DEFAULT_ATTENTIONS = ['flow', 'softmax', 'performer', 'reformer'];

/** Our attention type -> the paper's column name (per table where it differs). */
export function paperMethod(table: string, attention: string): string | null {
  if (table === 'd4rl' && attention === 'softmax') return 'Decision Transformer';
  const m: Record<string, string> = { flow: 'Flowformer', softmax: 'Transformer', performer: 'Performer', reformer: 'Reformer', linear: 'Linear Trans.', cosformer: 'cosFormer' };
  return m[attention] ?? null;
}

export { REPO_ROOT };

export interface TableRowSpec {
  row: string;
  task: string;
  /**
   * The fallback config (relative to the repository root): an attention without an entry in
   * `configs` trains it with `--set attention.type=<a>`. Null: only the `configs` attentions run.
   */
  config: string | null;
  /**
   * Fixed config per attention, trained as is (no attention override): baselines with a recipe
   * of their own (UEA/D4RL softmax with attention dropout, DeiT-S).
   */
  configs?: Record<string, string>;
  /** Paper column per attention for such rows. */
  methods?: Record<string, string>;
  /** The paper row shown beside ours; null when ours has no paper counterpart. */
  paperRow: string | null;
  /** Why a row is skipped, or how ours differs from the paper's setting. */
  skip?: string;
  note?: string;
}

const LRA = ['listops', 'text', 'retrieval', 'image', 'pathfinder'];
const UEA = ['EthanolConcentration', 'FaceDetection', 'Handwriting', 'Heartbeat', 'JapaneseVowels', 'PEMS-SF', 'SelfRegulationSCP1', 'SelfRegulationSCP2', 'SpokenArabicDigits', 'UWaveGestureLibrary'];
/** The UEA datasets with a mini.yaml (the four in ../shared/data). */
const UEA_MINI = ['Handwriting', 'JapaneseVowels', 'SelfRegulationSCP1', 'UWaveGestureLibrary'];
const D4RL = ['halfcheetah-medium-expert', 'hopper-medium-expert', 'walker2d-medium-expert', 'halfcheetah-medium', 'hopper-medium', 'walker2d-medium', 'halfcheetah-medium-replay', 'hopper-medium-replay', 'walker2d-medium-replay'];

/**
 * A paper-scale row whose flow and softmax columns are the shipped configs of the paper's
 * Flowformer and its softmax baseline, and whose other attentions fall back to the Flowformer
 * config with `attention.type` overridden.
 */
function withBaseline(dir: string, softmax: string): Pick<TableRowSpec, 'config' | 'configs'> {
  return { config: `${dir}/flowformer.yaml`, configs: { flow: `${dir}/flowformer.yaml`, softmax: `${dir}/${softmax}` } };
}

/** The rows of one table at one scale (not 'main', which is the five tables' summary rows). */
export function tableRows(table: Exclude<TableName, 'main'>, scale: Scale): TableRowSpec[] {
  switch (table) {
    case 'lra':
      return LRA.map((t) => ({ row: t, task: 'lra', config: `configs/lra/${t}/${scale === 'mini' ? 'mini' : 'flowformer'}.yaml`, paperRow: t,
        note: scale === 'mini' ? 'mini: short sequences and a small model (see the config header); not comparable with the paper' : undefined }));
    case 'uea':
      // Mini: the four datasets of the shared data, each with a quarter-width, 20-epoch mini.yaml.
      return scale === 'mini'
        ? UEA_MINI.map((d) => ({ row: d, task: 'uea', config: `configs/uea/${d}/mini.yaml`, paperRow: d,
            note: 'mini: d_model 128, 20 epochs (paper: 512, 100); paper protocol; not comparable with the paper' }))
        : UEA.map((d) => ({ row: d, task: 'uea', ...withBaseline(`configs/uea/${d}`, 'transformer.yaml'), paperRow: d }));
    case 'wikitext':
      return scale === 'mini'
        ? [{ row: 'wikitext-103-proxy', task: 'wikitext', config: 'configs/wikitext/wikitext-103-proxy/flowformer.yaml', paperRow: 'wikitext-103', note: 'proxy: trains on wiki.valid.tokens (no train file here), small model; not comparable' }]
        : [{ row: 'wikitext-103', task: 'wikitext', ...withBaseline('configs/wikitext/wikitext-103', 'transformer.yaml'), paperRow: 'wikitext-103' }];
    case 'imagenet':
      return scale === 'mini'
        ? [{ row: 'cifar10', task: 'imagenet', config: 'configs/imagenet/cifar10/flowformer.yaml', paperRow: 'imagenet-1k', note: 'proxy: CIFAR-10 5,000 images, small model; the paper column is ImageNet-1K, not comparable' }]
        : [
            { row: 'imagenet-1k', task: 'imagenet', ...withBaseline('configs/imagenet/imagenet-1k', 'flowformer-softmax.yaml'), paperRow: 'imagenet-1k' },
            { row: 'imagenet-1k-deit-s', task: 'imagenet', config: null, paperRow: 'imagenet-1k-deit-s',
              configs: { flow: 'configs/imagenet/imagenet-1k/deit-s-flow.yaml', softmax: 'configs/imagenet/imagenet-1k/deit-s.yaml' },
              methods: { flow: 'DeiT-S + Flowformer', softmax: 'DeiT-S' } },
          ];
    case 'd4rl':
      return scale === 'mini'
        ? [{ row: 'halfcheetah-mixed', task: 'd4rl', config: 'configs/d4rl/halfcheetah-mixed/mini.yaml', paperRow: null,
            note: 'no D4RL file here: a generated dataset (flowformer data generate --task d4rl --dataset halfcheetah-mixed --policy mixed --steps 20000); no paper counterpart' }]
        : D4RL.map((d) => ({ row: d, task: 'd4rl', ...withBaseline(`configs/d4rl/${d}`, 'softmax.yaml'), paperRow: d }));
  }
}

/** The task a table's rows train (the table and the task share their name). */
export function tableTask(table: Exclude<TableName, 'main'>): string {
  return tableRows(table, 'paper')[0]!.task;
}

export interface Job {
  table: Exclude<TableName, 'main'>;
  row: string;
  task: string;
  attention: string;
  /** The seed given with --seeds, else the config's own `seed:`. */
  seed: number;
  /** Relative to the repository root. */
  config: string;
  /** `--set` values of `flowformer train`. */
  sets: string[];
  /** A file-name-safe id: <table>-<row>-<attention>-s<seed>. */
  id: string;
}

export interface JobOptions {
  table: TableName;
  scale: Scale;
  attentions?: string[];
  /**
   * Seeds to run (`--set seed=<s>` per job). Omitted: one job per cell with the config's own
   * `seed:` and no seed override, so runs made with a plain `flowformer train --config` match.
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
}

/** The extra sets of `o.sets` that apply to a row. */
function rowSets(sets: string[] | undefined, row: string): string[] {
  return (sets ?? []).flatMap((s) => {
    const m = /^([^=:]+):(.+=.*)$/.exec(s);
    return m ? (m[1] === row ? [m[2]!] : []) : [s];
  });
}

function subTables(table: TableName): Exclude<TableName, 'main'>[] {
  return table === 'main' ? ['lra', 'imagenet', 'wikitext', 'uea', 'd4rl'] : [table];
}

/** The config a (row, attention) cell trains, or null when the row has no such column. */
export function cellConfig(r: TableRowSpec, attention: string): { config: string; sets: string[] } | null {
  const fixed = r.configs?.[attention];
  if (fixed) return { config: fixed, sets: [] };
  return r.config ? { config: r.config, sets: [`attention.type=${attention}`] } : null;
}

/** How a row's cells are configured, for the table's provenance lines. */
function rowConfigText(r: TableRowSpec): string | null {
  const fixed = Object.entries(r.configs ?? {}).map(([a, c]) => `${a}: ${c}`);
  if (!fixed.length) return r.config;
  return [...fixed, ...(r.config ? [`others: ${r.config} --set attention.type=<a>`] : [])].join(', ');
}

/** The `seed:` a config file resolves to (the core schema's default, 0, when none is written). */
export function configSeed(repoRoot: string, config: string): number {
  const file = path.resolve(repoRoot, config);
  const seed = readConfigChain(file).seed;
  if (seed === undefined) return 0;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0) throw new Error(`${config}: seed: expected a non-negative integer, got ${JSON.stringify(seed)}`);
  return seed;
}

/** Every job the table needs: one per (row, attention, seed). */
export function tableJobs(o: JobOptions): Job[] {
  const attentions = o.attentions ?? DEFAULT_ATTENTIONS;
  const root = o.repoRoot ?? REPO_ROOT;
  const seedOf = new Map<string, number>();
  const ownSeed = (config: string) => {
    if (!seedOf.has(config)) seedOf.set(config, configSeed(root, config));
    return seedOf.get(config)!;
  };
  const jobs: Job[] = [];
  for (const t of subTables(o.table))
    for (const r of tableRows(t, o.scale)) {
      if (r.skip || (o.only && !o.only.includes(r.row))) continue;
      for (const a of attentions) {
        const c = cellConfig(r, a);
        if (!c) continue;
        const seeds = o.seeds ? o.seeds.map((s) => ({ s, set: [`seed=${s}`] })) : [{ s: ownSeed(c.config), set: [] as string[] }];
        for (const { s, set } of seeds)
          jobs.push({ table: t, row: r.row, task: r.task, attention: a, seed: s, config: c.config, sets: [...c.sets, ...set, ...rowSets(o.sets, r.row)], id: `${t}-${r.row}-${a}-s${s}` });
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

export interface OurCell {
  mean: number;
  std: number | null;
  n: number;
  values: number[];
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
  attention: string;
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

export interface TableResult {
  table: TableName;
  title: string;
  scale: Scale;
  metric: string;
  mode: string;
  /** The seeds run, or 'config': each job used its config's own `seed:`. */
  seeds: number[] | 'config';
  attentions: string[];
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

function ourCell(jobs: Job[], runs: RunSummary[], repoRoot: string): { cell: OurCell | null; status: string; unfinished?: UnfinishedRun[] } {
  // Per seed the latest completed run; it counts when it has a value.
  const done = jobs.map((j) => runsOfJob(j, runs, repoRoot)[0]);
  const found = done.filter((r): r is RunSummary => r !== undefined && runValue(r) !== null);
  // Seeds without a completed run: their latest unfinished run, if any, is named in the status.
  const unfinished = jobs.flatMap((j, i): UnfinishedRun[] => {
    if (done[i]) return [];
    const u = unfinishedRunOfJob(j, runs, repoRoot);
    return u ? [{ runDir: relativeTo(repoRoot, u.runDir), seed: u.seed, status: runState(u), steps: u.steps, totalSteps: u.totalSteps, bestSoFar: u.best ? runValue(u) : null, bestOf: `${u.metric?.split ?? 'valid'} ${u.metric?.name ?? 'metric'}` }] : [];
  });
  const extra = unfinished.length ? { unfinished } : {};
  const listed = unfinished.map(unfinishedText).join('; ');
  if (!found.length) return { cell: null, status: listed ? `not finished: ${listed}` : 'not run', ...extra };
  const values = found.map((r) => runValue(r)!);
  const cell: OurCell = {
    ...meanStd(values),
    n: values.length,
    values,
    runs: found.map((r) => ({ runDir: relativeTo(repoRoot, r.runDir), seed: r.seed, config: path.relative(repoRoot, r.configPath), dataset: r.dataset, dataDir: (r.dataInfo as Record<string, unknown> | undefined)?.dir ?? null, backend: r.backend, gitCommit: r.gitCommit, steps: r.steps, command: r.command, overrides: runOverrides(r.command) })),
  };
  return { cell, status: found.length === jobs.length ? 'ok' : `partial: ${found.length} of ${jobs.length} seeds${listed ? `; ${listed}` : ''}`, ...extra };
}

/** One table (not 'main') from the runs found. */
function buildSubTable(t: Exclude<TableName, 'main'>, o: BuildOptions, paper: PaperData): TableRowResult[] {
  const attentions = o.attentions ?? DEFAULT_ATTENTIONS;
  const jobs = tableJobs({ ...o, table: t });
  const rows: TableRowResult[] = [];
  for (const r of tableRows(t, o.scale)) {
    if (o.only && !o.only.includes(r.row)) continue;
    const cells = attentions.map((a): TableCell => {
      const method = r.methods?.[a] ?? paperMethod(t, a);
      const p = r.paperRow && method ? paperValue(t, r.paperRow, method, paper) : null;
      const js = jobs.filter((j) => j.row === r.row && j.attention === a);
      if (r.skip) return { attention: a, paperMethod: method, ours: null, status: `skipped: ${r.skip}`, paper: p };
      if (!js.length) return { attention: a, paperMethod: method, ours: null, status: 'no config for this attention', paper: p };
      const { cell, status, unfinished } = ourCell(js, o.runs, o.repoRoot);
      return { attention: a, paperMethod: method, paper: p, ours: cell, status, ...(unfinished ? { unfinished } : {}) };
    });
    rows.push({ row: r.row, config: rowConfigText(r), paperRow: r.paperRow, note: r.skip ?? r.note, cells });
  }
  // The paper's average row: ours only when every row of the column has a value.
  const paperRows = paper.tables[t]?.rows ?? [];
  if (paperRows.includes('average') && rows.length > 1) {
    rows.push({
      row: 'average', config: null, paperRow: 'average',
      note: o.scale === 'mini' ? 'mean of the rows above (mini scale)' : 'mean of the rows above',
      cells: attentions.map((a, i): TableCell => {
        const method = paperMethod(t, a);
        const cs = rows.map((r) => r.cells[i]!);
        const ok = cs.every((c) => c.ours);
        const vals = ok ? cs.map((c) => c.ours!.mean) : [];
        return {
          attention: a, paperMethod: method, paper: method ? paperValue(t, 'average', method, paper) : null,
          status: ok ? 'ok' : `not run (${cs.filter((c) => !c.ours).length} of ${cs.length} rows missing)`,
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
  const attentions = o.attentions ?? DEFAULT_ATTENTIONS;
  const base = { table: o.table, scale: o.scale, seeds: o.seeds ?? ('config' as const), sets: o.sets ?? [], attentions, generatedAt: (o.now ?? new Date()).toISOString() };
  if (o.table !== 'main') {
    const p = paper.tables[o.table]!;
    return { ...base, title: p.title, metric: p.metric, mode: p.mode, paperSource: p.source, rows: buildSubTable(o.table, o, paper) };
  }
  // 'main': one row per benchmark, its summary row (the average, or the single row).
  const main = paper.tables.main!;
  const rows: TableRowResult[] = subTables('main').map((t) => {
    const sub = buildSubTable(t, { ...o, only: undefined }, paper);
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
            const method = paperMethod('main', c.attention);
            return {
              ...c, paperMethod: method, paper: method ? paperValue('main', t, method, paper) : null,
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
      cells: r.cells.map((c) => ({ ...c, paperMethod: paperMethod('main', c.attention), paper: paperMethod('main', c.attention) ? paperValue('main', t, paperMethod('main', c.attention)!, paper) : null })),
    };
  });
  return { ...base, title: main.title, metric: main.metric, mode: main.mode, paperSource: main.source, rows };
}

const f2 = (x: number) => x.toFixed(2);

function oursText(c: TableCell): string {
  if (!c.ours) return c.status;
  const v = c.ours.std === null ? f2(c.ours.mean) : `${f2(c.ours.mean)} ± ${f2(c.ours.std)}`;
  return c.status === 'ok' ? v : `${v} (${c.status})`;
}

/** Markdown: one row per table row, ours | paper per attention, then where each number came from. */
export function tableMarkdown(t: TableResult): string {
  const L: string[] = [];
  L.push(`# ${t.title} — ${t.table}, scale ${t.scale}`, '');
  const seeds = t.seeds === 'config' ? "each config's own seed" : `seeds ${t.seeds.join(',')}`;
  const sets = t.sets.map((x) => ` --set ${x}`).join('');
  L.push(`Ours: \`flowformer reproduce --table ${t.table} --scale ${t.scale}${sets}\`, ${seeds}; mean ± std over seeds. Paper: ${t.paperSource} (results/paper/flowformer-paper.json).`);
  L.push(`Cells without a completed run say "not run", or "not finished" with how far an interrupted, running or abandoned run got (never counted); no number of ours is ever taken from the paper. Generated ${t.generatedAt}.`, '');
  L.push(`| row | ${t.attentions.map((a) => `${a} (ours) | paper`).join(' | ')} |`);
  L.push(`| --- | ${t.attentions.map(() => '--: | --:').join(' | ')} |`);
  for (const r of t.rows) L.push(`| ${r.row} | ${r.cells.map((c) => `${oursText(c)} | ${formatPaperCell(c.paper)}${c.paperMethod ? '' : ''}`).join(' | ')} |`);
  L.push('', 'Paper columns: ' + t.attentions.map((a) => `${a} = ${t.rows[0]?.cells.find((c) => c.attention === a)?.paperMethod ?? '(none)'}`).join(', ') + '.', '');
  L.push('## Where our numbers come from', '');
  for (const r of t.rows) {
    L.push(`- **${r.row}**: config ${r.config ?? '-'}${r.paperRow && r.paperRow !== r.row ? `; paper row ${r.paperRow}` : ''}${r.note ? `; ${r.note}` : ''}`);
    if (r.row === 'average' || t.table === 'main') continue;
    for (const c of r.cells)
      for (const run of c.ours?.runs ?? [])
        L.push(`  - ${c.attention} seed ${run.seed}: ${run.runDir} (dataset ${run.dataset}, data ${String(run.dataDir ?? '-')}, ${run.steps} steps, backend ${run.backend}, commit ${run.gitCommit ?? '-'}${run.overrides.length ? `; overrides: ${run.overrides.map((o) => `--set ${o}`).join(' ')}` : ''})`);
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
