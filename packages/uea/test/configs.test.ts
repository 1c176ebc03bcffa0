import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '@flowformer/core';
import { paperRows } from '@flowformer/core/results';
import { describe, expect, it } from 'vitest';
import { PAPER_DATASETS } from '../src/datasets.ts';
import { ueaTask, type UeaConfig } from '../src/task.ts';
import { repoRoot } from './helpers.ts';

const dir = join(repoRoot, 'configs', 'uea');

describe('configs/uea', () => {
  it('has flowformer, transformer and their holdout variants for each of the 10 datasets (and a mini.yaml for the four of the shared data)', () => {
    const folders = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    expect(folders).toEqual(PAPER_DATASETS.map((d) => d.name).sort());
    const mini = ['Handwriting', 'JapaneseVowels', 'SelfRegulationSCP1', 'UWaveGestureLibrary'];
    for (const f of folders)
      expect(readdirSync(join(dir, f)).sort(), f).toEqual(['flowformer-holdout.yaml', 'flowformer.yaml', ...(mini.includes(f) ? ['mini.yaml'] : []), 'transformer-holdout.yaml', 'transformer.yaml']);
  });

  for (const d of PAPER_DATASETS) {
    it(`${d.name}: every config validates and carries the paper's recipe`, () => {
      for (const file of ['flowformer', 'transformer', 'flowformer-holdout', 'transformer-holdout']) {
        const { config: c, name } = loadConfig<UeaConfig>(join(dir, d.name, `${file}.yaml`), { task: ueaTask });
        expect(name).toBe(`${d.name}-${file}`);
        expect(c.task).toBe('uea');
        expect(c.dataset).toBe(d.name);
        expect(c.seed).toBe(666);
        expect(c.model).toMatchObject({ dModel: 512, nHeads: 8, nLayers: 2, dFF: 2048, dropout: 0.1, activation: 'gelu', posEncoding: 'learnable', maskAttention: false });
        expect(c.optimizer).toMatchObject({ type: d.name === 'SpokenArabicDigits' ? 'adam' : 'radam', lr: 0.001, weightDecay: 0 });
        expect(c.training).toMatchObject({ batchSize: 16, epochs: d.epochs, gradClip: 4 });
        expect(c.evaluation).toMatchObject({ every: 2, unit: 'epochs' });
        const holdout = file.endsWith('holdout');
        expect(c.data.protocol).toBe(holdout ? 'holdout' : 'paper');
        expect(c.evaluation.split).toBe(holdout ? 'valid' : 'test');
        expect(c.attention).toEqual(file.startsWith('flowformer') ? { type: 'flow', clamp: null } : { type: 'softmax', attentionDropout: 0.1 });
      }
    });
  }

  it("the datasets are the rows of the paper's UEA table (results/paper/flowformer-paper.json), in its order", () => {
    expect(PAPER_DATASETS.map((d) => d.name)).toEqual(paperRows('uea'));
  });
});
