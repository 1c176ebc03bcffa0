import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '@flowformer/core';
import { d4rlTask, type D4rlConfig } from '../src/task.ts';

const dir = resolve(import.meta.dirname, '../../../configs/d4rl');

describe('configs/d4rl', () => {
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => readdirSync(resolve(dir, e.name)).map((f) => resolve(dir, e.name, f)));

  it('has flowformer and softmax configs for the 9 datasets, and every config validates', () => {
    for (const env of ['hopper', 'halfcheetah', 'walker2d']) {
      for (const ds of ['medium', 'medium-replay', 'medium-expert']) {
        expect(files).toContain(resolve(dir, `${env}-${ds}`, 'flowformer.yaml'));
        expect(files).toContain(resolve(dir, `${env}-${ds}`, 'softmax.yaml'));
      }
    }
    for (const f of files) expect(() => loadConfig(f, { task: d4rlTask })).not.toThrow();
  });

  it("resolves to the paper's recipe", () => {
    const c = loadConfig<D4rlConfig>(resolve(dir, 'walker2d-medium-replay/flowformer.yaml'), { task: d4rlTask }).config;
    expect(c.dataset).toBe('walker2d-medium-replay');
    expect(c.model).toMatchObject({ hiddenSize: 256, nLayers: 3, nHeads: 4, dropout: 0.1, activation: 'relu', maxEpisodeLength: 1000 });
    expect(c.attention).toMatchObject({ type: 'flow', clamp: 10 });
    expect(c.optimizer).toMatchObject({ type: 'adamw', lr: 0.001, weightDecay: 0.0001, decayAll: true, betas: [0.9, 0.999] });
    expect(c.schedule).toMatchObject({ type: 'warmup-constant', warmupSteps: 10000, warmupInitLr: 0, clockOffset: 1 });
    expect(c.training).toMatchObject({ batchSize: 64, steps: 100000, gradClip: 0.25 });
    expect(c.data).toMatchObject({ contextLength: 20, returnScale: 1000, sampling: 'replacement' });
    expect(c.rollout.targets).toEqual([5000, 2500]);
    const s = loadConfig<D4rlConfig>(resolve(dir, 'hopper-medium/softmax.yaml'), { task: d4rlTask }).config;
    expect(s.attention).toMatchObject({ type: 'softmax', attentionDropout: 0.1 });
    expect(s.model.hiddenSize).toBe(256);
    expect(s.rollout.targets).toEqual([3600, 1800]);
  });
});
