/**
 * Helpers shared by the result tables (`tables.ts`) and the tasks' `report` hooks (the "runs
 * on this machine" section that `flowformer reproduce` appends below a table): mean ± sample
 * std over seeds, grouping run records into settings, a run's training throughput from its
 * metrics.jsonl, and markdown tables. Kept free of task knowledge: a task picks the fields of
 * its own metrics.
 */
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, type MetricsLine, type RunSummary } from '../train/run-record.ts';

/** Mean and sample standard deviation (n - 1); `std` is null for fewer than two values. */
export function meanStd(xs: number[]): { mean: number; std: number | null } {
  if (xs.length === 0) return { mean: NaN, std: null };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (xs.length < 2) return { mean, std: null };
  return { mean, std: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) };
}

/**
 * `12.34 ± 0.56 (3 seeds)`, `12.34 (1 seed)`, or '-' for no values. `seeds: false` leaves the
 * count out (when a column header already says it).
 */
export function formatMeanStd(xs: number[], digits = 2, opts: { seeds?: boolean } = {}): string {
  if (xs.length === 0) return '-';
  const { mean, std } = meanStd(xs);
  const v = std === null ? mean.toFixed(digits) : `${mean.toFixed(digits)} ± ${std.toFixed(digits)}`;
  return opts.seeds === false ? v : `${v} (${xs.length} seed${xs.length === 1 ? '' : 's'})`;
}

/**
 * A markdown table. `align` per column ('l' or 'r'); by default the first column is left- and
 * the others right-aligned (numbers). Pipes inside cells are escaped.
 */
export function markdownTable(head: string[], rows: (string | number)[][], align?: ('l' | 'r')[]): string {
  const esc = (x: string | number) => String(x).replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const al = head.map((_, i) => align?.[i] ?? (i === 0 ? 'l' : 'r'));
  const lines = [
    `| ${head.map(esc).join(' | ')} |`,
    `| ${al.map((a) => (a === 'r' ? '--:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${head.map((_, i) => esc(r[i] ?? '')).join(' | ')} |`),
  ];
  return lines.join('\n') + '\n';
}

/**
 * The `--set` overrides a run's command carried besides attention.type and seed (which every
 * table job sets): they change the setting (a shorter budget, another data folder), so runs
 * that differ in them are never averaged together, and they are printed beside the numbers.
 */
export function runOverrides(command: string | undefined): string[] {
  const t = (command ?? '').split(/\s+/);
  const sets: string[] = [];
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '--set' && t[i + 1]) sets.push(t[++i]!);
    else if (t[i]!.startsWith('--set=')) sets.push(t[i]!.slice(6));
  }
  return settingOverrides(sets);
}

/** Of `key=value` overrides, the ones that change the setting: all but attention.type and seed. */
export function settingOverrides(sets: string[]): string[] {
  return sets.filter((x) => !/^(attention\.type|seed)=/.test(x));
}

/**
 * Setting overrides in one canonical form, for comparing settings: the last value of a key wins,
 * as when the config is loaded, and keys are sorted, since the order of `--set`s changes nothing.
 */
function canonicalOverrides(sets: string[]): string[] {
  const byKey = new Map<string, string>();
  for (const x of settingOverrides(sets)) byKey.set(x.includes('=') ? x.slice(0, x.indexOf('=')) : x, x);
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, x]) => x);
}

/**
 * What makes runs one setting, whose seeds are averaged: the config file (absolute here), the
 * attention and the extra overrides (canonicalOverrides). groupRuns, supersededBy and the table
 * jobs all compare runs by it.
 */
export function settingKey(r: Pick<RunSummary, 'configPath' | 'attention' | 'command'>, repoRoot = REPO_ROOT): string {
  return settingKeyOf(r.configPath ?? '', r.attention, runOverrides(r.command), repoRoot);
}

