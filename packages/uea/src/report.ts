/**
 * The UEA section of `results/tables/uea[-mini].md` (issue 5), the uea Task's `report` hook:
 * our test accuracies beside the paper's, per dataset, under BOTH protocols, as mean ± sample
 * std over seeds, from the run records (`<results>/runs/uea/<config>/<run-id>/{summary.json,
 * config.yaml}`):
 *
 * - paper protocol: the best TEST accuracy over the evaluations at epochs 0 and 1 and every 2
 *   epochs (`summary.best`, selected on test, as the original code reports);
 * - holdout protocol: the TEST accuracy of the checkpoint a stratified validation split of
 *   TRAIN selected (`summary.test`).
 *
 * Columns are attentions (flow beside the paper's Flowformer, softmax beside its Transformer,
 * any other attention that was run beside its paper column). A run whose config departs from
 * the paper's recipe (the mini configs' smaller model and 20 epochs, ...) is never mixed with
 * faithful runs: each recipe is its own row, with what differs in a footnote. Only completed
 * runs count; per seed the latest run.
 */
import { join } from 'node:path';
import { loadConfig, type Config, type Task, type TaskReport, type TaskReportArgs } from '@flowformer/core';
import { compareAttentions, formatMeanStd, formatPaperCell, formatSeconds, isUnfinished, latestPerSeed, markdownTable, meanStd, paperMethod, paperValue, readRunSummaries, relativeTo, runState, stateText, type PaperCell, type PaperData, type RunState, type RunSummary } from '@flowformer/core/results';
import { PAPER_DATASETS } from './datasets.ts';
import { UeaDataSchema, UeaModelSchema, type UeaDataConfig, type UeaModelConfig } from './schema.ts';

/** A resolved uea config (the task's `UeaConfig`; spelled out here so that the report does not import the task). */
type UeaConfig = Config & { model: UeaModelConfig & { name: string }; data: UeaDataConfig & { root?: string } };

/** What validating a run's config.yaml needs of the uea task (its schema), without importing the task itself. */
const UEA_CONFIG: Pick<Task, 'name' | 'schema'> = { name: 'uea', schema: { model: UeaModelSchema, data: UeaDataSchema } };

export type UeaProtocolName = 'paper' | 'holdout';
const PROTOCOLS: UeaProtocolName[] = ['paper', 'holdout'];
/** Issue 5 asks for mean ± std over three seeds. */
export const UEA_SEEDS_WANTED = 3;

export interface UeaRunResult {
  dataset: string;
  /** `model.name` of the config: 'flowformer' or 'transformer'. */
  model: string;
  /** The config's name, e.g. 'JapaneseVowels-mini' (its run folder's parent). */
  config: string;
  attention: string;
  protocol: UeaProtocolName;
  seed: number;
  runId: string;
  /** Test accuracy in [0, 1] under the run's protocol. */
  accuracy: number;
  epochs: number;
  /** Differences from the paper's recipe, e.g. 'model.dModel 64 (paper 512)'; empty for a faithful run. */
  deviations: string[];
  /**
   * Of the original's extra evaluations at epochs 0 and 1, those the run did not make (runs
   * from before `evaluation.at`). Evaluations do not change the training, so such a run is the
   * same trajectory observed fewer times: its paper-protocol value is a lower bound.
   */
  missingEvals: number[];
  runDir: string;
  wallSeconds: number;
  backend: string;
}

/**
 * A run that has not finished (interrupted, stopped early, running, or abandoned): listed under the table with
 * how far it got and its best so far, never counted in a cell.
 */
