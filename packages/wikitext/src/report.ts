/**
 * The WikiText section of `results/tables/wikitext[-mini].md` (issue 7), the wikitext Task's
 * `report` hook. Every setting run here, grouped by dataset:
 *
 * - tiny Shakespeare, characters (`configs/wikitext/shakespeare-char/*`): validation loss in
 *   nats per character, bits per character, and training throughput; the paper has no
 *   character-level table, so nothing of the paper's stands beside it;
 * - the WikiText-103 small-data PROXY (`wikitext-103-proxy`: trains on wiki.valid.tokens):
 *   test perplexity, clearly labelled, beside the paper's WikiText-103 numbers it cannot be
 *   compared with;
 * - WikiText-103 itself (the paper's setting), when it was run.
 *
 * Numbers are the reported evaluation (the best evaluation on the run's split, or the best
 * checkpoint on test); tokens/s is the training throughput from metrics.jsonl.
 */
import { type TaskReport, type TaskReportArgs } from '@flowformer/core';
import { finiteOrNull, formatCount, formatMeanStd, formatPaperCell, formatSeconds, groupRuns, markdownTable, meanStd, overridesText, paperMethod, paperValue, relativeTo, reportedMetrics, runThroughput, type PaperCell, type PaperData, settingCommon, type RunSummary, type SettingCommon } from '@flowformer/core/results';

/** The paper's WikiText-103 columns quoted in the section (read from the paper file). */
const PAPER_METHODS = ['Flowformer', 'Transformer', 'Reformer', 'Performer', 'Linear Trans.'];

export interface WikitextSetting extends SettingCommon {
  /** The split the numbers are on ('valid' for Shakespeare, 'test' for the proxy). */
  split: string;
  ppl: number[];
  /** Mean cross-entropy in nats per token (per character for char-level data). */
  loss: number[];
  bits: number[];
  /** Training tokens per second, one per run (median over its logging windows); null where unrecorded. */
  tokensPerSec: (number | null)[];
  paperMethod: string | null;
  /** The paper's WikiText-103 test perplexity of this attention (not comparable with a proxy or Shakespeare). */
  paper: PaperCell | null;
}

export interface WikitextReport {
  settings: WikitextSetting[];
  /** The paper's WikiText-103 test perplexities, as in results/paper/flowformer-paper.json. */
  paper: Record<string, PaperCell | null>;
}


export function collectWikitextRuns(runs: RunSummary[], repoRoot: string, paper: PaperData): WikitextReport {
  const groups = groupRuns(runs, { task: 'wikitext', repoRoot, filter: (s) => finiteOrNull(reportedMetrics(s)?.metrics.ppl) !== null });
  const settings = groups.map((g): WikitextSetting => {
    const first = g.runs[0]!;
    const m = g.runs.map((r) => reportedMetrics(r)!);
    const method = paperMethod('wikitext', g.attention);
    return {
      ...settingCommon(g),
      split: m[0]!.split,
      ppl: m.map((x) => x.metrics.ppl!),
      loss: m.flatMap((x) => finiteOrNull(x.metrics.loss) ?? []),
      bits: m.flatMap((x) => finiteOrNull(x.metrics.bits) ?? []),
      tokensPerSec: g.runs.map((r) => runThroughput(r.runDir)?.tokensPerSec ?? null),
      paperMethod: method,
      paper: method ? paperValue('wikitext', 'wikitext-103', method, paper) : null,
    };
  });
  return { settings, paper: Object.fromEntries(PAPER_METHODS.map((mth) => [mth, paperValue('wikitext', 'wikitext-103', mth, paper)])) };
}

