/**
 * The D4RL section of `results/tables/d4rl[-mini].md` (issue 9), the d4rl Task's `report`
 * hook: every setting run here (config, attention, data file), the normalised score of each
 * run's LAST evaluation (the original reports the model after its final iteration) as mean ±
 * sample std over seeds, beside the paper's number for that dataset and attention when the
 * paper has one. Runs on generated data (no D4RL file here) have no paper counterpart and say
 * so. Runs that were read but not counted are listed with why.
 */
import { type TaskReport, type TaskReportArgs } from '@flowformer/core';
import { formatMeanStd, formatPaperCell, groupRuns, markdownTable, meanStd, overridesText, paperMethod, paperValue, relativeTo, type PaperCell, type PaperData, settingCommon, type RunSummary, type SettingCommon } from '@flowformer/core/results';
import { d4rlTables } from './tables.ts';

export interface D4rlSetting extends SettingCommon {
  /** The HDF5 file the runs trained on (`dataInfo.file`). */
  dataFile: string | null;
  /** Final normalised scores (x 100), one per seed. */
  scores: number[];
  mean: number;
  std: number | null;
  /** The paper's column for this attention and its value for this dataset; null where it has none. */
  paperMethod: string | null;
  paper: PaperCell | null;
}

export interface D4rlRunScores {
  settings: D4rlSetting[];
  /** Runs that were read but not counted, with why. */
  skipped: { runDir: string; reason: string }[];
}

const finalScore = (s: RunSummary) => s.final?.metrics?.score;

/** The d4rl runs among `runs` (every task's records), grouped by setting, beside the paper. */
export function collectD4rlRuns(runs: RunSummary[], repoRoot: string, paper: PaperData): D4rlRunScores {
  const mine = runs.filter((r) => r.task === 'd4rl');
  const skipped = mine.flatMap((s) =>
    s.status !== 'completed' ? [{ runDir: s.runDir, reason: `status ${s.status}` }] : typeof finalScore(s) !== 'number' ? [{ runDir: s.runDir, reason: 'no final score' }] : [],
  );
  const settings = groupRuns(mine, { task: 'd4rl', repoRoot, filter: (s) => typeof finalScore(s) === 'number' }).map((g): D4rlSetting => {
    const first = g.runs[0]!;
    const scores = g.runs.map((r) => finalScore(r)!);
    const method = paperMethod('d4rl', g.attention, d4rlTables); // its own columns: softmax is the Decision Transformer
    return {
      ...settingCommon(g),
      dataFile: typeof first.dataInfo?.file === 'string' ? first.dataInfo.file : null,
      scores,
      ...meanStd(scores),
      paperMethod: method,
      paper: method ? paperValue('d4rl', first.dataset, method, paper) : null,
    };
  });
  return { settings, skipped };
}

/** The section's markdown. */
export function d4rlTableMarkdown(r: D4rlRunScores, paper: PaperData, repoRoot?: string): string {
  const where = (d: string) => (repoRoot ? relativeTo(repoRoot, d) : d);
  const paperRows = paper.tables.d4rl?.rows ?? [];
  const L = [
    'Normalised score (x 100) of each run\'s last evaluation (`rollout.episodes` episodes at the first return target), mean ± sample std over seeds; ' +
      'the paper: mean ± std over its seeds. Datasets outside the paper\'s nine (generated data, e.g. `halfcheetah-mixed`) have no paper counterpart.',
    '',
  ];
  if (r.settings.length === 0) L.push('No completed D4RL run under the results root yet.', '');
  else {
    const rows = r.settings.map((s) => [
      s.dataset,
      `${s.config}${overridesText(s.overrides)}`,
      `${s.attention} (${s.model})`,
      s.dataFile ?? '-',
      formatMeanStd(s.scores, 1),
      [...new Set(s.steps)].join(', '),
      paperRows.includes(s.dataset) ? `${formatPaperCell(s.paper, 1)} (${s.paperMethod ?? '-'})` : 'no paper row',
    ]);
    L.push(markdownTable(['dataset', 'config', 'attention (model)', 'data file', 'ours: final score', 'updates', 'paper'], rows, ['l', 'l', 'l', 'l', 'r', 'r', 'r']).trimEnd(), '');
    L.push('Runs:', '');
    for (const s of r.settings) s.runDirs.forEach((d, i) => L.push(`- ${s.dataset} ${s.attention} seed ${s.seeds[i]}: ${s.scores[i]!.toFixed(1)} after ${s.steps[i]} updates — ${where(d)}`));
    L.push('');
  }
  if (r.skipped.length > 0) {
    L.push('Not counted:', '');
    for (const s of r.skipped) L.push(`- ${where(s.runDir)}: ${s.reason}`);
    L.push('');
  }
  return L.join('\n');
}

/** The d4rl Task's `report` hook. */
export function d4rlReport(args: TaskReportArgs): TaskReport {
  const r = collectD4rlRuns(args.runs, args.repoRoot, args.paper);
  return { title: 'D4RL runs on this machine', markdown: d4rlTableMarkdown(r, args.paper, args.repoRoot), json: r };
}
