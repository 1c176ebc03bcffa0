/**
 * The UEA results table (issue 5): our accuracies beside the paper's, per dataset, under both
 * protocols, as mean +- std over seeds, read from the run records
 * (`<results>/runs/uea/<config>/<run-id>/{summary.json,config.yaml}`).
 *
 * - paper protocol: the best TEST accuracy over the evaluations (`summary.best`, selected on test);
 * - holdout protocol: the TEST accuracy of the checkpoint the validation split selected (`summary.test`).
 *
 * Only completed runs count. A run whose config departs from the paper's recipe (smaller
 * model, fewer epochs, ...) is never mixed in silently: its cell says what differs.
 *
 *   npx tsx packages/uea/src/report.ts [resultsRoot]    writes <resultsRoot>/tables/uea.{md,json}
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type RunSummary } from '@flowformer/core';
import { PAPER_DATASETS, paperAverage } from './datasets.ts';
import { ueaTask, type UeaConfig } from './task.ts';

export type UeaProtocolName = 'paper' | 'holdout';

export interface UeaRunResult {
  dataset: string;
  /** `model.name` of the config: 'flowformer' or 'transformer'. */
  model: string;
  attention: string;
  protocol: UeaProtocolName;
  seed: number;
  /** Test accuracy in [0, 1] under the run's protocol. */
  accuracy: number;
  epochs: number;
  /** Differences from the paper's recipe, e.g. 'model.dModel 64 (paper 512)'; empty for a faithful run. */
  deviations: string[];
  runDir: string;
  wallSeconds: number;
  backend: string;
}

/** The paper's recipe (configs/uea/base.yaml and the original script). */
function recipeDeviations(c: UeaConfig): string[] {
  const ds = PAPER_DATASETS.find((d) => d.name === c.dataset);
  const want: [string, unknown, unknown][] = [
    ['model.dModel', c.model.dModel, 512],
    ['model.nHeads', c.model.nHeads, 8],
    ['model.nLayers', c.model.nLayers, 2],
    ['model.dFF', c.model.dFF, 2048],
    ['model.dropout', c.model.dropout, 0.1],
    ['model.posEncoding', c.model.posEncoding, 'learnable'],
    ['model.maskAttention', c.model.maskAttention, false],
    ['training.batchSize', c.training.batchSize, 16],
    ['training.epochs', c.training.epochs, ds?.epochs ?? 100],
    ['training.gradClip', c.training.gradClip, 4],
    ['optimizer.type', c.optimizer.type, c.dataset === 'SpokenArabicDigits' ? 'adam' : 'radam'],
    ['optimizer.lr', c.optimizer.lr, 0.001],
    ['evaluation.every', c.evaluation.every, 2],
  ];
  // The time-series code has no clamp; the core's Flow-Attention defaults to 1 when the option is absent.
  if (c.attention.type === 'flow') want.push(['attention.clamp', 'clamp' in c.attention ? c.attention.clamp : 1, null]);
  return want.filter(([, got, exp]) => got !== exp).map(([k, got, exp]) => `${k} ${JSON.stringify(got)} (paper ${JSON.stringify(exp)})`);
}

/** The result of one run folder, or null when it is not a completed UEA run. */
export function readUeaRun(runDir: string): UeaRunResult | null {
  const summaryPath = join(runDir, 'summary.json');
  if (!existsSync(summaryPath)) return null;
  const s = JSON.parse(readFileSync(summaryPath, 'utf8')) as RunSummary;
  if (s.task !== 'uea' || s.status !== 'completed') return null;
  const protocol = (s.dataInfo?.protocol as UeaProtocolName | undefined) ?? 'paper';
  let accuracy: number | undefined;
  if (protocol === 'paper') {
    if (s.metric.split !== 'test') throw new Error(`${summaryPath}: a paper-protocol run must select on the test split, but it selected on '${s.metric.split}'`);
    accuracy = s.best?.metrics.accuracy;
  } else {
    accuracy = s.test?.metrics.accuracy;
  }
  if (accuracy === undefined) throw new Error(`${summaryPath}: completed ${protocol}-protocol run without a test accuracy (${protocol === 'paper' ? 'best' : 'test'}.metrics.accuracy)`);
  const { config } = loadConfig<UeaConfig>(join(runDir, 'config.yaml'), { task: ueaTask });
  return {
    dataset: s.dataset,
    model: s.model,
    attention: s.attention,
    protocol,
    seed: s.seed,
    accuracy,
    epochs: s.epochs,
    deviations: recipeDeviations(config),
    runDir,
    wallSeconds: s.wallSeconds,
    backend: s.backend,
  };
}