/** How a dataset's runs are labelled: a heading and whether the paper's numbers may stand beside them. */
function datasetLabel(dataset: string): { heading: string; note: string; paperColumn: string | null } {
  if (dataset === 'shakespeare-char')
    return { heading: 'tiny Shakespeare, character level', note: 'Validation loss in nats per character (the whole held-out 10%), bits per character. The paper has no character-level results: nothing of the paper\'s stands beside these.', paperColumn: null };
  if (dataset === 'wikitext-103-proxy')
    return {
      heading: 'WikiText-103 small-data PROXY (not the paper\'s setting)',
      note: 'PROXY: trains a small model on wiki.valid.tokens (the 540 MB train file is not here) and reports test perplexity on wiki.test.tokens. The paper column is the full WikiText-103 result and is NOT comparable; it is there to show which number the proxy stands in for.',
      paperColumn: 'paper, full WikiText-103 (not comparable)',
    };
  if (dataset === 'wikitext-103') return { heading: "WikiText-103, the paper's setting", note: 'Test perplexity with the paper\'s recipe.', paperColumn: 'paper' };
  return { heading: dataset, note: 'Not a dataset of the paper.', paperColumn: null };
}

const f = (xs: number[], digits: number) => formatMeanStd(xs, digits, { seeds: false });

export function wikitextReportMarkdown(r: WikitextReport, repoRoot?: string): string {
  const where = (d: string) => (repoRoot ? relativeTo(repoRoot, d) : d);
  const L: string[] = [
    `The paper's WikiText-103 test perplexities (results/paper/flowformer-paper.json): ${Object.entries(r.paper).map(([m, v]) => `${m} ${formatPaperCell(v, 1)}`).join(', ')}.`,
    'Ours: mean ± sample std over seeds (the latest run per seed); tokens/s is training throughput (median over logging windows, evaluations excluded) on this machine, which other jobs shared.',
    '',
  ];
  if (r.settings.length === 0) return L.join('\n') + 'No completed WikiText run under the results root yet.\n';
  const datasets = [...new Set(r.settings.map((s) => s.dataset))].sort((a, b) => (a === 'shakespeare-char' ? -1 : b === 'shakespeare-char' ? 1 : a.localeCompare(b)));
  for (const d of datasets) {
    const lab = datasetLabel(d);
    const ss = r.settings.filter((s) => s.dataset === d);
    L.push(`### ${lab.heading}`, '', lab.note, '');
    const head = ['config', 'attention (model)', 'seeds', 'split', 'perplexity', 'loss (nats)', 'bits', 'train tokens/s', 'params', 'updates', 'wall', 'backend'];
    if (lab.paperColumn) head.push(lab.paperColumn);
    const rows = ss.map((s) => {
      const tok = s.tokensPerSec.filter((x): x is number => x !== null);
      const row = [
        `${s.config}${overridesText(s.overrides)}`,
        `${s.attention} (${s.model})`,
        s.seeds.join(', '),
        s.split,
        f(s.ppl, 2),
        f(s.loss, 4),
        f(s.bits, 3),
        tok.length ? formatCount(meanStd(tok).mean) : '-',
        formatCount(s.params),
        [...new Set(s.steps)].join(', '),
        formatSeconds(meanStd(s.wallSeconds).mean),
        s.backends.join(', '),
      ];
      if (lab.paperColumn) row.push(s.paperMethod ? `${formatPaperCell(s.paper, 1)} (${s.paperMethod})` : '-');
      return row;
    });
    L.push(markdownTable(head, rows, head.map((_, i) => (i < 4 ? 'l' : 'r'))).trimEnd(), '');
  }
  L.push('Runs:', '');
  for (const s of r.settings) s.runDirs.forEach((dir, i) => L.push(`- ${s.dataset} ${s.attention} seed ${s.seeds[i]}: ${s.split} ppl ${s.ppl[i]!.toFixed(2)} — ${where(dir)}`));
  return L.join('\n') + '\n';
}

/** The wikitext Task's `report` hook. */
export function wikitextReport(args: TaskReportArgs): TaskReport {
  const r = collectWikitextRuns(args.runs, args.repoRoot, args.paper);
  return { title: 'WikiText runs on this machine: tiny Shakespeare and the WikiText-103 proxy', markdown: wikitextReportMarkdown(r, args.repoRoot), json: r };
}
