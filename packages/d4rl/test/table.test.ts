import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectD4rlRuns, d4rlTableMarkdown } from '../src/table.ts';
import { tmp } from './helpers.ts';

function fakeRun(root: string, config: string, id: string, fields: Record<string, unknown>) {
  const dir = join(root, 'runs', 'd4rl', config, id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'summary.json'), JSON.stringify({ task: 'd4rl', runDir: dir, steps: 100000, seed: 1, dataInfo: { file: 'x.hdf5' }, ...fields }));
}

describe('results/tables/d4rl.md', () => {
  it('groups completed runs by dataset and model, skips unfinished ones, prints them beside the paper', () => {
    const root = tmp();
    fakeRun(root, 'hopper-medium-flowformer', 'a', { dataset: 'hopper-medium', model: 'flowformer', status: 'completed', final: { metrics: { score: 60 } } });
    fakeRun(root, 'hopper-medium-flowformer', 'b', { dataset: 'hopper-medium', model: 'flowformer', status: 'completed', seed: 2, final: { metrics: { score: 70 } } });
    fakeRun(root, 'hopper-medium-dt', 'c', { dataset: 'hopper-medium', model: 'dt', status: 'stopped', final: { metrics: { score: 10 } } });
    const r = collectD4rlRuns(root);
    expect(r.runs).toEqual({ 'hopper-medium': { flowformer: [60, 70] } });
    expect(r.skipped.map((s) => s.reason)).toEqual(['status stopped']);
    const md = d4rlTableMarkdown(root);
    expect(md).toContain('| hopper-medium | 64.2 +- 1.1 | 66.9 +- 2.5 | - | 65.0 +- 5.0 (2) |');
    expect(md).toContain('status stopped');
    expect(collectD4rlRuns(join(root, 'nothing')).counted).toEqual([]);
  });
});
