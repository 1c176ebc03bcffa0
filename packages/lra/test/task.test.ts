import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend, tf, train } from '@flowformer/core';
import { lraTask } from '../src/task.ts';
import { repoRoot, tempDir } from './helpers.ts';

beforeAll(async () => {
  await initBackend((process.env.FLOWFORMER_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'wasm');
});
afterAll(async () => {
  await shutdownBackend();
});

describe('the lra task through the core trainer', () => {
  it('the default config (ListOps mini) generates its data when missing and trains: the loss falls, test accuracy and the majority rate are reported', async () => {
    const tmp = tempDir();
    const logs: string[] = [];
    const losses: number[] = [];
    const before = tf.memory().numTensors;
    try {
      const summary = await train({
        configPath: path.join(repoRoot, lraTask.defaultConfig!),
        // The mini recipe at toy size, so that the test takes seconds.
        sets: ['model.embDim=32', 'model.qkvDim=32', 'model.mlpDim=64', 'training.steps=80', 'training.logEvery=1', 'evaluation.every=80', 'data.evalLimit=500', 'optimizer.lr=0.003', 'schedule.warmupSteps=10'],
        task: lraTask,
        dataRoot: path.join(tmp.dir, 'data'),
        resultsRoot: path.join(tmp.dir, 'results'),
        cacheDir: path.join(tmp.dir, 'cache'),
        progress: false,
        handleSigint: false,
        log: (m) => logs.push(m),
        onStep: (i) => losses.push(i.loss),
      });
      expect(logs.some((l) => /generating ListOps 8000\/500\/1000/.test(l))).toBe(true);
      expect(logs.some((l) => /lra\/listops: 8000 train \/ 500 valid \/ 500 test examples/.test(l))).toBe(true);
      expect(summary.status).toBe('completed');
      expect(summary.steps).toBe(80);
      expect(summary.test?.metrics).toHaveProperty('accuracy');
      expect(summary.test?.metrics.majorityRate).toBeGreaterThan(0.05);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      console.log(`ListOps toy: first losses ${losses.slice(0, 5).map((l) => l.toFixed(3))}, last ${losses.slice(-5).map((l) => l.toFixed(3))}; test ${JSON.stringify(summary.test?.metrics)}`);
      expect(mean(losses.slice(-10))).toBeLessThan(mean(losses.slice(0, 5)));
      // Already above always answering the most frequent training class.
      expect(summary.test!.metrics.accuracy!).toBeGreaterThan(summary.test!.metrics.majorityRate!);
    } finally {
      tmp.cleanup();
    }
    expect(tf.memory().numTensors).toBe(before);
  }, 600_000);
});
