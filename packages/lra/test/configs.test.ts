import { readdirSync, readFileSync } from 'node:fs';
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
      expect(files.sort()).toEqual(['flowformer-lra-code.yaml', 'flowformer.yaml', 'mini.yaml', 'performer-lra.yaml', 'reformer-lra.yaml', 'transformer-lra.yaml']);
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

  it("the LRA paper's baseline recipes: LRA's own base configs per task and model, each naming its source files", () => {
    const c = (t: string, f: string) => loadConfig<LraConfig>(path.join(dir, t, f), { task: lraTask }).config;
    const sizes = (x: LraConfig) => [x.model.nLayers, x.model.embDim, x.model.qkvDim, x.model.nHeads, x.model.mlpDim, x.model.dropout];
    // base_listops_config.py: 4 layers, 8 heads, MLP 1024, embedding 512, lr 0.05 (LRA's own, not the fork's 2 layers).
    const softmax = c('listops', 'transformer-lra.yaml');
    expect(sizes(softmax)).toEqual([4, 512, 512, 8, 1024, 0.1]);
    expect(softmax.attention).toEqual({ type: 'softmax', attentionDropout: 0.1 });
    expect(softmax.optimizer).toMatchObject({ type: 'adamw', lr: 0.05, weightDecay: 0.1, betas: [0.9, 0.98], eps: 1e-9, decayAll: true });
    expect(softmax.schedule).toMatchObject({ type: 'warmup-rsqrt', warmupSteps: 1000, lraBase: true });
    expect([softmax.training.batchSize, softmax.training.steps, softmax.evaluation.every, softmax.model.pool]).toEqual([32, 5000, 50, 'cls']);
    expect(c('listops', 'performer-lra.yaml').attention).toMatchObject({ type: 'performer', nbFeatures: 2 });
    expect(c('listops', 'reformer-lra.yaml').attention).toMatchObject({ type: 'reformer', nHashes: 1, bucketSize: 10, nBuckets: 10 });
    expect(sizes(c('text', 'transformer-lra.yaml'))).toEqual([4, 256, 256, 4, 1024, 0.1]);
    expect(sizes(c('retrieval', 'performer-lra.yaml'))).toEqual([4, 128, 128, 4, 512, 0.1]);
    // The image and pathfinder model files override the base per model type.
    expect(sizes(c('image', 'transformer-lra.yaml'))).toEqual([1, 128, 64, 8, 128, 0.3]);
    expect(sizes(c('image', 'reformer-lra.yaml'))).toEqual([4, 64, 64, 8, 64, 0.3]); // LRA's reformer projects to emb_dim
    expect(sizes(c('pathfinder', 'transformer-lra.yaml'))).toEqual([4, 32, 16, 4, 32, 0.2]);
    expect(sizes(c('pathfinder', 'performer-lra.yaml'))).toEqual([4, 32, 16, 8, 32, 0.2]);
    expect(sizes(c('pathfinder', 'reformer-lra.yaml'))).toEqual([2, 64, 64, 8, 64, 0.2]);
    const pf = c('pathfinder', 'transformer-lra.yaml');
    expect([pf.optimizer.lr, pf.training.batchSize, pf.training.steps, pf.model.pool, pf.schedule]).toEqual([1e-3, 512, 62400, 'mean', expect.objectContaining({ type: 'warmup-cosine', warmupSteps: 312, cycleSteps: 62712 })]);
    for (const t of tasks) {
      for (const m of ['transformer', 'performer', 'reformer']) {
        const f = path.join(dir, t, `${m}-lra.yaml`);
        const cfg = c(t, `${m}-lra.yaml`);
        expect(cfg.model.name).toBe(m);
        expect(cfg.attention.type).toBe(m === 'transformer' ? 'softmax' : m);
        // The header names LRA's base config and model config files in its first 3 lines.
        const header = readFileSync(f, 'utf8').split('\n').slice(0, 3).join('\n');
        expect(header).toMatch(/lra_benchmarks\/\S+\/base_\w+_config\.py/);
        expect(header).toContain(`${m}_base.py`);
      }
    }
  });

  it("the Flowformer LRA-code configs: the fork's flowformer_base.py recipe with relu features and competition over the heads", () => {
    const c = (t: string) => loadConfig<LraConfig>(path.join(dir, t, 'flowformer-lra-code.yaml'), { task: lraTask }).config;
    for (const t of tasks) {
      const v = c(t);
      expect(v.attention).toMatchObject({ type: 'flow', featureMap: 'relu', competitionAxis: 'heads', clamp: null });
      expect(v.model.maskPadding).toBe(false);
      const header = readFileSync(path.join(dir, t, 'flowformer-lra-code.yaml'), 'utf8').split('\n').slice(0, 3).join('\n');
      expect(header).toMatch(/Flowformer_LRA\/lra_benchmarks\/\S+\/flowformer_base\.py/);
    }
    // ListOps: 1 layer, 2 heads, lr 0.005 (the fork's base has 2 layers, LRA's 4).
    const l = c('listops');
    expect([l.model.nLayers, l.model.nHeads, l.optimizer.lr, l.schedule]).toEqual([1, 2, 0.005, expect.objectContaining({ type: 'warmup-rsqrt', warmupSteps: 1000, lraBase: true })]);
    expect(c('retrieval').optimizer.lr).toBe(0.05);
    expect(c('image').schedule).toMatchObject({ type: 'warmup-cosine', warmupSteps: 175, cycleSteps: 35175 });
  });
});
