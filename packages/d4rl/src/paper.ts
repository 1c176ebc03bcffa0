/**
 * Our D4RL runs beside the paper's Decision Transformer and Flowformer, one row per dataset of
 * the paper's offline-RL table. The paper's numbers come from results/paper/flowformer-paper.json
 * (table 'd4rl', D4RL normalised scores x 100, mean ± std over its seeds) through
 * @flowformer/core; they are never retyped here.
 */
import { formatPaperCell, loadPaper, paperRows, paperValue, type PaperData } from '@flowformer/core/results';
import { meanStd } from './score.ts';

/** The paper's columns printed beside ours. */
const PAPER_COLUMNS = [
  ['paper DT', 'Decision Transformer'],
  ['paper Flowformer', 'Flowformer'],
] as const;

const ours = (mean: number, std: number | null) => (std === null ? mean.toFixed(1) : `${mean.toFixed(1)} ± ${std.toFixed(1)}`);

/**
 * A markdown table: for each of the paper's nine datasets (then its average row) the paper's DT
 * and Flowformer numbers beside ours. `runs[dataset][model]` holds the final normalised scores
 * of our runs (one per seed); a missing entry prints '-' (not run here). Our average is the
 * mean over the nine datasets of each dataset's mean, and only when all nine ran.
 */
export function paperComparisonMarkdown(runs: Record<string, Record<string, number[]>>, models: string[] = ['dt', 'flowformer'], paper: PaperData = loadPaper()): string {
  const rows = paperRows('d4rl', paper);
  const head = ['dataset', ...PAPER_COLUMNS.map(([h]) => h), ...models.map((m) => `ours ${m} (seeds)`)];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const row of [...rows, 'average']) {
    const mine = models.map((m) => {
      if (row === 'average') {
        const per = rows.map((r) => runs[r]?.[m]);
        if (per.some((x) => !x || x.length === 0)) return '-';
        return ours(meanStd(per.map((x) => meanStd(x!).mean)).mean, null);
      }
      const xs = runs[row]?.[m];
      if (!xs || xs.length === 0) return '-';
      const s = meanStd(xs);
      return `${ours(s.mean, xs.length > 1 ? s.std : null)} (${xs.length})`;
    });
    const theirs = PAPER_COLUMNS.map(([, method]) => formatPaperCell(paperValue('d4rl', row, method, paper), 1));
    lines.push(`| ${[row, ...theirs, ...mine].join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}
