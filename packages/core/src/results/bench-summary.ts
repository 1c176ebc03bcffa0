/**
 * The performance page's table, generated from the benchmark records under results/bench/, so
 * that no figure of ours or of a peer's (the original code, nanoGPT, torchvision) is typed into
 * the docs by hand.
 *
 * A benchmark that measures itself against a peer writes, in its JSON record, a `comparisons`
 * array: one entry per line of the table (what was measured, our figure, the peer's figure from
 * the same session, which direction is better, and the goal the issue sets, as a ratio). This
 * module only collects those entries: it knows no benchmark and no task.
 *
 * renderBenchSummary is pure (records in, markdown out); writeBenchSummary rewrites the block
 * between BENCH_SUMMARY_BEGIN and BENCH_SUMMARY_END of a markdown file.
 */
import fs from 'node:fs';
import path from 'node:path';

export const BENCH_SUMMARY_BEGIN = '<!-- bench-summary:begin -->';
export const BENCH_SUMMARY_END = '<!-- bench-summary:end -->';

/** One line of the comparison: ours against a peer, measured side by side in one session. */
export interface BenchComparison {
  /** What was measured, e.g. "UEA SelfRegulationSCP1 step, batch 16: peak resident memory". */
  work: string;
  /** Unit of both figures, e.g. "GiB", "s", "tokens/s", "images/s per core". */
  unit: string;
  ours: number;
  /** The peer's name ("original PyTorch", "nanoGPT", "torchvision") and figure. */
  peer: string;
  peerValue: number;
  /** Whether a higher or a lower figure is better. */
  better: 'higher' | 'lower';
  /**
   * The goal as a bound on ours / peer: with `better: 'lower'`, ours <= goal x peer; with
   * 'higher', ours >= goal x peer. Absent when there is none.
   */
  goal?: number;
  /**
   * A goal on ours alone, in `unit` (e.g. a scaling of at least 1.7x, whatever the peer's):
   * with 'lower', ours <= target; with 'higher', ours >= target. Absent when there is none.
   */
  target?: number;
}

/** A record file's part this summary reads. */
export interface BenchRecordLike {
  command?: string;
  /** When it ran: `machine.date`, else `recordedAt`. */
  recordedAt?: string;
  /** The 1-minute load average, or os.loadavg()'s three. */
  machine?: { date?: string; loadAverage?: number | number[]; cores?: number };
  comparisons?: BenchComparison[];
}

export interface CollectedComparison extends BenchComparison {
  /** The record file, relative to the repository root (forward slashes). */
  record: string;
  command: string;
  date: string;
  loadAverage: number | null;
}

/** Every JSON file under `dir` (sorted, so the table's order is stable). */
function jsonFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...jsonFiles(p));
    else if (e.name.endsWith('.json')) out.push(p);
  }
  return out;
}

/** The comparisons of every record under `benchDir`, each with the record it came from. */
export function collectBenchComparisons(benchDir: string, repoRoot: string): CollectedComparison[] {
  const out: CollectedComparison[] = [];
  for (const file of jsonFiles(benchDir)) {
    let rec: BenchRecordLike;
    try {
      rec = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchRecordLike;
    } catch (e) {
      throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(rec?.comparisons)) continue;
    rec.comparisons.forEach((c, i) => {
      for (const k of ['work', 'unit', 'peer', 'better'] as const) if (typeof c[k] !== 'string') throw new Error(`${file}: comparisons[${i}].${k} must be a string`);
      for (const k of ['ours', 'peerValue'] as const) if (typeof c[k] !== 'number' || !Number.isFinite(c[k])) throw new Error(`${file}: comparisons[${i}].${k} must be a finite number`);
      out.push({
        ...c,
        record: path.relative(repoRoot, file).split(path.sep).join('/'),
        command: rec.command ?? '',
        date: rec.machine?.date ?? rec.recordedAt ?? '',
        loadAverage: Array.isArray(rec.machine?.loadAverage) ? (rec.machine.loadAverage[0] ?? null) : (rec.machine?.loadAverage ?? null),
      });
    });
  }
  return out;
}

