/**
 * The helpers the tables and the tasks' report hooks share (results/report.ts): mean ± sample
 * std, markdown tables, grouping run records into settings (latest run per seed, overrides
 * kept apart), the reported evaluation of a run, and training throughput from metrics.jsonl.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatMeanStd, groupRuns, markdownTable, meanStd, reportedMetrics, runThroughput, formatCount, type RunSummary } from '../src/results/index.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-report-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const run = (o: Partial<RunSummary>): RunSummary =>
  ({ task: 't', status: 'completed', attention: 'flow', seed: 0, runId: 'a', runDir: '/r', configPath: '/repo/configs/t/d/x.yaml', command: 'flowformer train -c x.yaml', ...o }) as RunSummary;

describe('results/report.ts', () => {
  it('mean ± sample std, formatted with the seed count', () => {
    expect(meanStd([34, 38])).toEqual({ mean: 36, std: Math.sqrt(8) });
    expect(meanStd([5]).std).toBeNull();
    expect(formatMeanStd([34, 38])).toBe('36.00 ± 2.83 (2 seeds)');
    expect(formatMeanStd([98.648], 1)).toBe('98.6 (1 seed)');
    expect(formatMeanStd([1, 2], 1, { seeds: false })).toBe('1.5 ± 0.7');
    expect(formatMeanStd([])).toBe('-');
    expect(formatCount(809856)).toBe('809.9 k');
    expect(formatCount(6445577)).toBe('6.45 M');
  });

  it('markdown tables: numbers right-aligned, pipes escaped', () => {
    expect(markdownTable(['a', 'b'], [['x|y', 1]])).toBe('| a | b |\n| --- | --: |\n| x\\|y | 1 |\n');
  });

  it('groups completed runs by config, attention and overrides; the latest run per seed', () => {
    const g = groupRuns(
      [
        run({ seed: 0, runId: '20260101-000000-s0', command: 'flowformer train -c x.yaml --set attention.type=softmax --set seed=0', attention: 'softmax' }),
        run({ seed: 0, runId: '20260101-000000-s0' }),
        run({ seed: 0, runId: '20260102-000000-s0' }), // later run of seed 0: replaces the first
        run({ seed: 1, runId: '20260101-000000-s1' }),
        run({ seed: 2, runId: '20260103-000000-s2', status: 'stopped' }), // not a result
        run({ seed: 0, runId: 'b', command: 'flowformer train -c x.yaml --set training.steps=30' }),
        run({ task: 'other' }),
      ],
      { task: 't', repoRoot: '/repo' },
    );
    expect(g.map((x) => [x.config, x.attention, x.overrides, x.runs.map((r) => r.runId)])).toEqual([
      ['configs/t/d/x.yaml', 'flow', [], ['20260102-000000-s0', '20260101-000000-s1']],
      ['configs/t/d/x.yaml', 'flow', ['training.steps=30'], ['b']],
      ['configs/t/d/x.yaml', 'softmax', [], ['20260101-000000-s0']],
    ]);
  });

  it('the reported evaluation: the best checkpoint on test when there is one, else the best evaluation', () => {
    expect(reportedMetrics(run({ metric: { name: 'accuracy', mode: 'max', split: 'valid' }, best: { value: 0.5, step: 1, epoch: 1, metrics: { accuracy: 0.5 } }, test: { step: 1, metrics: { accuracy: 0.4 } } }))).toEqual({ split: 'test', checkpoint: 'best', metrics: { accuracy: 0.4 } });
    expect(reportedMetrics(run({ metric: { name: 'ppl', mode: 'min', split: 'valid' }, best: { value: 7, step: 1, epoch: 1, metrics: { ppl: 7 } }, test: null }))!.split).toBe('valid');
    expect(reportedMetrics(run({ best: null, test: null }))).toBeNull();
  });

  it("training throughput: the median of the trainer's logging windows in metrics.jsonl", () => {
    const dir = path.join(tmp, 'run');
    fs.mkdirSync(dir);
    const lines = [
      { type: 'train', step: 10, examplesPerSec: 2, tokensPerSec: 128 }, // warm-up window
      { type: 'eval', step: 10, examplesPerSec: 1000 }, // not training
      { type: 'train', step: 20, examplesPerSec: 16, tokensPerSec: 1024 },
      { type: 'train', step: 30, examplesPerSec: 18, tokensPerSec: 1152 },
    ];
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n{"type":"train","ste');
    expect(runThroughput(dir)).toEqual({ examplesPerSec: 16, tokensPerSec: 1024, windows: 3 });
    expect(runThroughput(path.join(tmp, 'none'))).toBeNull();
  });
});
