/**
 * The original's final evaluation: a run ends by rolling out its LAST model for
 * rollout.finalEpisodes episodes per target (100 in the paper's recipe; a few here) and records
 * it in summary.json as `finalEval`; `flowformer eval --checkpoint last --split test` records
 * what it measured in the run folder and sets the same field.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend, train } from '@flowformer/core';
import { type RunSummary } from '@flowformer/core/results';
import { repoRoot } from '@flowformer/core/testing';
import { d4rlTask } from '../src/task.ts';
import { normalizedScore } from '../src/score.ts';
import type { D4rlFinalEval } from '../src/final-eval.ts';
import { tmp } from './helpers.ts';

const backend = (process.env.FLOWFORMER_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'wasm';
beforeAll(async () => {
  await initBackend(backend);
});
afterAll(async () => {
  await shutdownBackend();
});

describe('d4rl final evaluation (the last model, rollout.finalEpisodes episodes per target)', () => {
  const dataRoot = tmp();
  afterAll(() => rmSync(dataRoot, { recursive: true, force: true }));
  let summary: RunSummary;

  it('a short run on the generated halfcheetah-mixed data ends with its final evaluation in summary.json', async () => {
    await d4rlTask.data!.generate!.run({ dataRoot, dataset: 'halfcheetah-mixed', options: { policy: 'mixed', steps: 2000, seed: 0 }, log: () => {} });
    // The smoke config with 2 "iterations" of 3 updates (the paper: 10 of 10,000), 2 episodes per
    // target at each (the paper: 10) and 3 in the final evaluation (the paper: 100).
    const sets = [
      'model.hiddenSize=16', 'model.nLayers=1', 'training.steps=6', 'training.batchSize=8', 'training.logEvery=1',
      'evaluation.every=3', 'rollout.episodes=2', 'rollout.finalEpisodes=3', 'rollout.parallel=3', 'rollout.maxSteps=8',
    ];
    summary = await train({
      configPath: join(repoRoot, 'configs/d4rl/halfcheetah-mixed/flowformer-smoke.yaml'),
      sets,
      task: d4rlTask,
      dataRoot,
      resultsRoot: join(dataRoot, 'results'),
      cacheDir: join(dataRoot, '.cache'),
      progress: false,
      log: () => {},
      handleSigint: false,
    });
    expect(summary.status).toBe('completed');
    const fe = summary.finalEval as unknown as D4rlFinalEval;
    expect(fe.step).toBe(6);
    expect(fe.episodes).toBe(3);
    expect(fe.targets.map((t) => t.target)).toEqual([1200, 600]); // the config's rollout.targets
    for (const t of fe.targets) {
      for (const v of [t.returnMean, t.returnStd, t.normalizedMean, t.normalizedStd]) expect(Number.isFinite(v)).toBe(true);
      // D4RL's normalised score (x 100) is affine in the return: the mean maps to the mean.
      expect(t.normalizedMean).toBeCloseTo(normalizedScore('halfcheetah', t.returnMean), 6);
      expect(t.normalizedStd).toBeCloseTo((100 * t.returnStd) / (12135.0 + 280.178953), 6);
    }
    // As written to disk, beside the evaluations during training (2 episodes, on 'valid').
    const onDisk = JSON.parse(readFileSync(join(summary.runDir, 'summary.json'), 'utf8')) as RunSummary;
    expect(onDisk.finalEval).toEqual(summary.finalEval);
    const lines = readFileSync(join(summary.runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.type === 'eval').map((l) => [l.step, l.split])).toEqual([[3, 'valid'], [6, 'valid']]);
    const final = lines.filter((l) => l.type === 'final');
    expect(final).toHaveLength(1);
    expect(final[0]).toMatchObject({ step: 6, split: 'test', checkpoint: 'last', return_1200: fe.targets[0]!.returnMean, score_600: fe.targets[1]!.normalizedMean });
  });

  it('flowformer eval --checkpoint last --split test records its measurement in evals/ and sets finalEval as the trainer did', () => {
    expect(summary, 'the training test above ran').toBeDefined();
    const bin = resolve(repoRoot, 'packages/cli/bin/flowformer.js');
    const r = spawnSync(process.execPath, [bin, 'eval', '--run', summary.runDir, '--checkpoint', 'last', '--split', 'test', '--backend', backend, '--data-root', dataRoot], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, FLOWFORMER_RESULTS_ROOT: join(dataRoot, 'results') },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/recorded in .*evals\/.*\.json/);
    const evals = readdirSync(join(summary.runDir, 'evals'));
    expect(evals).toHaveLength(1);
    const rec = JSON.parse(readFileSync(join(summary.runDir, 'evals', evals[0]!), 'utf8')) as { checkpoint: string; step: number; split: string; metrics: Record<string, number>; backend: string };
    expect([rec.checkpoint, rec.step, rec.split, rec.backend]).toEqual(['last', 6, 'test', backend]);
    const after = JSON.parse(readFileSync(join(summary.runDir, 'summary.json'), 'utf8')) as RunSummary;
    const fe = after.finalEval as unknown as D4rlFinalEval;
    expect([fe.step, fe.episodes]).toEqual([6, 3]);
    // The same seeded episodes of the same last model: the numbers the run recorded.
    const before = summary.finalEval as unknown as D4rlFinalEval;
    fe.targets.forEach((t, i) => {
      expect(t.target).toBe(before.targets[i]!.target);
      expect(t.returnMean).toBeCloseTo(before.targets[i]!.returnMean, 4);
      expect(t.normalizedMean).toBeCloseTo(rec.metrics[`score_${t.target}`]!, 10);
    });
    expect(existsSync(join(summary.runDir, 'ckpt'))).toBe(true);
  });
});
