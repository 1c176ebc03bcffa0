/**
 * The image-classification section of `results/tables/imagenet[-mini].md` (issue 8), the
 * imagenet Task's `report` hook: every setting run here (mostly the CIFAR-10 small-data PROXY,
 * `configs/imagenet/cifar10/*`), with top-1 and top-5 accuracy, training images per second and
 * the parameter count, beside the paper's ImageNet-1K numbers of the same attention. For the
 * proxy those are clearly marked as not comparable: they show which number it stands in for.
 */
import { type TaskReport, type TaskReportArgs } from '@flowformer/core';
import { finiteOrNull, formatCount, formatMeanStd, formatPaperCell, formatSeconds, groupRuns, markdownTable, meanStd, overridesText, paperMethod, paperValue, relativeTo, reportedMetrics, runThroughput, type PaperCell, type PaperData, settingCommon, type RunSummary, type SettingCommon } from '@flowformer/core/results';

export interface ImageSetting extends SettingCommon {
  /** The split the accuracies are on. */
  split: string;
  /** Top-1 / top-5 accuracy in %, one per seed. */
  top1: number[];
  top5: number[];
  /** Training images per second, one per run (median over its logging windows); null where unrecorded. */
  imagesPerSec: (number | null)[];
  /** The paper's ImageNet-1K row and column this setting is compared with (or stands in for). */
  paperRow: string;
  paperMethod: string | null;
  paperTop1: PaperCell | null;
  paperTop5: PaperCell | null;
  /** False for proxies: the paper's number is for ImageNet-1K. */
  comparable: boolean;
}

export interface ImageReport {
  settings: ImageSetting[];
}


/** The paper's row and column for a run: DeiT-S models have their own row and columns. */
function paperCellOf(model: string, attention: string): { row: string; method: string | null } {
  if (/deit/i.test(model)) return { row: 'imagenet-1k-deit-s', method: attention === 'flow' ? 'DeiT-S + Flowformer' : attention === 'softmax' ? 'DeiT-S' : null };
  return { row: 'imagenet-1k', method: paperMethod('imagenet', attention) };
}

export function collectImageRuns(runs: RunSummary[], repoRoot: string, paper: PaperData): ImageReport {
  const top5Table = (paper.tables.imagenet as { values_top5?: Record<string, Record<string, PaperCell>> } | undefined)?.values_top5;
  const groups = groupRuns(runs, { task: 'imagenet', repoRoot, filter: (s) => finiteOrNull(reportedMetrics(s)?.metrics.top1) !== null });
  const settings = groups.map((g): ImageSetting => {
    const first = g.runs[0]!;
    const m = g.runs.map((r) => reportedMetrics(r)!);
    const p = paperCellOf(first.model, g.attention);
    return {
      ...settingCommon(g),
      split: m[0]!.split,
      top1: m.map((x) => 100 * x.metrics.top1!),
      top5: m.flatMap((x) => (finiteOrNull(x.metrics.top5) === null ? [] : [100 * x.metrics.top5!])),
      imagesPerSec: g.runs.map((r) => runThroughput(r.runDir)?.examplesPerSec ?? null),
      paperRow: p.row,
      paperMethod: p.method,
      paperTop1: p.method ? paperValue('imagenet', p.row, p.method, paper) : null,
      paperTop5: p.method ? (top5Table?.[p.row]?.[p.method] ?? null) : null,
      comparable: first.dataset === 'imagenet-1k',
    };
  });
  return { settings };
}

export function imageReportMarkdown(r: ImageReport, repoRoot?: string): string {
  const where = (d: string) => (repoRoot ? relativeTo(repoRoot, d) : d);
  const L: string[] = [
    'Top-1 / top-5 accuracy (%) of the reported evaluation (best evaluation on the run\'s split, or the best checkpoint on test), mean ± sample std over seeds; ' +
      'images/s is training throughput (median over logging windows, evaluations excluded) on this machine, which other jobs shared.',
    '',
    '**PROXY**: rows other than `imagenet-1k` (e.g. `cifar10`: 5,000 CIFAR-10 training images at 32x32, a small four-stage model, a few epochs) are a small-data stand-in. ' +
      'Their paper column is the paper\'s ImageNet-1K result for the same attention, NOT comparable: it shows which number the proxy stands in for.',
    '',
  ];
  if (r.settings.length === 0) return L.join('\n') + 'No completed image-classification run under the results root yet.\n';
  const head = ['dataset', 'config', 'attention (model)', 'seeds', 'split', 'top-1', 'top-5', 'train images/s', 'params', 'epochs', 'wall', 'backend', 'paper ImageNet-1K top-1 / top-5'];
  const rows = r.settings.map((s) => {
    const ips = s.imagesPerSec.filter((x): x is number => x !== null);
    const paper = s.paperMethod ? `${formatPaperCell(s.paperTop1, 1)} / ${formatPaperCell(s.paperTop5, 1)} (${s.paperMethod})` : '-';
    return [
      s.comparable ? s.dataset : `${s.dataset} (PROXY)`,
      `${s.config}${overridesText(s.overrides)}`,
      `${s.attention} (${s.model})`,
      s.seeds.join(', '),
      s.split,
      formatMeanStd(s.top1, 2, { seeds: false }),
      formatMeanStd(s.top5, 2, { seeds: false }),
      ips.length ? formatCount(meanStd(ips).mean) : '-',
      formatCount(s.params),
      [...new Set(s.epochs.map((e) => +e.toFixed(2)))].join(', '),
      formatSeconds(meanStd(s.wallSeconds).mean),
      s.backends.join(', '),
      s.comparable ? paper : `${paper}, not comparable`,
    ];
  });
  L.push(markdownTable(head, rows, head.map((_, i) => (i < 5 ? 'l' : 'r'))).trimEnd(), '', 'Runs:', '');
  for (const s of r.settings) s.runDirs.forEach((d, i) => L.push(`- ${s.dataset} ${s.attention} seed ${s.seeds[i]}: top-1 ${s.top1[i]!.toFixed(2)} — ${where(d)}`));
  return L.join('\n') + '\n';
}

/** The imagenet Task's `report` hook. */
export function imagenetReport(args: TaskReportArgs): TaskReport {
  const r = collectImageRuns(args.runs, args.repoRoot, args.paper);
  return { title: 'Image classification runs on this machine (CIFAR-10 proxy)', markdown: imageReportMarkdown(r, args.repoRoot), json: r };
}
