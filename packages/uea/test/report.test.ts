import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatConfig, loadConfig, type RunSummary } from '@flowformer/core';
import { describe, expect, it } from 'vitest';
import { readUeaRuns, writeUeaTable } from '../src/report.ts';
import { ueaTask } from '../src/task.ts';
import { repoRoot, scratch } from './helpers.ts';

/** A run folder as the trainer writes it: the resolved config and a summary. */
function fakeRun(root: string, cfg: string, runId: string, sets: string[], result: { best?: number; test?: number; status?: RunSummary['status'] }) {
  const resolved = loadConfig(join(repoRoot, 'configs/uea', cfg), { task: ueaTask, sets });
  const c = resolved.config;
  const dir = join(root, 'runs', 'uea', resolved.name, runId);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.yaml'), formatConfig(resolved));
  const summary: Partial<RunSummary> = {
    task: 'uea',
    dataset: c.dataset,
    model: c.model.name,
    attention: c.attention.type,
    status: result.status ?? 'completed',
    metric: { name: 'accuracy', mode: 'max', split: c.evaluation.split },
    best: result.best === undefined ? null : { value: result.best, step: 10, epoch: 2, metrics: { accuracy: result.best } },
    test: result.test === undefined ? null : { step: 10, metrics: { accuracy: result.test } },
    seed: c.seed,
    epochs: c.training.epochs!,
    wallSeconds: 1,
    backend: 'wasm',
    dataInfo: { protocol: (c.data as { protocol: string }).protocol },
  };
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary));
}

describe('the UEA results table', () => {
  it('averages seeds per dataset, model and protocol, and flags runs that depart from the recipe', () => {
    const s = scratch('uea-table-');
    try {
      fakeRun(s.dir, 'JapaneseVowels/flowformer.yaml', 'a', ['seed=1'], { best: 0.98 });
      fakeRun(s.dir, 'JapaneseVowels/flowformer.yaml', 'b', ['seed=2'], { best: 0.99 });
      fakeRun(s.dir, 'JapaneseVowels/flowformer.yaml', 'c', ['seed=3'], { best: 0.97 });
      fakeRun(s.dir, 'JapaneseVowels/flowformer.yaml', 'd', ['seed=4'], { best: 0.5, status: 'interrupted' }); // ignored
      fakeRun(s.dir, 'JapaneseVowels/flowformer-holdout.yaml', 'a', [], { best: 1.0, test: 0.96 });
      fakeRun(s.dir, 'Handwriting/transformer.yaml', 'a', ['training.epochs=10', 'model.dModel=64'], { best: 0.25 });
      expect(readUeaRuns(s.dir).length).toBe(5);
      const { md, json, table } = writeUeaTable(s.dir);
      const jv = table.rows.find((r) => r.dataset === 'JapaneseVowels')!;
      expect(jv.paper).toEqual({ flowformer: 98.9, transformer: 98.7 });
      expect(jv.cells[0]!.values).toEqual([98, 99, 97]);
      expect(jv.cells[0]!.mean).toBeCloseTo(98, 10);
      expect(jv.cells[0]!.std).toBeCloseTo(1, 10);
      expect(jv.cells[1]!.values).toEqual([96]); // holdout: TEST accuracy of the valid-selected checkpoint
      expect(jv.cells[2]).toBeNull();
      const text = readFileSync(md, 'utf8');
      expect(text).toContain('| JapaneseVowels | 98.9 | 98.7 | 98.0 ± 1.0 (3 seeds) | 96.0 (1 seed) | - | - |');
      expect(text).toContain('| Handwriting | 33.8 | 32.0 | - | - | 25.0 (1 seed) [1] | - |');
      expect(text).toContain('1. model.dModel 64 (paper 512); training.epochs 10 (paper 100)');
      expect(text).toContain('| average (10) | 73.0 | 71.9 |');
      expect(JSON.parse(readFileSync(json, 'utf8')).rows.length).toBe(10);
    } finally {
      s.cleanup();
    }
  });
});
