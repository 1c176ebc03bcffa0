/**
 * Our Decision Transformer against the original's (Flowformer_RL): both golden cases pass
 * `check original` on every backend present, `leftpad` included, because ours, like the
 * original, never passes the attention mask to the attention.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { checkOriginalFiles, initBackend, readOriginalCase, Rng, shutdownBackend, stateFromTensors, tf } from '@flowformer/core';
import { tensorflowForTests } from '@flowformer/core/backend';
import { goldenPath } from '@flowformer/core/testing';
import { d4rlTask } from '../src/task.ts';
import { d4rlOriginal } from '../src/original.ts';
import { DecisionTransformer } from '../src/model.ts';

const files = ['rightpad', 'leftpad'].map((c) => goldenPath(`models/d4rl/${c}.safetensors`));
const backends = ['wasm', 'cpu', ...(tensorflowForTests() ? (['tensorflow'] as const) : [])] as const;

afterAll(async () => {
  await shutdownBackend();
});

describe('d4rl: the original DecisionTransformer', () => {
  for (const backend of backends) {
    it(`rightpad and leftpad pass on ${backend}`, async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      for (const r of checkOriginalFiles(files, [d4rlTask])) {
        expect(r.error, r.file).toBeUndefined();
        expect(r.check!.failures, r.file).toEqual([]);
        expect(r.check!.outputs.map((o) => o.name).sort()).toEqual(['action_preds', 'return_preds', 'state_preds']);
        // wte and the state/return heads do not reach the loss: zero in the original and in ours
        expect(r.check!.worstZeroGrad!.maxAbs).toBe(0);
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('without model.stateReturnHeads the heads no loss reads are declared unused, and the actions are the same', async () => {
    await initBackend('cpu');
    const c = readOriginalCase(files[1]!);
    const withHeads = d4rlOriginal.buildFromMeta(c.meta, new Rng(0)) as DecisionTransformer;
    const cfg = d4rlOriginal.configFromMeta(c.meta);
    const { name: _n, stateReturnHeads: _h, ...m } = cfg.model as Record<string, any>;
    const without = new DecisionTransformer(new Rng(0), { ...m, stateDim: 11, actDim: 3, attention: cfg.attention as { type: string } } as never);
    try {
      const state = stateFromTensors(c.tensors);
      d4rlOriginal.importWeights(withHeads, state);
      const summary = d4rlOriginal.importWeights(without, state);
      expect(Object.keys(summary.unused).sort()).toEqual(['predict_return.bias', 'predict_return.weight', 'predict_state.bias', 'predict_state.weight', 'transformer.wte.weight']);
      const run = (dt: DecisionTransformer) =>
        tf.tidy(() => {
          const inp = (n: string) => tf.tensor(Array.from(c.tensors.get(`input.${n}`)!.data as Float32Array), c.tensors.get(`input.${n}`)!.shape);
          const ts = tf.tensor(Array.from(c.tensors.get('input.timesteps')!.data as BigInt64Array, Number), [2, 5], 'int32');
          return Array.from(dt.forward(inp('states'), inp('actions'), inp('returns_to_go'), ts, { training: false }).dataSync());
        });
      expect(run(without)).toEqual(run(withHeads));
    } finally {
      withHeads.dispose();
      without.dispose();
    }
  });
});
