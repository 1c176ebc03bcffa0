/**
 * The wikitext task's report (its section of results/tables/wikitext[-mini].md), from fake run
 * records (summary.json + metrics.jsonl) in a temporary results root: tiny Shakespeare with
 * validation loss and training tokens/s, the WikiText-103 proxy labelled as one, the paper's
 * numbers read from results/paper/flowformer-paper.json.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPaper, readRunSummaries } from '@flowformer/core/results';
import { wikitextReport, type WikitextReport } from '../src/report.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const tmp = mkdtempSync(path.join(tmpdir(), 'wikitext-report-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function fakeRun(config: string, id: string, o: { attention: string; model: string; seed: number; split: string; ppl: number; loss: number; tokensPerSec?: number[] }) {
  const dataset = config.split('/')[2]!;
  const runDir = path.join(tmp, 'runs', 'wikitext', `${dataset}-${o.model}`, id);
  mkdirSync(runDir, { recursive: true });
  const metrics = { ppl: o.ppl, loss: o.loss, bits: o.loss / Math.LN2 };
  writeFileSync(path.join(runDir, 'summary.json'), JSON.stringify({
    task: 'wikitext', dataset, model: o.model, attention: o.attention, configName: 'x', configPath: path.join(repoRoot, config), runId: id, runDir,
    status: 'completed', metric: { name: 'ppl', mode: 'min', split: o.split }, best: { value: o.ppl, step: 10, epoch: 1, metrics }, final: null, test: null,
    steps: 2000, totalSteps: 2000, epochs: 1, lastLoss: 1, params: 809856, wallSeconds: 600, backend: 'tensorflow', seed: o.seed,
    command: `flowformer train --config ${config}`, gitCommit: null, dataInfo: {}, startedAt: '', finishedAt: '',
  }));
  // The trainer's train lines: one per logging window (the first one slow: warm-up).
  const lines = (o.tokensPerSec ?? []).map((t, i) => JSON.stringify({ type: 'train', step: 10 * (i + 1), loss: 2, examplesPerSec: t / 64, tokensPerSec: t }));
  writeFileSync(path.join(runDir, 'metrics.jsonl'), [...lines, JSON.stringify({ type: 'eval', step: 2000, split: o.split, ...metrics })].join('\n') + '\n');
}

describe("the wikitext task's report", () => {
  it('Shakespeare: validation loss and training tokens/s, no paper column; the proxy: test perplexity labelled PROXY beside the paper', () => {
    fakeRun('configs/wikitext/shakespeare-char/flowformer.yaml', '20260101-000000-s1337', { attention: 'flow', model: 'flowformer', seed: 1337, split: 'valid', ppl: 7.5, loss: 2.0149, tokensPerSec: [100, 1000, 1200, 1100] });
    fakeRun('configs/wikitext/shakespeare-char/transformer.yaml', '20260101-000000-s1337', { attention: 'softmax', model: 'transformer', seed: 1337, split: 'valid', ppl: 6.9, loss: 1.9315, tokensPerSec: [2600] });
    fakeRun('configs/wikitext/wikitext-103-proxy/flowformer.yaml', '20260101-000000-s1', { attention: 'flow', model: 'flowformer', seed: 1, split: 'test', ppl: 400, loss: 5.99 });
    const r = wikitextReport({ runs: readRunSummaries(tmp), repoRoot, resultsRoot: tmp, paper: loadPaper(), scale: 'paper' });
    const j = r.json as WikitextReport;
    expect(j.paper).toEqual({ Flowformer: 30.8, Transformer: 33.0, Reformer: 33.6, Performer: 37.5, 'Linear Trans.': 38.4 });
    expect(j.settings.map((s) => [s.dataset, s.attention, s.tokensPerSec])).toEqual([
      ['shakespeare-char', 'flow', [1050]], // the median of the windows, not dragged down by the warm-up
      ['shakespeare-char', 'softmax', [2600]],
      ['wikitext-103-proxy', 'flow', [null]],
    ]);
    expect(r.markdown).toContain("The paper's WikiText-103 test perplexities (results/paper/flowformer-paper.json): Flowformer 30.8, Transformer 33.0, Reformer 33.6, Performer 37.5, Linear Trans. 38.4.");
    expect(r.markdown).toContain('| configs/wikitext/shakespeare-char/flowformer.yaml | flow (flowformer) | 1337 | valid | 7.50 | 2.0149 | 2.907 | 1050 | 809.9 k | 2000 | 10.0 min | tensorflow |');
    expect(r.markdown).toContain("### WikiText-103 small-data PROXY (not the paper's setting)");
    expect(r.markdown).toContain('| configs/wikitext/wikitext-103-proxy/flowformer.yaml | flow (flowformer) | 1 | test | 400.00 | 5.9900 | 8.642 | - | 809.9 k | 2000 | 10.0 min | tensorflow | 30.8 (Flowformer) |');
    expect(r.markdown).toMatch(/paper, full WikiText-103 \(not comparable\)/);
  });
});