export interface UeaUnfinishedRun extends Omit<UeaRunResult, 'accuracy'> {
  /** 'abandoned': the record says running but its process is gone (core `runState`). */
  status: RunState;
  steps: number;
  totalSteps: number;
  /** The best TEST accuracy so far for a paper-protocol run, in [0, 1]; null before the first evaluation or for a holdout run. */
  bestSoFar: number | null;
  bestEpoch: number | null;
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

/** The original evaluates at epochs 0 and 1 as well as every `val_interval` (2) epochs (main.py). */
const ORIGINAL_EXTRA_EVALS = [0, 1];

/** Which of the original's evaluations at epochs 0 and 1 a config does not make. */
function missingEvals(c: UeaConfig): number[] {
  const ev = c.evaluation;
  if (ev.unit !== 'epochs') return [];
  return ORIGINAL_EXTRA_EVALS.filter((e) => !ev.at.includes(e) && !(e > 0 && e % ev.every === 0));
}

/** The protocol a run recorded (`dataInfo.protocol`); records from before the holdout protocol existed are 'paper'. */
const protocolOf = (s: RunSummary): UeaProtocolName => (s.dataInfo?.protocol as UeaProtocolName | undefined) ?? 'paper';

/**
 * The result of one run record, or null when it is not a completed UEA run. Reads the run's
 * resolved `config.yaml` for the recipe check; a completed run without the accuracy its
 * protocol reports is an error naming the file.
 */
export function ueaRunResult(s: RunSummary): UeaRunResult | null {
  if (s.task !== 'uea' || s.status !== 'completed') return null;
  const summaryPath = join(s.runDir, 'summary.json');
  const protocol = protocolOf(s);
  let accuracy: number | undefined;
  if (protocol === 'paper') {
    if (s.metric.split !== 'test') throw new Error(`${summaryPath}: a paper-protocol run must select on the test split, but it selected on '${s.metric.split}'`);
    accuracy = s.best?.metrics.accuracy;
  } else {
    accuracy = s.test?.metrics.accuracy;
  }
  if (accuracy === undefined) throw new Error(`${summaryPath}: completed ${protocol}-protocol run without a test accuracy (${protocol === 'paper' ? 'best' : 'test'}.metrics.accuracy)`);
  return { ...runFields(s, protocol), accuracy };
}

/** What every listed run shows, finished or not; reads the run's resolved `config.yaml` for the recipe check. */
function runFields(s: RunSummary, protocol: UeaProtocolName): Omit<UeaRunResult, 'accuracy'> {
  const { config } = loadConfig<UeaConfig>(join(s.runDir, 'config.yaml'), { task: UEA_CONFIG });
  return {
    dataset: s.dataset,
    model: s.model,
    config: s.configName,
    attention: s.attention,
    protocol,
    seed: s.seed,
    runId: s.runId,
    epochs: s.epochs,
    deviations: recipeDeviations(config),
    missingEvals: missingEvals(config),
    runDir: s.runDir,
    wallSeconds: s.wallSeconds,
    backend: s.backend,
  };
}

/** A UEA run that is interrupted, stopped early, running or abandoned, or null for any other run. */
export function ueaUnfinishedRun(s: RunSummary): UeaUnfinishedRun | null {
  const state = runState(s);
  if (s.task !== 'uea' || !isUnfinished(state)) return null;
  const protocol = protocolOf(s);
  const bestSoFar = protocol === 'paper' ? (s.best?.metrics.accuracy ?? null) : null;
  return {
    ...runFields(s, protocol),
    status: state,
    steps: s.steps,
    totalSteps: s.totalSteps,
    bestSoFar,
    bestEpoch: bestSoFar === null ? null : (s.best?.epoch ?? null),
  };
}

/** Every completed UEA run under `<resultsRoot>/runs/` (throws on a malformed one). */
export function readUeaRuns(resultsRoot: string): UeaRunResult[] {
  return readRunSummaries(resultsRoot).flatMap((s) => ueaRunResult(s) ?? []);
}

/** The completed UEA runs among `runs`; a malformed record is skipped with why, not fatal to the table. */
function ueaResults(runs: RunSummary[]): { results: UeaRunResult[]; unfinished: UeaUnfinishedRun[]; skipped: { runDir: string; reason: string }[] } {
  const results: UeaRunResult[] = [];
  const unfinished: UeaUnfinishedRun[] = [];
  const skipped: { runDir: string; reason: string }[] = [];
  for (const s of runs) {
    try {
      const r = ueaRunResult(s);
      if (r) results.push(r);
      const u = ueaUnfinishedRun(s);
      if (u) unfinished.push(u);
    } catch (e) {
      skipped.push({ runDir: s.runDir, reason: (e as Error).message.split('\n')[0]! });
    }
  }
  return { results, unfinished, skipped };
}

/** What makes two runs the same cell and seed: dataset, recipe, attention, protocol, seed. */
const cellSeedKey = (r: Pick<UeaRunResult, 'dataset' | 'deviations' | 'attention' | 'protocol' | 'seed'>) =>
  JSON.stringify([r.dataset, r.deviations, r.attention, r.protocol, r.seed]);

export interface UeaCell {
  /** Accuracies in %, one per seed (the latest run of each). */
  values: number[];
  seeds: number[];
  mean: number;
  /** Sample standard deviation (n - 1); null for a single seed. */
  std: number | null;
  runDirs: string[];
  /** How many of those runs lack the original's evaluations at epochs 0 and 1 (`UeaRunResult.missingEvals`). */
  withoutEarlyEvals: number;
}

export interface UeaRow {
  dataset: string;
  /** What this row's runs change from the paper's recipe; empty: the paper's recipe. */
  deviations: string[];
  /** cells[attention][protocol]: ours, null where not run. */
  cells: Record<string, Record<UeaProtocolName, UeaCell | null>>;
  /** paper[attention]: the paper's accuracy of that attention's column, null where it has none. */
  paper: Record<string, PaperCell | null>;
}

export interface UeaTable {
  /** Attention columns: flow and softmax always, then any other attention that was run. */
  attentions: string[];
  /** The paper column of each attention ('Flowformer', 'Transformer', ...). */
  paperMethods: Record<string, string | null>;
  rows: UeaRow[];
  /** The paper's printed 10-dataset averages, for reference (ours cover fewer datasets). */
  paperAverage: Record<string, PaperCell | null>;
  seedsWanted: number;
  /** Every run counted, for provenance. */
  runs: UeaRunResult[];
  /** Runs not finished (interrupted or running) whose cell has no completed run of their seed. */
  unfinished: UeaUnfinishedRun[];
  /** Completed UEA runs that could not be read, with why. */
  skipped: { runDir: string; reason: string }[];
}

function cell(runs: UeaRunResult[]): UeaCell | null {
  const used = latestPerSeed(runs);
  if (used.length === 0) return null;
  const values = used.map((r) => 100 * r.accuracy);
  return { values, seeds: used.map((r) => r.seed), ...meanStd(values), runDirs: used.map((r) => r.runDir), withoutEarlyEvals: used.filter((r) => r.missingEvals.length > 0).length };
}

/** Our runs per dataset, recipe, attention and protocol, beside the paper's numbers. */
export function ueaTable(all: UeaRunResult[], paper: PaperData, skipped: UeaTable['skipped'] = [], unfinished: UeaUnfinishedRun[] = []): UeaTable {
  const attentions = [...new Set(['flow', 'softmax', ...all.map((r) => r.attention)])].sort(compareAttentions);
  const paperMethods = Object.fromEntries(attentions.map((a) => [a, paperMethod('uea', a)]));
  const paperOf = (row: string) => Object.fromEntries(attentions.map((a) => [a, paperMethods[a] ? paperValue('uea', row, paperMethods[a]!, paper) : null]));
  // Rows: the paper's dataset order (others after, alphabetically), the paper's recipe first.
  const order = (paper.tables.uea?.rows ?? []).filter((r) => r !== 'average');
  const rank = (d: string) => (order.includes(d) ? order.indexOf(d) : order.length);
  const keys = [...new Map(all.map((r) => [JSON.stringify([r.dataset, r.deviations]), { dataset: r.dataset, deviations: r.deviations }])).values()].sort(
    (a, b) => rank(a.dataset) - rank(b.dataset) || a.dataset.localeCompare(b.dataset) || a.deviations.length - b.deviations.length || a.deviations.join().localeCompare(b.deviations.join()),
  );
  const rows = keys.map(({ dataset, deviations }): UeaRow => {
    const mine = all.filter((r) => r.dataset === dataset && r.deviations.join('\n') === deviations.join('\n'));
    return {
      dataset,
      deviations,
      cells: Object.fromEntries(attentions.map((a) => [a, Object.fromEntries(PROTOCOLS.map((p) => [p, cell(mine.filter((r) => r.attention === a && r.protocol === p))]))])) as UeaRow['cells'],
      paper: paperOf(dataset),
    };
  });
  const counted = new Set(rows.flatMap((r) => Object.values(r.cells).flatMap((c) => PROTOCOLS.flatMap((p) => c[p]?.runDirs ?? []))));
  const done = new Set(all.map(cellSeedKey));
  return {
    attentions,
    paperMethods,
    rows,
    paperAverage: paperOf('average'),
    seedsWanted: UEA_SEEDS_WANTED,
    runs: all.filter((r) => counted.has(r.runDir)),
    unfinished: unfinished.filter((u) => !done.has(cellSeedKey(u))),
    skipped,
  };
}

/** How both run lists name a run: 'JapaneseVowels flow (JapaneseVowels-mini), paper protocol, seed 666'. */
const runLabel = (r: Omit<UeaRunResult, 'accuracy'>) => `${r.dataset} ${r.attention} (${r.config}), ${r.protocol} protocol, seed ${r.seed}`;
/** A run's folder, relative to the repository when there is one. */
const runPath = (r: Omit<UeaRunResult, 'accuracy'>, repoRoot?: string) => (repoRoot ? relativeTo(repoRoot, r.runDir) : r.runDir);

/** The list of unfinished runs (with a blank line before it), or nothing. */
function unfinishedLines(t: UeaTable, repoRoot?: string): string[] {
  if (t.unfinished.length === 0) return [];
  const L = ['', 'Not finished, so in no cell above (resume with `flowformer train --resume <run folder>`):', ''];
  for (const u of [...t.unfinished].sort((a, b) => a.runDir.localeCompare(b.runDir))) {
    const best = u.bestSoFar === null ? 'no test accuracy yet' : `best test accuracy so far ${(100 * u.bestSoFar).toFixed(2)} (epoch ${u.bestEpoch})`;
    L.push(
      `- ${runLabel(u)}: ${stateText(u.status)} at update ${u.steps} of ${u.totalSteps}; ${best} — ${runPath(u, repoRoot)} (${formatSeconds(u.wallSeconds)} so far, ${u.backend})`,
    );
  }
  return L;
}

export function ueaTableMarkdown(t: UeaTable, repoRoot?: string): string {
  const L: string[] = [
    'Test accuracy (%). *paper protocol*: the best TEST accuracy over the evaluations at epochs 0 and 1 and every 2 epochs (what the original code reports). ' +
      '*holdout*: a stratified 20% of TRAIN selects the checkpoint; its TEST accuracy (configs `*-holdout.yaml`). ' +
      `Ours: mean ± sample std over seeds (the latest run per seed; ${t.seedsWanted} seeds wanted, cells say how many they have); "-": not run. ` +
      'Each recipe is its own row: runs that depart from the paper\'s recipe (e.g. the mini configs) are never averaged with faithful ones.',
    '',
  ];
  const skipped = t.skipped.map((s) => `- not counted: ${s.runDir}: ${s.reason}`);
  if (t.rows.length === 0) return [...L, 'No completed UEA run under the results root yet.', ...unfinishedLines(t, repoRoot), ...(skipped.length ? ['', ...skipped] : [])].join('\n') + '\n';
  const notes: string[] = [];
  const head = ['dataset', 'recipe'];
  for (const a of t.attentions) head.push(`${a}: paper protocol`, `${a}: holdout`, `paper ${t.paperMethods[a] ?? '(none)'}`);
  const body = t.rows.map((r) => {
    let recipe = 'paper';
    if (r.deviations.length) {
      notes.push(r.deviations.join('; '));
      recipe = `differs [${notes.length}]`;
    }
    const ours = (c: UeaCell | null) => formatMeanStd(c?.values ?? []) + (c?.withoutEarlyEvals ? ' †' : '');
    return [r.dataset, recipe, ...t.attentions.flatMap((a) => [ours(r.cells[a]!.paper), ours(r.cells[a]!.holdout), formatPaperCell(r.paper[a] ?? null, 1)])];
  });
  const early = t.rows.some((r) => Object.values(r.cells).some((c) => PROTOCOLS.some((p) => c[p]?.withoutEarlyEvals)));
  L.push(markdownTable(head, body, head.map((_, i) => (i < 2 ? 'l' : 'r'))).trimEnd(), '');
  L.push(`The paper's averages over its ten datasets (${t.attentions.map((a) => `${t.paperMethods[a] ?? a} ${formatPaperCell(t.paperAverage[a] ?? null, 1)}`).join(', ')}) cover datasets not run here, so there is no average row.`, '');
  if (early)
    L.push(
      "† Some or all runs of the cell were evaluated from epoch 2 on only, without the original's evaluations at epochs 0 and 1 " +
        '(`evaluation.at: [0, 1]`, added after they ran; the runs list says which). Evaluating does not change the training, ' +
        'so under the paper protocol such a value is the best over fewer evaluations of the same run: a lower bound of what the original reports. ' +
        'Under holdout, the validation split had those two checkpoints fewer to choose from.',
      '',
    );
  if (notes.length) {
    L.push("Recipes that depart from the paper's:", '');
    notes.forEach((n, i) => L.push(`${i + 1}. ${n}`));
    L.push('');
  }
  // Which runs lack the early evaluations: said once when it is all of them, else per run.
  const missingText = (m: number[]) => `not evaluated at epoch${m.length > 1 ? 's' : ''} ${m.join(' and ')}`;
  const allMissing = t.runs.length > 0 && t.runs.every((r) => r.missingEvals.join() === t.runs[0]!.missingEvals.join() && r.missingEvals.length > 0);
  L.push(allMissing ? `Runs (all †: ${missingText(t.runs[0]!.missingEvals)}):` : 'Runs:', '');
  for (const r of [...t.runs].sort((a, b) => a.runDir.localeCompare(b.runDir)))
    L.push(
      `- ${runLabel(r)}: ${(100 * r.accuracy).toFixed(2)}${r.missingEvals.length ? ' †' : ''} — ${runPath(r, repoRoot)} (${r.epochs} epochs, ${formatSeconds(r.wallSeconds)}, ${r.backend}${r.missingEvals.length && !allMissing ? `; ${missingText(r.missingEvals)}` : ''})`,
    );
  L.push(...unfinishedLines(t, repoRoot));
  if (skipped.length) L.push('', ...skipped);
  return L.join('\n') + '\n';
}

/** The uea Task's `report` hook. */
export function ueaReport(args: TaskReportArgs): TaskReport {
  const { results, unfinished, skipped } = ueaResults(args.runs);
  const table = ueaTable(results, args.paper, skipped, unfinished);
  return { title: 'UEA runs on this machine: both protocols, per recipe', markdown: ueaTableMarkdown(table, args.repoRoot), json: table };
}
