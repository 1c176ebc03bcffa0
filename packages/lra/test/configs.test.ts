import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '@flowformer/core';
import { lraTask, type LraConfig } from '../src/task.ts';
import { repoRoot } from './helpers.ts';

const dir = path.join(repoRoot, 'configs', 'lra');
const tasks = ['listops', 'text', 'retrieval', 'image', 'pathfinder'];

describe('configs/lra', () => {
  it('every shipped config validates against the shared and the LRA schemas', () => {
    for (const t of tasks) {
      const files = readdirSync(path.join(dir, t)).filter((f) => f.endsWith('.yaml'));
      expect(files.sort()).toEqual(['flowformer-lra-code.yaml', 'flowformer.yaml', 'mini.yaml']);
      for (const f of files) {
        const r = loadConfig<LraConfig>(path.join(dir, t, f), { task: lraTask });
        expect(r.config.dataset).toBe(t);
      }
    }
  });

  it('carries the paper per-task sizes and the LRA recipes', () => {
    const c = (t: string, f = 'flowformer.yaml') => loadConfig<LraConfig>(path.join(dir, t, f), { task: lraTask }).config;
    const sizes = (x: LraConfig) => [x.model.nLayers, x.model.embDim, x.model.qkvDim, x.model.nHeads, x.model.mlpDim, x.model.dropout];
    expect(sizes(c('listops'))).toEqual([1, 512, 512, 2, 1024, 0.1]);
    expect(sizes(c('text'))).toEqual([1, 256, 256, 4, 1024, 0.1]);
    expect(sizes(c('retrieval'))).toEqual([4, 128, 128, 4, 512, 0.1]);
    expect(sizes(c('image'))).toEqual([1, 128, 64, 4, 128, 0.3]);
    expect(sizes(c('pathfinder'))).toEqual([1, 256, 128, 8, 256, 0.2]);
    expect(c('image').model.positions).toBe('learned');
    expect(c('pathfinder').model.pool).toBe('mean');
    const o = c('listops').optimizer as { type: string; betas: number[]; eps: number; lr: number };
    expect([o.type, o.betas, o.eps]).toEqual(['adamw', [0.9, 0.98], 1e-9]);
    expect(o.lr).toBeCloseTo(0.005 / Math.sqrt(1000), 7); // LRA's rsqrt schedule peaks at base / sqrt(warmup)
    expect(c('listops').data.maxLength).toBe(2000);
    expect(c('text').data.maxLength).toBe(1000);
    expect(c('retrieval').data.maxLength).toBe(4000);
    // Default: the paper's Flow-Attention; the -lra-code configs: the LRA code's variant.
    expect(c('listops').attention).toMatchObject({ type: 'flow', featureMap: 'sigmoid', competitionAxis: 'keys', clamp: null });
    const v = c('listops', 'flowformer-lra-code.yaml');
    expect(v.attention).toMatchObject({ featureMap: 'relu', competitionAxis: 'heads', clamp: null });
    expect(v.model.maskPadding).toBe(false);
    // The default run: ListOps mini on generated data.
    expect(lraTask.defaultConfig).toBe('configs/lra/listops/mini.yaml');
    const mini = loadConfig<LraConfig>(path.join(repoRoot, lraTask.defaultConfig!), { task: lraTask }).config;
    expect([mini.data.size, mini.data.generate, mini.data.maxLength]).toEqual(['mini', true, 64]);
  });
});
