/**
 * The LRA section of `results/tables/lra[-mini].md`, the lra Task's `report` hook: every
 * setting run here (mostly the mini configs: short sequences, small models), with the test
 * accuracy of the best checkpoint against the test split's majority-class rate (what a model
 * that learnt nothing scores), and the wall time. The paper's accuracy of the same task and
 * attention stands beside it, marked not comparable for runs that are not the paper's setting.
 */
import { type TaskReport, type TaskReportArgs } from '@flowformer/core';
import { finiteOrNull, formatCount, formatMeanStd, formatPaperCell, formatSeconds, groupRuns, markdownTable, meanStd, overridesText, paperMethod, paperValue, relativeTo, reportedMetrics, type PaperCell, type PaperData, settingCommon, type RunSummary, type SettingCommon } from '@flowformer/core/results';

export interface LraSetting extends SettingCommon {
  /** The split the accuracy is on ('test' unless a run had none). */
  split: string;
  /** Accuracy in %, one per seed. */
  accuracy: number[];
  /** Majority-class rate of the same split in %, one per seed (null where unrecorded). */
  majority: (number | null)[];
  /** True for the paper's configs (`configs/lra/<task>/flowformer.yaml`) without overrides. */
  paperSetting: boolean;
  paperMethod: string | null;
  paper: PaperCell | null;
}

export interface LraReport {
  settings: LraSetting[];
}


/** The majority-class rate of the reported split: recorded with the metrics, else in the data info. */
function majorityRate(s: RunSummary, split: string, metrics: Record<string, number>): number | null {
  const fromMetrics = finiteOrNull(metrics.majorityRate);
  if (fromMetrics !== null) return fromMetrics;
  const info = s.dataInfo?.majorityRate as Record<string, unknown> | undefined;
  return finiteOrNull(info?.[split]);
}

export function collectLraRuns(runs: RunSummary[], repoRoot: string, paper: PaperData): LraReport {
  const groups = groupRuns(runs, { task: 'lra', repoRoot, filter: (s) => finiteOrNull(reportedMetrics(s)?.metrics.accuracy) !== null });
  const settings = groups.map((g): LraSetting => {
    const first = g.runs[0]!;
    const m = g.runs.map((r) => reportedMetrics(r)!);
    const method = paperMethod('lra', g.attention);
    return {
      ...settingCommon(g),
      split: m[0]!.split,
      accuracy: m.map((x) => 100 * x.metrics.accuracy!),
      majority: g.runs.map((r, i) => {
        const v = majorityRate(r, m[i]!.split, m[i]!.metrics);
        return v === null ? null : 100 * v;
      }),
      paperSetting: /(^|\/)configs\/lra\/[^/]+\/flowformer\.yaml$/.test(g.config) && g.overrides.length === 0,
      paperMethod: method,
      paper: method ? paperValue('lra', first.dataset, method, paper) : null,
    };
  });
  // The paper's task order.
  const order = paper.tables.lra?.rows ?? [];
  const rank = (d: string) => (order.includes(d) ? order.indexOf(d) : order.length);
  settings.sort((a, b) => rank(a.dataset) - rank(b.dataset) || a.config.localeCompare(b.config));
  return { settings };
}

export function lraReportMarkdown(r: LraReport, repoRoot?: string): string {
  const where = (d: string) => (repoRoot ? relativeTo(repoRoot, d) : d);
  const L: string[] = [
    'Accuracy (%) of the best checkpoint (selected on validation) on test, mean ± sample std over seeds, against the majority-class rate of the same split: ' +
      'a model that learnt nothing scores about that, so only the margin above it is learning. Wall time is on this machine, which other jobs shared.',
    'The paper column is the paper\'s full-scale LRA result of the same attention; for the mini configs (short sequences, small models) it is NOT comparable.',
    '',
  ];
  if (r.settings.length === 0) return L.join('\n') + 'No completed LRA run under the results root yet.\n';
  const head = ['task', 'config', 'attention', 'seeds', 'split', 'accuracy', 'majority class', 'above it', 'params', 'updates', 'wall', 'backend', 'paper'];
  const rows = r.settings.map((s) => {
    const maj = s.majority.filter((x): x is number => x !== null);
    const margin = maj.length === s.accuracy.length ? s.accuracy.map((a, i) => a - s.majority[i]!) : [];
    const paper = s.paperMethod ? `${formatPaperCell(s.paper)} (${s.paperMethod})` : '-';
    return [
      s.dataset,
      `${s.config}${overridesText(s.overrides)}`,
      s.attention,
      s.seeds.join(', '),
      s.split,
      formatMeanStd(s.accuracy, 2, { seeds: false }),
      maj.length ? meanStd(maj).mean.toFixed(2) : '-',
      margin.length ? `${meanStd(margin).mean >= 0 ? '+' : ''}${formatMeanStd(margin, 2, { seeds: false })}` : '-',
      formatCount(s.params),
      [...new Set(s.steps)].join(', '),
      formatSeconds(meanStd(s.wallSeconds).mean),
      s.backends.join(', '),
      s.paperSetting ? paper : `${paper}, not comparable`,
    ];
  });
  L.push(markdownTable(head, rows, head.map((_, i) => (i < 5 ? 'l' : 'r'))).trimEnd(), '', 'Runs:', '');
  for (const s of r.settings) s.runDirs.forEach((d, i) => L.push(`- ${s.dataset} ${s.attention} seed ${s.seeds[i]}: ${s.split} accuracy ${s.accuracy[i]!.toFixed(2)} — ${where(d)}`));
  return L.join('\n') + '\n';
}

/** The lra Task's `report` hook. */
export function lraReport(args: TaskReportArgs): TaskReport {
  const r = collectLraRuns(args.runs, args.repoRoot, args.paper);
  return { title: 'LRA runs on this machine: accuracy against the majority class', markdown: lraReportMarkdown(r, args.repoRoot), json: r };
}
