/**
 * The imagenet task's report (its section of results/tables/imagenet[-mini].md), from fake run
 * records in a temporary results root: the CIFAR-10 proxy with top-1/top-5, training images/s
 * and parameters, beside the paper's ImageNet-1K numbers marked not comparable.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadPaper, readRunSummaries } from '@flowformer/core/results';
import { imagenetReport, type ImageReport } from '../src/report.ts';
import { repoRoot, tempDir } from './helpers.ts';

const tmp = tempDir('imagenet-report-');
afterAll(tmp.cleanup);

function fakeRun(config: string, id: string, o: { attention: string; model: string; seed: number; top1: number; top5: number; imagesPerSec?: number[] }) {
  const dataset = config.split('/')[2]!;
  const runDir = path.join(tmp.dir, 'runs', 'imagenet', `${dataset}-${o.model}`, id);
  mkdirSync(runDir, { recursive: true });
  const metrics = { top1: o.top1, top5: o.top5, loss: 1.5 };
  writeFileSync(path.join(runDir, 'summary.json'), JSON.stringify({
    task: 'imagenet', dataset, model: o.model, attention: o.attention, configName: 'x', configPath: path.join(repoRoot, config), runId: id, runDir,
    status: 'completed', metric: { name: 'top1', mode: 'max', split: 'test' }, best: { value: o.top1, step: 790, epoch: 10, metrics }, final: null, test: null,
    steps: 790, totalSteps: 790, epochs: 10, lastLoss: 1, params: 301234, wallSeconds: 1500, backend: 'tensorflow', seed: o.seed,
    command: `flowformer train --config ${config}`, gitCommit: null, dataInfo: {}, startedAt: '', finishedAt: '',
  }));
  const lines = (o.imagesPerSec ?? []).map((x, i) => JSON.stringify({ type: 'train', step: 10 * (i + 1), loss: 2, examplesPerSec: x }));
  writeFileSync(path.join(runDir, 'metrics.jsonl'), lines.join('\n') + '\n');
}

describe("the imagenet task's report", () => {
  it('the CIFAR-10 proxy: top-1/top-5, images/s, parameters; the paper ImageNet-1K numbers of the same attention, not comparable', () => {
    fakeRun('configs/imagenet/cifar10/flowformer.yaml', '20260101-000000-s0', { attention: 'flow', model: 'flowformer', seed: 0, top1: 0.5, top5: 0.9, imagesPerSec: [20, 80, 90, 100] });
    fakeRun('configs/imagenet/cifar10/flowformer.yaml', '20260101-000000-s1', { attention: 'flow', model: 'flowformer', seed: 1, top1: 0.52, top5: 0.92, imagesPerSec: [95] });
    fakeRun('configs/imagenet/cifar10/softmax.yaml', '20260101-000000-s0', { attention: 'softmax', model: 'softmax', seed: 0, top1: 0.48, top5: 0.9 });
    const r = imagenetReport({ runs: readRunSummaries(tmp.dir), repoRoot, resultsRoot: tmp.dir, paper: loadPaper(), scale: 'mini' });
    const j = r.json as ImageReport;
    expect(j.settings.map((s) => [s.attention, s.imagesPerSec, s.paperTop1, s.paperTop5, s.comparable])).toEqual([
      ['flow', [85, 95], 80.6, 94.9, false],
      ['softmax', [null], 78.7, 94.3, false],
    ]);
    expect(r.markdown).toContain('| cifar10 (PROXY) | configs/imagenet/cifar10/flowformer.yaml | flow (flowformer) | 0, 1 | test | 51.00 ± 1.41 | 91.00 ± 1.41 | 90.0 | 301.2 k | 10 | 25.0 min | tensorflow | 80.6 / 94.9 (Flowformer), not comparable |');
    expect(r.markdown).toContain('| cifar10 (PROXY) | configs/imagenet/cifar10/softmax.yaml | softmax (softmax) | 0 | test | 48.00 | 90.00 | - |');
  });
});