/** Every completed UEA run under `<resultsRoot>/runs/uea/`. */
export function readUeaRuns(resultsRoot: string): UeaRunResult[] {
  const root = join(resultsRoot, 'runs', 'uea');
  if (!existsSync(root)) return [];
  const out: UeaRunResult[] = [];
  for (const config of readdirSync(root).sort()) {
    for (const run of readdirSync(join(root, config)).sort()) {
      const r = readUeaRun(join(root, config, run));
      if (r) out.push(r);
    }
  }
  return out;
}

export interface UeaCell {
  /** Accuracies in %, one per run (seed). */
  values: number[];
  seeds: number[];
  mean: number;
  /** Sample standard deviation (n - 1); null for a single run. */
  std: number | null;
  deviations: string[];
  runDirs: string[];
}

export interface UeaTable {
  columns: { model: string; protocol: UeaProtocolName }[];
  rows: { dataset: string; paper: { flowformer: number; transformer: number }; cells: (UeaCell | null)[] }[];
  paperAverage: { flowformer: number; transformer: number };
}

const COLUMNS: { model: string; protocol: UeaProtocolName }[] = [
  { model: 'flowformer', protocol: 'paper' },
  { model: 'flowformer', protocol: 'holdout' },
  { model: 'transformer', protocol: 'paper' },
  { model: 'transformer', protocol: 'holdout' },
];

function cell(runs: UeaRunResult[]): UeaCell | null {
  if (runs.length === 0) return null;
  // A faithful run and a shrunk one are different experiments: keep the faithful ones if any.
  const faithful = runs.filter((r) => r.deviations.length === 0);
  const used = faithful.length > 0 ? faithful : runs;
  const values = used.map((r) => 100 * r.accuracy);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) : null;
  return {
    values,
    seeds: used.map((r) => r.seed),
    mean,
    std,
    deviations: [...new Set(used.flatMap((r) => r.deviations))],
    runDirs: used.map((r) => r.runDir),
  };
}

export function ueaTable(runs: UeaRunResult[]): UeaTable {
  return {
    columns: COLUMNS,
    rows: PAPER_DATASETS.map((d) => ({
      dataset: d.name,
      paper: d.paper,
      cells: COLUMNS.map((c) => cell(runs.filter((r) => r.dataset === d.name && r.model === c.model && r.protocol === c.protocol))),
    })),
    paperAverage: { flowformer: paperAverage('flowformer'), transformer: paperAverage('transformer') },
  };
}

function fmtCell(c: UeaCell | null, notes: string[]): string {
  if (!c) return '-';
  let s = c.std === null ? `${c.mean.toFixed(1)} (1 seed)` : `${c.mean.toFixed(1)} ± ${c.std.toFixed(1)} (${c.values.length} seeds)`;
  if (c.deviations.length > 0) {
    notes.push(c.deviations.join('; '));
    s += ` [${notes.length}]`;
  }
  return s;
}

export function ueaTableMarkdown(t: UeaTable): string {
  const notes: string[] = [];
  const lines = [
    '# UEA multivariate classification: test accuracy (%)',
    '',
    "Ours: mean ± sample std over seeds. *paper protocol*: the best TEST accuracy over evaluations every 2 epochs (what the original code reports). " +
      '*holdout*: a stratified 20% of TRAIN selects the checkpoint; its TEST accuracy. Paper numbers: Wu et al. 2022. "-": not run.',
    '',
    '| dataset | paper Flowformer | paper Transformer | ours Flowformer (paper protocol) | ours Flowformer (holdout) | ours Transformer (paper protocol) | ours Transformer (holdout) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of t.rows) {
    lines.push(`| ${r.dataset} | ${r.paper.flowformer.toFixed(1)} | ${r.paper.transformer.toFixed(1)} | ${r.cells.map((c) => fmtCell(c, notes)).join(' | ')} |`);
  }
  lines.push(`| average (10) | ${t.paperAverage.flowformer.toFixed(1)} | ${t.paperAverage.transformer.toFixed(1)} | | | | |`);
  if (notes.length > 0) {
    lines.push('', 'Runs that depart from the paper\'s recipe:', '');
    notes.forEach((n, i) => lines.push(`${i + 1}. ${n}`));
  }
  return lines.join('\n') + '\n';
}

/** Writes `<outDir>/uea.md` and `uea.json` from the runs under `resultsRoot`; returns the paths. */
export function writeUeaTable(resultsRoot: string, outDir = join(resultsRoot, 'tables')): { md: string; json: string; table: UeaTable } {
  const table = ueaTable(readUeaRuns(resultsRoot));
  mkdirSync(outDir, { recursive: true });
  const md = join(outDir, 'uea.md');
  const json = join(outDir, 'uea.json');
  writeFileSync(md, ueaTableMarkdown(table));
  writeFileSync(json, JSON.stringify(table, null, 2) + '\n');
  return { md, json, table };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? 'results');
  const { md, json } = writeUeaTable(root);
  console.log(`wrote ${md} and ${json}`);
}
