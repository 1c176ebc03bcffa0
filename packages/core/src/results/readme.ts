/**
 * The README's headline table, generated from the main tables that `flowformer reproduce`
 * writes (results/tables/main.json at the paper's recipe, main-mini.json at the mini one),
 * so that no number of ours or of the paper's is typed into the README by hand.
 *
 * renderReadmeResults is pure (tables in, markdown out); writeReadmeResults rewrites the
 * block between README_RESULTS_BEGIN and README_RESULTS_END of a README file. The per-task
 * tables (<row>.json beside them) only lend each row its title and metric direction.
 */
import fs from 'node:fs';
import path from 'node:path';

export const README_RESULTS_BEGIN = '<!-- results:begin -->';
export const README_RESULTS_END = '<!-- results:end -->';

/** The part of a results/tables/<table>.json file the headline reads. */
export interface HeadlineCell {
  attention: string;
  paperMethod?: string;
  paper?: number | string | { mean: number; std: number } | null;
  ours?: { mean: number; std: number | null } | null;
  status?: string;
}
export interface HeadlineTable {
  table: string;
  scale: string;
  attentions: string[];
  generatedAt?: string;
  rows: { row: string; note?: string; cells: HeadlineCell[] }[];
}
/** A per-task table's title ("Long Range Arena: test accuracy (%)") and direction ("max" or "min"). */
export interface HeadlineMetric {
  title?: string;
  mode?: string;
}

export interface ReadmeResultsArgs {
  /** main.json: the paper's recipes. */
  paper?: HeadlineTable;
  /** main-mini.json: the mini recipes. */
  mini?: HeadlineTable;
  /** Per row of the main table (a task table's name): its title and metric direction. */
  metrics?: Record<string, HeadlineMetric>;
  /** Where the tables were read, as the README should name it (default results/tables). */
  tablesDir?: string;
}

const fmt = (x: number) => x.toFixed(2);

function paperText(p: HeadlineCell['paper']): string {
  if (p === undefined || p === null) return '-';
  if (typeof p === 'number') return fmt(p);
  if (typeof p === 'string') return p;
  return `${fmt(p.mean)} ± ${fmt(p.std)}`;
}

/** Ours: the mean (± std over seeds), marked when it covers only part of the row; otherwise the
 *  cell's status, cut to its first words ('not run', 'not finished') when long: details stay in the table. */