/** settingKey of a setting not yet run: a config file (relative to `repoRoot` or absolute), an attention, `key=value` overrides. */
export function settingKeyOf(config: string, attention: string, sets: string[], repoRoot = REPO_ROOT): string {
  return JSON.stringify([path.resolve(repoRoot, config), attention, canonicalOverrides(sets)]);
}

/** Attention columns in the order the paper's tables use; others follow alphabetically. */
export const ATTENTION_ORDER = ['flow', 'softmax', 'performer', 'reformer', 'linear', 'cosformer'];

export function compareAttentions(a: string, b: string): number {
  const ia = ATTENTION_ORDER.indexOf(a);
  const ib = ATTENTION_ORDER.indexOf(b);
  if (ia !== ib) return (ia < 0 ? Infinity : ia) - (ib < 0 ? Infinity : ib) || a.localeCompare(b);
  return a.localeCompare(b);
}

/** Per seed, the latest run (run ids start with the start time); sorted by seed. */
export function latestPerSeed<R extends { seed: number; runId: string }>(runs: R[]): R[] {
  const bySeed = new Map<number, R>();
  for (const r of runs) {
    const have = bySeed.get(r.seed);
    if (!have || have.runId < r.runId) bySeed.set(r.seed, r);
  }
  return [...bySeed.values()].sort((a, b) => a.seed - b.seed);
}

/**
 * The run that makes an unfinished record moot: a completed run of the same setting (task,
 * config, attention, seed and extra `--set`s) that started later (`counts` can widen that).
 * `list runs` shows it, so a stopped record whose job has since been run again is not mistaken
 * for work still to do.
 */
export function supersededBy<R extends Pick<RunSummary, 'task' | 'configPath' | 'attention' | 'seed' | 'command' | 'status' | 'startedAt'>>(
  s: R,
  all: R[],
  /** Which later runs count; `list runs` also passes live ones ('running' with its process alive). */
  counts: (r: R) => boolean = (r) => r.status === 'completed',
): R | undefined {
  if (s.status === 'completed') return undefined;
  const setting = (r: R) => JSON.stringify([r.task, r.seed, settingKey(r)]);
  const key = setting(s);
  return all.filter((r) => r !== s && r.startedAt > s.startedAt && setting(r) === key && counts(r)).sort((a, b) => (a.startedAt < b.startedAt ? -1 : 1))[0];
}

/** One setting that was run: a config file, an attention and the extra overrides; one run per seed. */
export interface RunGroup {
  /** Config file relative to the repository root (absolute when it lies outside). */
  config: string;
  attention: string;
  overrides: string[];
  /** Completed runs, the latest per seed, sorted by seed. */
  runs: RunSummary[];
}

/** What every task's report records about a setting (one group of runs): what ran, how, where. */
export interface SettingCommon {
  /** The dataset (or LRA task) of the runs. */
  dataset: string;
  /** Config file relative to the repository root. */
  config: string;
  attention: string;
  /** `model.name` of the runs. */
  model: string;
  overrides: string[];
  seeds: number[];
  params: number;
  /** Compute backends of the runs (throughput and wall time depend on it). */
  backends: string[];
  steps: number[];
  epochs: number[];
  wallSeconds: number[];
  runDirs: string[];
}

/** The common fields of a group's setting; a task's report adds its metrics and paper cells. */
export function settingCommon(g: RunGroup): SettingCommon {
  const first = g.runs[0]!;
  return {
    dataset: first.dataset,
    config: g.config,
    attention: g.attention,
    model: first.model,
    overrides: g.overrides,
    seeds: g.runs.map((r) => r.seed),
    params: first.params,
    backends: [...new Set(g.runs.map((r) => r.backend))],
    steps: g.runs.map((r) => r.steps),
    epochs: g.runs.map((r) => r.epochs),
    wallSeconds: g.runs.map((r) => r.wallSeconds),
    runDirs: g.runs.map((r) => r.runDir),
  };
}

/** `x` when it is a finite number, else null (metrics read from JSON may be absent or NaN). */
export const finiteOrNull = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** A path relative to `root` when inside it, else absolute. */
export function relativeTo(root: string, p: string): string {
  const rel = path.relative(root, p);
  return rel.startsWith('..') || path.isAbsolute(rel) ? p : rel;
}

