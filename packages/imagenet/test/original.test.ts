/**
 * Our four-stage Flowformer against the original's (Flowformer_CV/flowformer.py): the golden
 * case passes `check original` on every backend present, with the vision code's extra +1e-6
 * (`model.flowOuterEps`) and its clamp.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { checkOriginalFiles, initBackend, shutdownBackend, tf } from '@flowformer/core';
import { tensorflowForTests } from '@flowformer/core/backend';
import { goldenPath } from '@flowformer/core/testing';
import { imagenetTask } from '../src/task.ts';
import { imagenetMapping } from '../src/original.ts';

const file = goldenPath('models/imagenet/flowformer.safetensors');
const backends = ['wasm', 'cpu', ...(tensorflowForTests() ? (['tensorflow'] as const) : [])] as const;

afterAll(async () => {
  await shutdownBackend();
});

describe('imagenet: the original Flowformer (Flowformer_CV)', () => {
  for (const backend of backends) {
    it(`the golden case passes on ${backend}`, async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      const [r] = checkOriginalFiles([file], [imagenetTask]);
      expect(r!.error).toBeUndefined();
      expect(r!.check!.failures).toEqual([]);
      expect(r!.check!.intermediates.map((i) => i.name)).toEqual([
        'patch_embed.0', 'blocks.0', 'patch_embed.1', 'blocks.1', 'patch_embed.2', 'blocks.2', 'patch_embed.3', 'blocks.3', 'head_input',
      ]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('the fused qkv is split by rows into query, key and value', () => {
    const m = imagenetMapping([24], [1]).filter((x) => x.theirs === 'blocks.0.0.attn.qkv.weight');
    expect(m.map((x) => [x.ours, x.rows])).toEqual([
      ['stage0.0.attn.query.kernel', [0, 24]],
      ['stage0.0.attn.key.kernel', [24, 48]],
      ['stage0.0.attn.value.kernel', [48, 72]],
    ]);
  });
});
