import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatConfig, loadConfig } from '@flowformer/core';
import { loadPaper, readRunSummaries, type RunSummary } from '@flowformer/core/results';
import { describe, expect, it } from 'vitest';
import { readUeaRuns, ueaReport, type UeaTable } from '../src/report.ts';
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
    runId,
    runDir: dir,
    configName: resolved.name,
    configPath: join(repoRoot, 'configs/uea', cfg),
    command: `flowformer train --config configs/uea/${cfg}${sets.map((x) => ` --set ${x}`).join('')}`,
    dataset: c.dataset,
    model: c.model.name,
    attention: c.attention.type,
    status: result.status ?? 'completed',
    metric: { name: 'accuracy', mode: 'max', split: c.evaluation.split },
    best: result.best === undefined ? null : { value: result.best, step: 10, epoch: 2, metrics: { accuracy: result.best } },
    test: result.test === undefined ? null : { step: 10, metrics: { accuracy: result.test } },
    seed: c.seed,
    steps: result.status === 'interrupted' ? 30 : 100,
    totalSteps: 100,
    epochs: c.training.epochs!,
    wallSeconds: 1,
    backend: 'wasm',
    dataInfo: { protocol: (c.data as { protocol: string }).protocol },
  };
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary));
}

describe("the uea task's report (the UEA section of results/tables/uea.md)", () => {
  it('averages seeds per dataset, recipe, attention and protocol, beside the paper; other recipes get their own row', () => {
    const s = scratch('uea-table-');
    try {
      fakeRun(s.dir, 'JapaneseVowels/flowformer.yaml', 'a', ['seed=1'], { best: 0.98 });
      fakeRun(s.dir, 'JapaneseVowels/flowformer.yaml', 'b', ['seed=2'], { best: 0.99 });
      fakeRun(s.dir, 'JapaneseVowels/flowformer.yaml', 'c', ['seed=3'], { best: 0.97 });
      fakeRun(s.dir, 'JapaneseVowels/flowformer.yaml', 'd', ['seed=4'], { best: 0.5, status: 'interrupted' }); // listed as unfinished, in no cell
      fakeRun(s.dir, 'JapaneseVowels/flowformer.yaml', 'e', ['seed=2'], { best: 0.4, status: 'interrupted' }); // seed 2 completed in run b: not listed
      fakeRun(s.dir, 'JapaneseVowels/flowformer.yaml', '0', ['seed=3'], { best: 0.1 }); // an older run of seed 3: the latest counts
      fakeRun(s.dir, 'JapaneseVowels/flowformer-holdout.yaml', 'a', [], { best: 1.0, test: 0.96 });
      fakeRun(s.dir, 'JapaneseVowels/transformer.yaml', 'a', [], { best: 0.99 });
      fakeRun(s.dir, 'JapaneseVowels/mini.yaml', 'a', ['attention.type=performer'], { best: 0.9 });
      fakeRun(s.dir, 'Handwriting/transformer.yaml', 'a', ['training.epochs=10', 'model.dModel=64'], { best: 0.25 });
      expect(readUeaRuns(s.dir).length).toBe(8);
      const r = ueaReport({ runs: readRunSummaries(s.dir), repoRoot, resultsRoot: s.dir, paper: loadPaper(), scale: 'paper' });
      const t = r.json as UeaTable;
      expect(t.attentions).toEqual(['flow', 'softmax', 'performer']);
      expect(t.paperMethods).toEqual({ flow: 'Flowformer', softmax: 'Transformer', performer: 'Performer' });
      const jv = t.rows.find((x) => x.dataset === 'JapaneseVowels' && x.deviations.length === 0)!;
      expect(jv.paper).toMatchObject({ flow: 98.9, softmax: 98.7 });
      expect(jv.cells.flow!.paper!.values).toEqual([98, 99, 97]);
      expect(jv.cells.flow!.paper!.mean).toBeCloseTo(98, 10);
      expect(jv.cells.flow!.paper!.std).toBeCloseTo(1, 10);
      expect(jv.cells.flow!.holdout!.values).toEqual([96]); // holdout: TEST accuracy of the valid-selected checkpoint
      expect(jv.cells.softmax!.paper!.values).toEqual([99]);
      expect(jv.cells.performer!.paper).toBeNull();
      // the mini recipe is a row of its own, not averaged into the paper recipe's cells
      const mini = t.rows.find((x) => x.dataset === 'JapaneseVowels' && x.deviations.length > 0)!;
      expect(mini.cells.performer!.paper!.values).toEqual([90]);
      expect(t.rows.map((x) => x.dataset)).toEqual(['Handwriting', 'JapaneseVowels', 'JapaneseVowels']); // the paper's order
      expect(r.markdown).toContain('| JapaneseVowels | paper | 98.00 ± 1.00 (3 seeds) | 96.00 (1 seed) | 98.9 | 99.00 (1 seed) | - | 98.7 | - | - |');
      expect(r.markdown).toContain('| Handwriting | differs [1] | - | - | 33.8 | 25.00 (1 seed) | - | 32.0 | - | - |');
      expect(r.markdown).toContain('1. model.dModel 64 (paper 512); training.epochs 10 (paper 100)');
      expect(r.markdown).toMatch(/2\. model\.dModel 128 \(paper 512\); model\.nHeads 4 \(paper 8\); model\.dFF 256 \(paper 2048\); training\.epochs 20 \(paper 100\)/);
      expect(r.markdown).toContain("The paper's averages over its ten datasets (Flowformer 73.0, Transformer 71.9");
      expect(r.markdown).toMatch(/- JapaneseVowels flow \(JapaneseVowels-flowformer-holdout\), holdout protocol, seed 666: 96\.00 — /);
      // the interrupted seed 4 is in no cell, but listed with how far it got; seed 2's interrupted run is not, seed 2 has a completed run
      expect(t.unfinished.map((u) => [u.seed, u.steps, u.totalSteps, u.bestSoFar])).toEqual([[4, 30, 100, 0.5]]);
      expect(r.markdown).toMatch(/Not finished, so in no cell above[^\n]*\n\n- JapaneseVowels flow \(JapaneseVowels-flowformer\), paper protocol, seed 4: interrupted at update 30 of 100; best test accuracy so far 50\.00 \(epoch 2\) — /);
      expect(r.markdown).not.toContain('40.00');
    } finally {
      s.cleanup();
    }
  });

  it("marks runs without the original's evaluations at epochs 0 and 1 (a lower bound), in the same row as those with them", () => {
    const s = scratch('uea-table-');
    try {
      fakeRun(s.dir, 'UWaveGestureLibrary/flowformer.yaml', 'a', ['seed=1', 'evaluation.at=[]'], { best: 0.85 }); // as runs made before evaluation.at
      fakeRun(s.dir, 'UWaveGestureLibrary/flowformer.yaml', 'b', ['seed=2'], { best: 0.87 }); // base.yaml: at [0, 1]
      fakeRun(s.dir, 'UWaveGestureLibrary/transformer.yaml', 'a', ['seed=1'], { best: 0.86 });
      const r = ueaReport({ runs: readRunSummaries(s.dir), repoRoot, resultsRoot: s.dir, paper: loadPaper(), scale: 'paper' });
      const t = r.json as UeaTable;
      expect(t.rows).toHaveLength(1); // not a recipe of its own: the training is the same
      expect(t.rows[0]!.cells.flow!.paper).toMatchObject({ values: [85, 87], withoutEarlyEvals: 1 });
      expect(t.rows[0]!.cells.softmax!.paper).toMatchObject({ values: [86], withoutEarlyEvals: 0 });
      expect(r.markdown).toContain('| UWaveGestureLibrary | paper | 86.00 ± 1.41 (2 seeds) † | - | 86.6 | 86.00 (1 seed) | - | 85.6 |');
      expect(r.markdown).toContain('† Some or all runs of the cell were evaluated from epoch 2 on only');
      expect(r.markdown).toMatch(/seed 1: 85\.00 † — [^\n]*; not evaluated at epochs 0 and 1\)/);
      expect(r.markdown).toMatch(/seed 2: 87\.00 — [^\n]*wasm\)\n/);
      expect(r.markdown).toContain('Runs:\n');
      // when every run lacks them, the runs list says so once
      const only = ueaReport({ runs: readRunSummaries(s.dir).filter((x) => x.runId === 'a' && x.attention === 'flow'), repoRoot, resultsRoot: s.dir, paper: loadPaper(), scale: 'paper' });
      expect(only.markdown).toContain('Runs (all †: not evaluated at epochs 0 and 1):');
      expect(only.markdown).toMatch(/seed 1: 85\.00 † — [^\n]*wasm\)\n/);
    } finally {
      s.cleanup();
    }
  });

  it('says so when nothing ran, and lists unreadable runs instead of failing', () => {
    const s = scratch('uea-table-');
    try {
      const empty = ueaReport({ runs: [], repoRoot, resultsRoot: s.dir, paper: loadPaper(), scale: 'mini' });
      expect(empty.markdown).toContain('No completed UEA run under the results root yet.');
      fakeRun(s.dir, 'JapaneseVowels/flowformer.yaml', 'a', [], {}); // completed, but no accuracy
      const r = ueaReport({ runs: readRunSummaries(s.dir), repoRoot, resultsRoot: s.dir, paper: loadPaper(), scale: 'mini' });
      expect(r.markdown).toMatch(/not counted: .*summary\.json: completed paper-protocol run without a test accuracy/);
    } finally {
      s.cleanup();
    }
  });
});
