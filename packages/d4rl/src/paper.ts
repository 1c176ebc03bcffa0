/**
 * The paper's D4RL table (Flowformer, ICML 2022, the offline-RL table; also
 * thuml/Flowformer `pic/RL_results.png`): D4RL normalised scores (x 100), mean +- std where
 * given. Used to print our runs beside the paper's numbers.
 */
import { meanStd } from './score.ts';

export type PaperMethod = 'BC' | 'AWAC' | 'DT' | 'Linear Trans.' | 'Reformer' | 'Performer' | 'cosFormer' | 'Flowformer';
export const PAPER_METHODS: readonly PaperMethod[] = ['BC', 'AWAC', 'DT', 'Linear Trans.', 'Reformer', 'Performer', 'cosFormer', 'Flowformer'];
/** The nine datasets in the paper's row order. */
export const PAPER_ROWS = [
  'halfcheetah-medium-expert', 'hopper-medium-expert', 'walker2d-medium-expert',
  'halfcheetah-medium', 'hopper-medium', 'walker2d-medium',
  'halfcheetah-medium-replay', 'hopper-medium-replay', 'walker2d-medium-replay',
] as const;

type Cell = { mean: number; std: number | null };
const c = (mean: number, std: number | null = null): Cell => ({ mean, std });

/** PAPER_TABLE[dataset][method]; columns in PAPER_METHODS order. */
export const PAPER_TABLE: Record<(typeof PAPER_ROWS)[number] | 'average', Record<PaperMethod, Cell>> = Object.fromEntries(
  (
    [
      ['halfcheetah-medium-expert', [c(55.2), c(42.8), c(83.8, 3.3), c(78.2, 3.2), c(81.5, 1.6), c(85.1, 2.1), c(85.5, 2.9), c(90.8, 0.4)]],
      ['hopper-medium-expert', [c(52.5), c(55.8), c(104.0, 2.5), c(107.2, 0.9), c(104.2, 9.8), c(93.5, 13.9), c(98.1, 7.4), c(109.9, 1.0)]],
      ['walker2d-medium-expert', [c(107.5), c(74.5), c(107.7, 0.6), c(67.2, 27.3), c(71.4, 1.8), c(72.6, 2.4), c(100.5, 14.5), c(108.0, 0.4)]],
      ['halfcheetah-medium', [c(42.6), c(43.5), c(42.4, 0.1), c(42.3, 0.2), c(42.2, 0.1), c(42.1, 0.2), c(42.1, 0.3), c(42.2, 0.2)]],
      ['hopper-medium', [c(52.9), c(57.0), c(64.2, 1.1), c(58.7, 0.4), c(59.9, 0.7), c(59.7, 7.5), c(59.8, 3.8), c(66.9, 2.5)]],
      ['walker2d-medium', [c(75.3), c(72.4), c(70.6, 3.2), c(57.9, 10.6), c(65.8, 4.9), c(63.3, 10.7), c(71.4, 1.2), c(71.7, 2.5)]],
      ['halfcheetah-medium-replay', [c(36.6), c(40.5), c(34.6, 0.6), c(32.1, 1.5), c(33.6, 0.7), c(31.7, 0.9), c(32.8, 3.6), c(34.7, 1.5)]],
      ['hopper-medium-replay', [c(18.1), c(37.2), c(79.7, 7.4), c(74.3, 7.0), c(66.1, 2.6), c(64.6, 24.2), c(59.3, 16.5), c(75.5, 14.5)]],
      ['walker2d-medium-replay', [c(26.0), c(27.0), c(62.9, 5.0), c(62.1, 7.4), c(50.1, 3.5), c(61.3, 6.7), c(60.5, 9.9), c(62.0, 3.1)]],
      ['average', [c(51.9), c(50.1), c(72.2, 2.6), c(64.4, 6.5), c(63.9, 2.9), c(63.8, 7.6), c(67.8, 7.6), c(73.5, 2.9)]],
    ] as [string, Cell[]][]
  ).map(([row, cells]) => [row, Object.fromEntries(PAPER_METHODS.map((m, i) => [m, cells[i]!]))]),
) as never;

const fmt = (x: Cell | null) => (x === null ? '-' : x.std === null ? x.mean.toFixed(1) : `${x.mean.toFixed(1)} +- ${x.std.toFixed(1)}`);

/**
 * A markdown table: for each of the nine datasets the paper's DT and Flowformer numbers beside
 * ours. `runs[dataset][model]` holds the final normalised scores of our runs (one per seed);
 * a missing entry prints '-' (not run here).
 */
export function paperComparisonMarkdown(runs: Record<string, Record<string, number[]>>, models: string[] = ['dt', 'flowformer']): string {
  const head = ['dataset', 'paper DT', 'paper Flowformer', ...models.map((m) => `ours ${m} (seeds)`)];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const row of [...PAPER_ROWS, 'average'] as const) {
    const p = PAPER_TABLE[row];
    const ours = models.map((m) => {
      if (row === 'average') {
        const per = PAPER_ROWS.map((r) => runs[r]?.[m]);
        if (per.some((x) => !x || x.length === 0)) return '-';
        const means = per.map((x) => meanStd(x!).mean);
        return fmt({ mean: meanStd(means).mean, std: null });
      }
      const xs = runs[row]?.[m];
      if (!xs || xs.length === 0) return '-';
      const s = meanStd(xs);
      return `${fmt({ mean: s.mean, std: xs.length > 1 ? s.std : null })} (${xs.length})`;
    });
    lines.push(`| ${row} | ${fmt(p.DT)} | ${fmt(p.Flowformer)} | ${ours.join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}