/** 1,234 above 100, 12.3 above 10, 1.23 below: as many digits as a benchmark figure carries. */
function fmt(x: number): string {
  const a = Math.abs(x);
  if (a >= 100) return Math.round(x).toLocaleString('en-US');
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** Whether ours meets the goal and the target (null when there is neither). */
export function meetsGoal(c: BenchComparison): boolean | null {
  if (c.goal === undefined && c.target === undefined) return null;
  const within = (x: number, bound: number | undefined) => bound === undefined || (c.better === 'lower' ? x <= bound : x >= bound);
  return within(c.ours / c.peerValue, c.goal) && within(c.ours, c.target);
}

/**
 * The table: one line per comparison, with the ratio ours / peer, the goal and whether it is met,
 * and the record (linked relative to `linkBase`, the folder of the page it goes into).
 */
export function renderBenchSummary(rows: CollectedComparison[], linkBase: string): string {
  if (rows.length === 0) return '_No benchmark record under results/bench/ compares itself with a peer yet._';
  const lines = [
    '| work | ours | peer | ours / peer | goal | met | record |',
    '| --- | ---: | ---: | ---: | ---: | :---: | --- |',
  ];
  for (const c of rows) {
    const op = c.better === 'lower' ? '<=' : '>=';
    const goals = [...(c.goal === undefined ? [] : [`${op} ${c.goal}x`]), ...(c.target === undefined ? [] : [`ours ${op} ${c.target} ${c.unit}`])];
    const goal = goals.length ? goals.join(', ') : '-';
    const met = meetsGoal(c);
    const link = path.posix.relative(linkBase, c.record);
    lines.push(
      `| ${c.work} | ${fmt(c.ours)} ${c.unit} | ${fmt(c.peerValue)} ${c.unit} (${c.peer}) | ${(c.ours / c.peerValue).toFixed(2)}x | ${goal} | ${met === null ? '-' : met ? 'yes' : 'no'} | [${path.posix.basename(path.posix.dirname(c.record))}/${path.posix.basename(c.record)}](${link}) |`,
    );
  }
  const dates = [...new Set(rows.map((r) => r.date.slice(0, 10)).filter(Boolean))].sort();
  const loads = rows.map((r) => r.loadAverage).filter((x): x is number => x !== null);
  lines.push('');
  lines.push(
    `Generated from ${new Set(rows.map((r) => r.record)).size} records of results/bench/ (measured ${dates.join(', ') || 'on an unknown date'}` +
      (loads.length ? `; 1-minute load average ${fmt(Math.min(...loads))} to ${fmt(Math.max(...loads))} when they ended` : '') +
      '); each record holds its command, machine and backend.',
  );
  return lines.join('\n');
}

/** The text between the markers, or null when the file has no block. */
export function benchSummaryBlock(text: string): string | null {
  const a = text.indexOf(BENCH_SUMMARY_BEGIN);
  const b = text.indexOf(BENCH_SUMMARY_END);
  if (a < 0 || b < a) return null;
  return text.slice(a + BENCH_SUMMARY_BEGIN.length, b).trim();
}

/** The block the records under `benchDir` make for the page `file` (links relative to its folder). */
export function benchSummaryFor(file: string, benchDir: string, repoRoot: string): string {
  const linkBase = path.relative(repoRoot, path.resolve(path.dirname(file))).split(path.sep).join('/') || '.';
  return renderBenchSummary(collectBenchComparisons(benchDir, repoRoot), linkBase);
}

/** Rewrites the block of `file` (which must have the markers) from the records under `benchDir`; returns whether it changed. */
export function writeBenchSummary(file: string, benchDir: string, repoRoot: string): boolean {
  const text = fs.readFileSync(file, 'utf8');
  const a = text.indexOf(BENCH_SUMMARY_BEGIN);
  const b = text.indexOf(BENCH_SUMMARY_END);
  if (a < 0 || b < a) throw new Error(`${file}: no ${BENCH_SUMMARY_BEGIN} ... ${BENCH_SUMMARY_END} block to fill`);
  const next = `${text.slice(0, a + BENCH_SUMMARY_BEGIN.length)}\n${benchSummaryFor(file, benchDir, repoRoot)}\n${text.slice(b)}`;
  if (next === text) return false;
  fs.writeFileSync(file, next);
  return true;
}
