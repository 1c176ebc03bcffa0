import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { checkpointExists, disposeCheckpoint, loadCheckpoint, readCheckpointInfo, saveCheckpoint } from '../src/train/checkpoint.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowformer-ckpt-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function sample(step: number) {
  return {
    step,
    weights: { 'fc.kernel': tf.tensor2d([[1, 2, 3], [4, 5, step]]), 'fc.bias': tf.tensor1d([0.5, -0.25, 1e-7]), 'pos.index': tf.tensor1d([1, 2, 3], 'int32') },
    optimizer: { step: step * 10, tensors: { 'fc.kernel.m': tf.fill([2, 3], 0.125), 'fc.kernel.v': tf.fill([2, 3], 3.5e-9) } },
    meta: { epoch: 2, rng: [1, 2, 3, 4], best: { value: 0.5 } },
  };
}

describe('checkpoints', () => {
  it('round-trip weights, optimiser state, step and meta exactly', () => {
    const dir = path.join(tmp, 'a', 'last');
    const s = sample(3);
    saveCheckpoint(dir, s);
    const c = loadCheckpoint(dir);
    expect(c.step).toBe(3);
    expect(c.meta).toEqual(s.meta);
    expect(c.optimizer.step).toBe(30);
    for (const [k, t] of Object.entries(s.weights)) {
      expect(c.weights[k]!.dtype).toBe(t.dtype);
      expect(c.weights[k]!.shape).toEqual(t.shape);
      expect(Array.from(c.weights[k]!.dataSync())).toEqual(Array.from(t.dataSync()));
    }
    expect(Array.from(c.optimizer.tensors['fc.kernel.v']!.dataSync())).toEqual(Array.from(s.optimizer.tensors['fc.kernel.v'].dataSync()));
    disposeCheckpoint(c);
    disposeCheckpoint(s);
  });

  it('overwrites atomically and leaves no temporary folders', () => {
    const dir = path.join(tmp, 'b', 'last');
    for (const step of [1, 2, 3]) {
      const s = sample(step);
      saveCheckpoint(dir, s);
      disposeCheckpoint(s);
    }
    expect(readCheckpointInfo(dir).step).toBe(3);
    expect(fs.readdirSync(path.dirname(dir))).toEqual(['last']);
  });

  it('a crash mid-write leaves the previous checkpoint readable', () => {
    const dir = path.join(tmp, 'c', 'last');
    const s = sample(1);
    saveCheckpoint(dir, s);
    disposeCheckpoint(s);
    // Crash while writing the temporary folder: the half-written one is ignored.
    const half = path.join(tmp, 'c', `.last.tmp-999-1`);
    fs.mkdirSync(half);
    fs.writeFileSync(path.join(half, 'tensors.bin'), 'partial');
    expect(readCheckpointInfo(dir).step).toBe(1);
    // Crash between "old aside" and "new in place": the old one is found.
    fs.renameSync(dir, path.join(tmp, 'c', `.last.old-999-2`));
    expect(checkpointExists(dir)).toBe(true);
    const c = loadCheckpoint(dir);
    expect(c.step).toBe(1);
    disposeCheckpoint(c);
    // The next save puts a complete checkpoint in place again.
    const s2 = sample(2);
    saveCheckpoint(dir, s2);
    disposeCheckpoint(s2);
    expect(readCheckpointInfo(dir).step).toBe(2);
  });

  it('corruption is detected and named', () => {
    const dir = path.join(tmp, 'd', 'best');
    const s = sample(1);
    saveCheckpoint(dir, s);
    disposeCheckpoint(s);
    const bin = path.join(dir, 'tensors.bin');
    const bytes = fs.readFileSync(bin);
    bytes[5] = bytes[5]! ^ 0xff;
    fs.writeFileSync(bin, bytes);
    expect(() => loadCheckpoint(dir)).toThrow(/tensors\.bin: corrupt checkpoint/);
    expect(() => loadCheckpoint(path.join(tmp, 'nowhere'))).toThrow(/no checkpoint at .*nowhere/);
  });
});
