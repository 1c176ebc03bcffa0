/**
 * Parameter sweeps: `--grid key=v1,v2,...` axes, their cartesian product as ordinary runs (each
 * cell is a config plus `--set key=value` overrides), and the grid's summary table: the config's
 * metric per cell, mean ± std over seeds when `seed` is one of the axes.
 */
import { parse as parseYaml } from 'yaml';

/** One `--grid` axis: a config key and the values it takes, as `--set` would write them. */
export interface GridAxis {
  key: string;
  values: string[];
}

/** One cell of the product: the axis values, in axis order, and the `--set`s that make it. */
export interface GridPoint {
  values: Record<string, string>;
  sets: string[];
}

/** Splits `a,b,[c,d],"e,f"` at the commas that are not inside brackets, braces or quotes. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out.map((v) => v.trim());
}

/**
 * Parses `--grid` specs. Each is `path.to.key=v1,v2,...`; a value is YAML as in `--set`
 * (`[0,7]` is one list value). Errors name the spec, the key and the value.
 */
export function parseGrid(specs: string[]): GridAxis[] {
  const axes: GridAxis[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const key = eq > 0 ? spec.slice(0, eq).trim() : '';
    if (!key || key.split('.').some((p) => !p)) throw new Error(`--grid ${spec}: expected 'path.to.key=v1,v2,...' (e.g. --grid attention.type=flow,softmax)`);
    if (axes.some((a) => a.key === key)) throw new Error(`--grid ${spec}: the key '${key}' is already an axis; give all its values in one --grid`);
    const values = splitTopLevel(spec.slice(eq + 1));
    for (const v of values) {
      if (!v) throw new Error(`--grid ${spec}: key '${key}' has an empty value (two commas, or a trailing one)`);
      try {
        parseYaml(v);
      } catch (e) {
        throw new Error(`--grid ${spec}: key '${key}', value '${v}' is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    if (new Set(values).size !== values.length) throw new Error(`--grid ${spec}: key '${key}' repeats a value`);
    axes.push({ key, values });
  }
  return axes;
}

/** The cartesian product, the last axis varying fastest (as nested loops over the axes in order). */
export function gridPoints(axes: GridAxis[]): GridPoint[] {
  let points: GridPoint[] = [{ values: {}, sets: [] }];
  for (const axis of axes) {
    points = points.flatMap((p) => axis.values.map((v) => ({ values: { ...p.values, [axis.key]: v }, sets: [...p.sets, `${axis.key}=${v}`] })));
  }
  return points;
}

/** A run's outcome as the sweep table reads it: its cell's values and its metric (null: not finished). */
export interface SweepResult {
  values: Record<string, string>;
  value: number | null;
  runDir: string | null;
}

/** One row of the grid table: the non-seed values, the metric over its seeds. */
export interface SweepRow {
  values: Record<string, string>;
  mean: number | null;
  std: number | null;
  /** Runs with a metric, of those the row has (its seeds, or 1). */
  done: number;
  of: number;
  runDirs: string[];
}

export interface SweepTable {
  name: string;
  config: string;
  metric: { name: string; mode: 'max' | 'min'; split: string };
  axes: GridAxis[];
  /** The axes the rows show; `seed` is averaged over when it is swept. */
  rowKeys: string[];
  rows: SweepRow[];
}

/** Sample standard deviation (n - 1), as the tables use; null below two values. */
function sampleStd(xs: number[]): number | null {
  if (xs.length < 2) return null;
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

/** Groups the results by their non-seed values (in grid order) and summarises each group. */
export function sweepTable(args: Omit<SweepTable, 'rowKeys' | 'rows'>, results: SweepResult[]): SweepTable {
  const rowKeys = args.axes.map((a) => a.key).filter((k) => k !== 'seed');
  const rows = new Map<string, SweepRow>();
  for (const r of results) {
    const values = Object.fromEntries(rowKeys.map((k) => [k, r.values[k]!]));
    const id = JSON.stringify(values);
    const row = rows.get(id) ?? { values, mean: null, std: null, done: 0, of: 0, runDirs: [] };
    row.of++;
    if (r.runDir) row.runDirs.push(r.runDir);
    rows.set(id, row);
  }
  for (const row of rows.values()) {
    const xs = results.filter((r) => rowKeys.every((k) => r.values[k] === row.values[k]) && r.value !== null).map((r) => r.value!);
    row.done = xs.length;
    row.mean = xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
    row.std = sampleStd(xs);
  }
  return { ...args, rowKeys, rows: [...rows.values()] };
}

/** The grid table as markdown: one column per swept key, then the metric (mean ± std, n). */
export function sweepMarkdown(t: SweepTable, digits = 4): string {
  const seeds = t.axes.find((a) => a.key === 'seed');
  const head = [...t.rowKeys, `${t.metric.split} ${t.metric.name} (${t.metric.mode === 'max' ? 'higher' : 'lower'} is better)`];
  const fmt = (r: SweepRow) => {
    if (r.mean === null) return `not run (0 of ${r.of})`;
    const core = r.std === null ? r.mean.toFixed(digits) : `${r.mean.toFixed(digits)} ± ${r.std.toFixed(digits)}`;
    return seeds ? `${core} (n=${r.done}${r.done < r.of ? ` of ${r.of}` : ''})` : core;
  };
  const lines = [
    `# Sweep ${t.name}`,
    '',
    `Config \`${t.config}\`; ${t.axes.map((a) => `\`${a.key}\` in {${a.values.join(', ')}}`).join(' x ')}${seeds ? '; mean ± sample std over seeds' : ''}.`,
    '',
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...t.rows.map((r) => `| ${[...t.rowKeys.map((k) => r.values[k]!), fmt(r)].join(' | ')} |`),
    '',
  ];
  return lines.join('\n');
}
