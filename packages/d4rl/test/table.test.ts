import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPaper, readRunSummaries } from '@flowformer/core/results';
import { collectD4rlRuns, d4rlReport } from '../src/table.ts';
import { tmp } from './helpers.ts';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../../..');

function fakeRun(root: string, config: string, id: string, fields: Record<string, unknown>) {
  const dir = join(root, 'runs', 'd4rl', config.replace(/\//g, '-'), id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'summary.json'), JSON.stringify({
    task: 'd4rl', runId: id, runDir: dir, configPath: join(repoRoot, 'configs/d4rl', `${config}.yaml`), command: `flowformer train --config configs/d4rl/${config}.yaml`,
    steps: 100000, seed: 1, attention: 'flow', model: 'flowformer', dataInfo: { file: 'x.hdf5' }, ...fields,
  }));
}

describe("the d4rl task's report (the D4RL section of results/tables/d4rl.md)", () => {
  it('groups completed runs by setting, skips unfinished ones, prints them beside the paper (none for generated data)', () => {
    const root = tmp();
    fakeRun(root, 'hopper-medium/flowformer', 'a', { dataset: 'hopper-medium', status: 'completed', final: { metrics: { score: 60 } } });
    fakeRun(root, 'hopper-medium/flowformer', 'b', { dataset: 'hopper-medium', status: 'completed', seed: 2, final: { metrics: { score: 70 } } });
    fakeRun(root, 'hopper-medium/softmax', 'c', { dataset: 'hopper-medium', model: 'dt', attention: 'softmax', status: 'stopped', final: { metrics: { score: 10 } } });
    fakeRun(root, 'hopper-medium/softmax', 'd', { dataset: 'hopper-medium', model: 'dt', attention: 'softmax', status: 'completed', final: null });
    fakeRun(root, 'halfcheetah-mixed/flowformer-smoke', 'e', { dataset: 'halfcheetah-mixed', status: 'completed', steps: 2000, dataInfo: { file: '/data/d4rl/halfcheetah-mixed-v2.hdf5' }, final: { metrics: { score: 12.34 } } });
    const runs = readRunSummaries(root);
    const r = collectD4rlRuns(runs, repoRoot, loadPaper());
    expect(r.settings.map((s) => [s.dataset, s.attention, s.scores])).toEqual([
      ['halfcheetah-mixed', 'flow', [12.34]],
      ['hopper-medium', 'flow', [60, 70]],
    ]);
    expect(r.settings[1]!.paper).toEqual({ mean: 66.9, std: 2.5 }); // from results/paper/flowformer-paper.json
    expect(r.settings[0]!.paper).toBeNull();
    expect(r.skipped.map((s) => s.reason).sort()).toEqual(['no final score', 'status stopped']);
    const { markdown } = d4rlReport({ runs, repoRoot, resultsRoot: root, paper: loadPaper(), scale: 'paper' });
    expect(markdown).toContain('| hopper-medium | configs/d4rl/hopper-medium/flowformer.yaml | flow (flowformer) | x.hdf5 | 65.0 ± 7.1 (2 seeds) | 100000 | 66.9 ± 2.5 (Flowformer) |');
    expect(markdown).toContain('| halfcheetah-mixed | configs/d4rl/halfcheetah-mixed/flowformer-smoke.yaml | flow (flowformer) | /data/d4rl/halfcheetah-mixed-v2.hdf5 | 12.3 (1 seed) | 2000 | no paper row |');
    expect(markdown).toContain('status stopped');
    expect(collectD4rlRuns(readRunSummaries(join(root, 'nothing')), repoRoot, loadPaper()).settings).toEqual([]);
  });
});