function oursText(c: HeadlineCell | undefined, mark: string): string {
  if (!c) return '-';
  if (!c.ours) {
    const s = c.status ?? 'not run';
    return s.length <= 32 ? s : s.replace(/\s*[(:].*$/, '');
  }
  const v = c.ours.std !== null && c.ours.std !== undefined ? `${fmt(c.ours.mean)} ± ${fmt(c.ours.std)}` : fmt(c.ours.mean);
  return c.status && c.status.startsWith('partial') ? `${v}${mark}` : v;
}

const esc = (s: string) => s.replace(/\|/g, '\\|');

/** The markdown between the markers (without them): one table, paper / ours at the paper's
 *  recipe / ours at mini scale per benchmark, and what each mini row stands for below it. */
export function renderReadmeResults(args: ReadmeResultsArgs): string {
  const tables = [args.paper, args.mini].filter((t): t is HeadlineTable => !!t);
  if (tables.length === 0) throw new Error('renderReadmeResults: neither main.json nor main-mini.json was given');
  const dir = args.tablesDir ?? 'results/tables';
  const base = tables[0]!;
  const attentions = base.attentions;
  const method = (a: string) => tables.flatMap((t) => t.rows.flatMap((r) => r.cells)).find((c) => c.attention === a)?.paperMethod ?? a;
  const rowNames = [...new Set(tables.flatMap((t) => t.rows.map((r) => r.row)))];

  const lines: string[] = [];
  lines.push(`| benchmark | metric | numbers | ${attentions.map((a) => `${method(a)} (\`${a}\`)`).join(' | ')} |`);
  lines.push(`| --- | --- | --- | ${attentions.map(() => '--:').join(' | ')} |`);
  const notes: string[] = [];
  for (const name of rowNames) {
    const m = args.metrics?.[name] ?? {};
    const [bench, metric] = m.title && m.title.includes(': ') ? [m.title.slice(0, m.title.indexOf(': ')), m.title.slice(m.title.indexOf(': ') + 2)] : [name, ''];
    const dirText = m.mode === 'min' ? ' (lower is better)' : m.mode === 'max' ? ' (higher is better)' : '';
    const row = (t: HeadlineTable | undefined) => t?.rows.find((r) => r.row === name);
    const paperRow = row(args.paper) ?? row(args.mini)!;
    const first = [esc(bench), esc(`${metric.replace(/,.*$/, '').replace(/\)\s*\(.*$/, ')')}${dirText}`)];
    lines.push(`| ${first.join(' | ')} | paper | ${attentions.map((a) => paperText(paperRow.cells.find((c) => c.attention === a)?.paper)).join(' | ')} |`);
    for (const [t, label] of [[args.paper, 'ours, paper recipe'], [args.mini, 'ours, mini']] as const) {
      const r = row(t);
      if (!t || !r) continue;
      let mark = '';
      if (t === args.mini && r.note) {
        notes.push(`${name}: ${r.note}`);
        mark = ` [${notes.length}]`;
      }
      const partial = r.cells.some((c) => c.ours && c.status?.startsWith('partial'));
      lines.push(`| | | ${label}${partial ? '' : mark} | ${attentions.map((a) => oursText(r.cells.find((c) => c.attention === a), partial ? mark : '')).join(' | ')} |`);
    }
  }
  const sources = tables.map((t) => `[\`${dir}/${t.table}${t.scale === 'paper' ? '' : `-${t.scale}`}.md\`](${dir}/${t.table}${t.scale === 'paper' ? '' : `-${t.scale}`}.md)${t.generatedAt ? ` (collected ${t.generatedAt.slice(0, 10)})` : ''}`);
  const out = [
    `Generated by \`npx tsx scripts/readme-results.ts\` (and \`flowformer reproduce --collect\`) from ${sources.join(' and ')}, which name every run behind a number; "not run" means no completed run, never a number taken from the paper.`,
    '',
    ...lines,
  ];
  if (notes.length) {
    out.push('', 'Mini rows are small stand-ins that check every attention trains through every task, not comparable with the paper:', '');
    notes.forEach((n, i) => out.push(`${i + 1}. ${n}`));
  }
  return out.join('\n');
}

/** Reads main.json, main-mini.json and the per-task tables' titles from a tables folder. */
export function readReadmeTables(tablesDir: string, shownDir = 'results/tables'): ReadmeResultsArgs {
  const read = <T>(file: string): T | undefined => {
    const p = path.join(tablesDir, file);
    if (!fs.existsSync(p)) return undefined;
    try {
      return JSON.parse(fs.readFileSync(p, 'utf8')) as T;
    } catch (e) {
      throw new Error(`${p}: not valid JSON: ${(e as Error).message}`);
    }
  };
  const paper = read<HeadlineTable>('main.json');
  const mini = read<HeadlineTable>('main-mini.json');
  const metrics: Record<string, HeadlineMetric> = {};
  for (const t of [paper, mini])
    for (const r of t?.rows ?? []) {
      if (metrics[r.row]) continue;
      const task = read<HeadlineMetric>(`${r.row}.json`) ?? read<HeadlineMetric>(`${r.row}-mini.json`);
      if (task) metrics[r.row] = { title: task.title, mode: task.mode };
    }
  return { paper, mini, metrics, tablesDir: shownDir };
}

/** The README text with its results block replaced; `file` names the README in errors. */
export function replaceReadmeBlock(readme: string, block: string, file = 'README.md'): string {
  const lines = readme.split('\n');
  const begin = lines.findIndex((l) => l.trim() === README_RESULTS_BEGIN);
  const end = lines.findIndex((l) => l.trim() === README_RESULTS_END);
  if (begin < 0) throw new Error(`${file}: no line '${README_RESULTS_BEGIN}' (the generated results table goes between it and '${README_RESULTS_END}')`);
  if (end < 0) throw new Error(`${file}:${begin + 1}: '${README_RESULTS_BEGIN}' has no '${README_RESULTS_END}' after it`);
  if (end < begin) throw new Error(`${file}:${end + 1}: '${README_RESULTS_END}' comes before '${README_RESULTS_BEGIN}' (line ${begin + 1})`);
  return [...lines.slice(0, begin + 1), block, ...lines.slice(end)].join('\n');
}

/** The block currently between the markers (null when the README has none). */
export function readmeBlock(readme: string): string | null {
  const lines = readme.split('\n');
  const begin = lines.findIndex((l) => l.trim() === README_RESULTS_BEGIN);
  const end = lines.findIndex((l) => l.trim() === README_RESULTS_END);
  return begin >= 0 && end > begin ? lines.slice(begin + 1, end).join('\n') : null;
}

export interface WriteReadmeResultsArgs {
  /** The repository root: README.md and results/tables/ are read from it. */
  repoRoot: string;
  /** The tables folder just written; the README is rewritten only when this is the
   *  repository's own results/tables (a run into another --results-root or --out leaves it alone). */
  tablesDir?: string;
}

/** Rewrites README.md's results block from the repository's main tables. Returns what it did,
 *  or null when it had nothing to do (another tables folder, or no main table yet). */
export function writeReadmeResults({ repoRoot, tablesDir }: WriteReadmeResultsArgs): { file: string; changed: boolean } | null {
  const own = path.join(repoRoot, 'results', 'tables');
  if (tablesDir && path.resolve(tablesDir) !== path.resolve(own)) return null;
  const args = readReadmeTables(own);
  if (!args.paper && !args.mini) return null;
  const file = path.join(repoRoot, 'README.md');
  const before = fs.readFileSync(file, 'utf8');
  const after = replaceReadmeBlock(before, renderReadmeResults(args), file);
  if (after !== before) fs.writeFileSync(file, after);
  return { file, changed: after !== before };
}
