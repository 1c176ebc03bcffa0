/**
 * Our UEA classifier against the original `FlowformerClassiregressor`: both golden cases
 * (fixtures/golden/models/uea) pass `check original` on every backend present; a perturbed
 * weight or a transposed mapping fails, naming the intermediate; an incomplete or misshapen
 * state dict fails naming the parameter; export then import gives back the same weights.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { checkOriginalFiles, exportMapped, importMapped, initBackend, moduleTensors, readOriginalCase, Rng, shutdownBackend, stateFromTensors, tf, type Task } from '@flowformer/core';
import { tensorflowForTests } from '@flowformer/core/backend';
import { parseSafetensors, serializeSafetensors } from '@flowformer/core/io';
import { goldenPath, tempDir } from '@flowformer/core/testing';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ueaTask } from '../src/task.ts';
import { ueaMapping, ueaOriginal } from '../src/original.ts';

const files = ['learnable', 'fixed'].map((c) => goldenPath(`models/uea/${c}.safetensors`));
const backends = ['wasm', 'cpu', ...(tensorflowForTests() ? (['tensorflow'] as const) : [])] as const;
const tmp = tempDir('uea-original-');

afterAll(async () => {
  tmp.cleanup();
  await shutdownBackend();
});

describe('uea: the original FlowformerClassiregressor', () => {
  for (const backend of backends) {
    it(`both golden cases pass on ${backend}`, async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      const results = checkOriginalFiles(files, [ueaTask]);
      for (const r of results) {
        expect(r.error, r.file).toBeUndefined();
        expect(r.check!.failures, r.file).toEqual([]);
        expect(r.check!.outputs[0]!.relErr).toBeLessThan(1e-5);
        expect(r.check!.worstGrad.relErr).toBeLessThan(1e-4);
        expect(r.check!.intermediates.map((i) => i.name)).toEqual(['embedding', 'encoder.attn_layers.0', 'encoder.attn_layers.1', 'encoder']);
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('a perturbed weight fails, and the first disagreeing intermediate locates it', async () => {
    await initBackend('cpu');
    const f = parseSafetensors(new Uint8Array(readFileSync(files[0]!)));
    const w = f.tensors.get('param.encoder.attn_layers.1.conv1.weight')!;
    (w.data as Float32Array)[5]! += 0.5;
    const bad = path.join(tmp.dir, 'perturbed.safetensors');
    writeFileSync(bad, serializeSafetensors(f.tensors, f.metadata));
    const [r] = checkOriginalFiles([bad], [ueaTask]);
    expect(r!.check!.pass).toBe(false);
    // layer 0 still agrees; layer 1 is the first that does not
    expect(r!.check!.firstBadIntermediate!.name).toBe('encoder.attn_layers.1');
  });

  it('a transposed mapping fails: square weights at the first intermediate after them, others at import naming the parameter', async () => {
    await initBackend('cpu');
    const transposed = (which: string): Task => ({
      ...ueaTask,
      original: {
        ...ueaOriginal,
        importWeights: (model, state) =>
          importMapped(model, ueaMapping(2, 'learnable').map((m) => (m.ours === which ? { ...m, layout: 'same' as const } : m)), state),
      },
    });
    const [square] = checkOriginalFiles([files[0]!], [transposed('blocks.0.attn.value.kernel')]);
    expect(square!.check!.pass).toBe(false);
    expect(square!.check!.firstBadIntermediate!.name).toBe('encoder.attn_layers.0');
    const [oblong] = checkOriginalFiles([files[0]!], [transposed('inputProjection.kernel')]);
    expect(oblong!.error).toMatch(/original parameter 'project_inp\.weight' \[32,3\] becomes \[32,3\] under layout 'same', but ours 'inputProjection\.kernel' is \[3,32\]/);
  });

  it('import checks completeness both ways and names the parameter', async () => {
    await initBackend('cpu');
    const c = readOriginalCase(files[0]!);
    const model = ueaOriginal.buildFromMeta(c.meta, new Rng(0));
    try {
      const state = stateFromTensors(c.tensors);
      const missing = new Map(state);
      missing.delete('encoder.norm.bias');
      expect(() => ueaOriginal.importWeights(model, missing)).toThrow(/original parameter 'encoder\.norm\.bias' \(for our 'norm\.bias'\) is missing/);
      const extra = new Map(state);
      extra.set('encoder.extra.weight', { shape: [1], data: new Float32Array(1) });
      expect(() => ueaOriginal.importWeights(model, extra)).toThrow(/original parameter 'encoder\.extra\.weight' is not used by the mapping/);
      const twice = ueaMapping(2, 'learnable').map((m) => (m.ours === 'norm.bias' ? { ...m, theirs: 'encoder.attn_layers.1.norm2.bias' } : m));
      expect(() => importMapped(model, twice, state)).toThrow(/'encoder\.attn_layers\.1\.norm2\.bias': row 0 is used 2 times/);
      const short = ueaMapping(2, 'learnable').filter((m) => m.ours !== 'head.bias');
      expect(() => importMapped(model, short, state)).toThrow(/our parameter 'head\.bias' has no original parameter/);
      const summary = ueaOriginal.importWeights(model, state);
      expect(summary).toEqual({ filled: 39, used: 39, unused: {} });
    } finally {
      model.dispose();
    }
  });

  it('export gives the original names, layouts and values back (pos_enc.pe as [max_len, 1, d_model])', async () => {
    await initBackend('cpu');
    const c = readOriginalCase(files[0]!);
    const model = ueaOriginal.buildFromMeta(c.meta, new Rng(0));
    try {
      const state = stateFromTensors(c.tensors);
      ueaOriginal.importWeights(model, state);
      const out = ueaOriginal.exportWeights(model);
      expect([...out.keys()].sort()).toEqual([...state.keys()].sort());
      for (const [k, v] of state) {
        expect(out.get(k)!.shape, k).toEqual(v.shape);
        expect(Array.from(out.get(k)!.data), k).toEqual(Array.from(v.data));
      }
      // and the generic path with our names agrees
      expect(exportMapped(ueaMapping(2, 'learnable'), moduleTensors(model), { 'pos_enc.pe': [24, 1, 32] }).get('pos_enc.pe')!.shape).toEqual([24, 1, 32]);
    } finally {
      model.dispose();
    }
  });
});
