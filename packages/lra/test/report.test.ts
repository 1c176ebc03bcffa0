/**
 * The lra task's report (its section of results/tables/lra[-mini].md), from fake run records in
 * a temporary results root; and the paper numbers quoted in the LRA configs and task
 * descriptions agree with results/paper/flowformer-paper.json (Table 1 of the paper).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadPaper, paperValue, readRunSummaries } from '@flowformer/core/results';
import { lraReport, type LraReport } from '../src/report.ts';
import { lraTask } from '../src/task.ts';
import { repoRoot, tempDir } from './helpers.ts';

const tmp = tempDir('lra-report-');
afterAll(tmp.cleanup);

function fakeRun(config: string, id: string, o: { attention: string; seed: number; test?: number; majority?: number; status?: string; sets?: string[]; wall?: number }) {
  const dataset = config.split('/')[2]!;
  const runDir = path.join(tmp.dir, 'runs', 'lra', `${dataset}-x`, id);
  mkdirSync(runDir, { recursive: true });
  writeFileSync(path.join(runDir, 'summary.json'), JSON.stringify({
    task: 'lra', dataset, model: 'flowformer', attention: o.attention, configName: 'x', configPath: path.join(repoRoot, config), runId: id, runDir,
    status: o.status ?? 'completed', metric: { name: 'accuracy', mode: 'max', split: 'valid' },
    best: { value: 0.5, step: 10, epoch: 1, metrics: { accuracy: 0.5 } }, final: null,
    test: o.test === undefined ? null : { step: 10, metrics: { accuracy: o.test, majorityRate: o.majority ?? 0.1 } },
    steps: 10, totalSteps: 10, epochs: 1, lastLoss: 1, params: 44362, wallSeconds: o.wall ?? 90, backend: 'tensorflow', seed: o.seed,
    command: `flowformer train --config ${config}${(o.sets ?? []).map((s) => ` --set ${s}`).join('')}`, gitCommit: null, dataInfo: {}, startedAt: '', finishedAt: '',
  }));
}

describe("the lra task's report", () => {
  it('test accuracy against the majority-class rate per setting, the paper beside it (not comparable for mini configs)', () => {
    fakeRun('configs/lra/listops/mini.yaml', 'a', { attention: 'flow', seed: 0, test: 0.34, majority: 0.14 });
    fakeRun('configs/lra/listops/mini.yaml', 'b', { attention: 'flow', seed: 1, test: 0.38, majority: 0.14, sets: ['attention.type=flow', 'seed=1'] });
    fakeRun('configs/lra/listops/mini.yaml', 'c', { attention: 'softmax', seed: 0, status: 'stopped' });
    fakeRun('configs/lra/listops/mini.yaml', 'd', { attention: 'flow', seed: 0, test: 0.2, sets: ['training.steps=30'] });
    fakeRun('configs/lra/pathfinder/flowformer.yaml', 'e', { attention: 'flow', seed: 0, test: 0.75, majority: 0.5, wall: 7200 });
    const r = lraReport({ runs: readRunSummaries(tmp.dir), repoRoot, resultsRoot: tmp.dir, paper: loadPaper(), scale: 'mini' });
    const j = r.json as LraReport;
    // the paper's task order; a setting with extra overrides is its own row
    expect(j.settings.map((s) => [s.dataset, s.overrides.join(' '), s.accuracy.map((x) => +x.toFixed(6))])).toEqual([
      ['listops', '', [34, 38]],
      ['listops', 'training.steps=30', [20]],
      ['pathfinder', '', [75]],
    ]);
    expect(r.markdown).toContain('| listops | configs/lra/listops/mini.yaml | flow | 0, 1 | test | 36.00 ± 2.83 | 14.00 | +22.00 ± 2.83 | 44.4 k | 10 | 90 s | tensorflow | 38.70 (Flowformer), not comparable |');
    expect(r.markdown).toContain('| pathfinder | configs/lra/pathfinder/flowformer.yaml | flow | 0 | test | 75.00 | 50.00 | +25.00 | 44.4 k | 10 | 2.0 h | tensorflow | 73.95 (Flowformer) |');
    expect(r.markdown).toContain('configs/lra/listops/mini.yaml (--set training.steps=30)');
    expect(r.markdown).not.toMatch(/\| softmax \|/); // the stopped run
  });
});

describe("LRA paper numbers quoted outside the paper file agree with it (the paper's Table 1)", () => {
  const paper = loadPaper();
  it('the paper configs quote Table 1', () => {
    for (const t of ['listops', 'text', 'retrieval', 'image', 'pathfinder']) {
      const head = readFileSync(path.join(repoRoot, 'configs/lra', t, 'flowformer.yaml'), 'utf8').split('\n').filter((l) => l.startsWith('#')).join(' ');
      const m = /paper\s+#?\s*Table 1: (\d+\.\d+)/.exec(head.replace(/#\s*/g, ''));
      expect(m, `configs/lra/${t}/flowformer.yaml names the paper's number`).not.toBeNull();
      expect(Number(m![1]), t).toBe(paperValue('lra', t, 'Flowformer', paper));
    }
  });
  it('the task descriptions read the file', () => {
    expect(lraTask.datasets!.find((d) => d.name === 'listops')!.description).toContain('paper Flowformer 38.70');
    expect(lraTask.datasets!.find((d) => d.name === 'pathfinder')!.description).toContain('paper Flowformer 73.95');
    expect(lraTask.description).toContain('56.48');
  });
});