/**
 * The completed runs of `task`, grouped by setting (config file, attention, extra overrides),
 * the latest run per seed in each, ordered by config and then attention. `filter` drops runs
 * before grouping (e.g. those without the metric a report needs).
 */
export function groupRuns(runs: RunSummary[], o: { task: string; repoRoot: string; filter?: (r: RunSummary) => boolean }): RunGroup[] {
  const groups = new Map<string, { config: string; attention: string; overrides: string[]; all: RunSummary[] }>();
  for (const r of runs) {
    if (r.task !== o.task || r.status !== 'completed' || (o.filter && !o.filter(r))) continue;
    const config = relativeTo(o.repoRoot, path.resolve(o.repoRoot, r.configPath ?? ''));
    const key = settingKey(r, o.repoRoot);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { config, attention: r.attention, overrides: runOverrides(r.command), all: [] }));
    g.all.push(r);
  }
  return [...groups.values()]
    .map((g) => ({ config: g.config, attention: g.attention, overrides: g.overrides, runs: latestPerSeed(g.all) }))
    .sort((a, b) => a.config.localeCompare(b.config) || compareAttentions(a.attention, b.attention) || a.overrides.join(' ').localeCompare(b.overrides.join(' ')));
}

/**
 * The evaluation a run reports, as the tables read it: the best checkpoint's metrics on test
 * when the run selected on validation and scored test (`summary.test`), else its best
 * evaluation (on whichever split it evaluated: `split` says which). Null without either.
 */
export function reportedMetrics(s: RunSummary): { split: string; checkpoint: 'best'; metrics: Record<string, number> } | null {
  if (s.test?.metrics) return { split: 'test', checkpoint: 'best', metrics: s.test.metrics };
  if (s.best?.metrics) return { split: s.metric?.split ?? 'valid', checkpoint: 'best', metrics: s.best.metrics };
  return null;
}

/** What a group's runs differ in from the plain config, for a table cell: '' or ' (--set a=1 --set b=2)'. */
export function overridesText(overrides: string[]): string {
  return overrides.length ? ` (${overrides.map((o) => `--set ${o}`).join(' ')})` : '';
}

export interface Throughput {
  /** Training examples (sequences, images, windows) per second. */
  examplesPerSec: number;
  /** Training tokens per second, for tasks whose batches count tokens (language models). */
  tokensPerSec: number | null;
  /** Number of logging windows the median is over. */
  windows: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * A run's training throughput from its `metrics.jsonl`: the median over the logging windows
 * of the trainer's `examplesPerSec` / `tokensPerSec` (compute time only, evaluations
 * excluded). The median, not the mean, because the first window carries the backend's
 * warm-up and a shared machine's load comes and goes. Null without train lines.
 */
export function runThroughput(runDir: string): Throughput | null {
  const file = path.join(runDir, 'metrics.jsonl');
  if (!fs.existsSync(file)) return null;
  const lines: MetricsLine[] = [];
  for (const l of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!l.trim()) continue;
    try {
      lines.push(JSON.parse(l) as MetricsLine);
    } catch {
      // a line cut by a crash
    }
  }
  const train = lines.filter((l) => l.type === 'train');
  const ex = train.map((l) => l.examplesPerSec).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (ex.length === 0) return null;
  const tok = train.map((l) => l.tokensPerSec).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return { examplesPerSec: median(ex), tokensPerSec: tok.length ? median(tok) : null, windows: ex.length };
}

/** `1234`, `12.3 k`, `1.23 M`: parameter counts and rates in a table. */
export function formatCount(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e4) return `${(x / 1e3).toFixed(1)} k`;
  return x >= 100 ? x.toFixed(0) : x.toPrecision(3);
}

/** `12 s`, `3.4 min`, `1.2 h`. */
export function formatSeconds(s: number): string {
  if (s < 120) return `${s.toFixed(0)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
