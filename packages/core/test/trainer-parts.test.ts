/**
 * The trainer's parts on their own: the run's random streams, the data order and its resume
 * position, the throughput window, the stop signals and the checkpoint policy. The whole loop
 * is tested in trainer.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { Rng } from '../src/rng.ts';
import { augmentationRng, batchSeed, runRandomness } from '../src/train/randomness.ts';
import { DataOrder, type DataOrderArgs } from '../src/train/data-order.ts';
import { Throughput } from '../src/train/throughput.ts';
import { StopSignals } from '../src/train/signals.ts';
import { CheckpointPolicy } from '../src/train/checkpoint-policy.ts';
import { improves } from '../src/train/evaluation.ts';
import { readCheckpointInfo } from '../src/train/checkpoint.ts';
import { makeOptimizer } from '../src/train/optim.ts';
import { OptimizerSchema } from '../src/config/schema.ts';
import { RunRecord } from '../src/train/run-record.ts';
import type { CheckpointMeta } from '../src/train/resume.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowformer-trainer-parts-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('runRandomness', () => {
  it('forks the root in the recorded order: weights, data order, dropout, task data, then the evaluation and augmentation seeds', () => {
    const r = runRandomness(1234);
    const root = new Rng(1234);
    const expected = [root.fork(), root.fork(), root.fork(), root.fork()].map((g) => g.getState());
    expect([r.init, r.data, r.dropout, r.task].map((g) => g.getState())).toEqual(expected);
    expect([r.evalSeed, r.augSeed]).toEqual([root.nextUint32(), root.nextUint32()]);
    // Streams are independent objects: drawing from one leaves the others as they were.
    r.dropout.nextUint32();
    expect(runRandomness(1234).data.getState()).toEqual(r.data.getState());
  });

  it('derives each micro-batch augmentation Rng from (seed, update, micro-batch) alone', () => {
    const r = runRandomness(5);
    expect(augmentationRng(r, 3, 1).getState()).toEqual(new Rng(batchSeed(r.augSeed, 3, 1)).getState());
    const seeds = new Set([0, 1, 2].flatMap((step) => [0, 1].map((k) => batchSeed(r.augSeed, step, k))));
    expect(seeds.size).toBe(6);
  });
});

describe('DataOrder', () => {
  const args = (extra: Partial<DataOrderArgs> = {}): DataOrderArgs => ({ size: 23, batchSize: 4, gradAccum: 2, dropLast: false, shuffle: true, rng: new Rng(9), ...extra });

  it('visits every example once per epoch, in updates of gradAccum micro-batches (a short last one kept unless dropLast)', () => {
    const o = new DataOrder(args());
    expect(o.stepsPerEpoch).toBe(3); // 6 micro-batches of <= 4
    const seen: number[] = [];
    const sizes: number[][] = [];
    for (let u = 0; u < 3; u++) {
      const micro = o.update();
      sizes.push(micro.map((m) => m.length));
      for (const m of micro) seen.push(...m);
      o.advance();
    }
    expect(sizes).toEqual([[4, 4], [4, 4], [4, 3]]);
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    expect(o.epoch).toBe(1);
    const dropped = new DataOrder(args({ dropLast: true }));
    expect(dropped.stepsPerEpoch).toBe(2); // 5 full micro-batches, 2 full updates
    expect(() => new DataOrder(args({ size: 3, dropLast: true }))).toThrow(/training split has 3 examples, fewer than one update of 4 x 2/);
  });

  it('peekFirst(a), before advance, gives the first micro-batch nextFirst gives a advances later, within an epoch; null past its end', () => {
    for (const ahead of [1, 2]) {
      const o = new DataOrder(args({ size: 41, gradAccum: 1 })); // 11 updates per epoch
      const peeks: (number[] | null)[] = [];
      const firsts: number[][] = [];
      for (let u = 0; u < 14; u++) {
        o.update();
        peeks.push(o.peekFirst(ahead) && [...o.peekFirst(ahead)!]);
        const endOfEpoch = o.batchInEpoch + ahead >= o.stepsPerEpoch;
        o.advance();
        firsts.push([...o.nextFirst()!]);
        if (endOfEpoch) expect(peeks[u]).toBeNull();
      }
      for (let u = 0; u + ahead - 1 < firsts.length; u++) if (peeks[u]) expect(peeks[u]).toEqual(firsts[u + ahead - 1]);
    }
  });

  it('without shuffle keeps the file order', () => {
    const o = new DataOrder(args({ shuffle: false, gradAccum: 1 }));
    expect([...o.update()[0]!]).toEqual([0, 1, 2, 3]);
  });

  it('restored from a saved position, continues with the same updates, across an epoch boundary', () => {
    const a = new DataOrder(args());
    const b = new DataOrder(args({ rng: new Rng(9) }));
    const updates = (o: DataOrder, n: number) =>
      Array.from({ length: n }, () => {
        const u = o.update().map((m) => [...m]);
        o.advance();
        return u;
      });
    const all = updates(a, 8);
    updates(b, 2);
    const saved = JSON.parse(JSON.stringify(b.position())); // as a checkpoint's manifest holds it
    const c = new DataOrder(args({ rng: new Rng(777) }));
    c.restore(saved);
    expect(updates(c, 6)).toEqual(all.slice(2));
    expect(c.epoch).toBe(a.epoch);
  });
});

describe('Throughput', () => {
  it('means the window for a metrics line, starts afresh, and carries an unlogged window through a checkpoint', () => {
    const t = new Throughput();
    t.add(1, 0.5, 2, 10, 0);
    t.add(2, 0.5, 4, 10, 0);
    expect(t.windowLoss()).toBe(3);
    expect(t.flush()).toEqual({ loss: 3, examplesPerSec: 20 });
    expect(t.windowLoss()).toBeNull();
    t.add(3, 1, 1, 8, 64);
    expect(t.unit).toBe('tok/s');
    const resumed = new Throughput(JSON.parse(JSON.stringify(t.windowState())));
    t.add(4, 1, 3, 8, 64);
    resumed.add(4, 1, 3, 8, 64);
    expect(resumed.flush()).toEqual(t.flush());
  });

  it('the first update sets the moving averages, later ones move them by a tenth', () => {
    const t = new Throughput();
    t.add(1, 2, 1, 10, 0);
    expect([t.secondsPerStep, t.rate]).toEqual([2, 5]);
    t.add(2, 1, 1, 10, 0);
    expect(t.secondsPerStep).toBeCloseTo(1.9, 12);
    expect(t.rate).toBeCloseTo(5.5, 12);
  });
});

describe('StopSignals', () => {
  it('takes the first signal as the request, ignores a repeat, and removes its handlers', async () => {
    const said: string[] = [];
    const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    const s = new StopSignals({ log: (m) => said.push(m), graceMs: 200 });
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual([before[0]! + 1, before[1]! + 1]);
    expect(s.requested).toBe(false);
    process.kill(process.pid, 'SIGTERM');
    process.kill(process.pid, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 50));
    expect(process.listenerCount('SIGTERM')).toBe(before[1]! + 1); // kept a while: a repeat is the same request
    await new Promise((r) => setTimeout(r, 250));
    expect(s.signal).toBe('SIGTERM');
    expect(said).toEqual(['SIGTERM: finishing this update, saving ckpt/last, then stopping (send it again to kill)']);
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before);
    s.dispose(); // idempotent
  });
});

describe('CheckpointPolicy', () => {
  it('writes ckpt/best on an improvement and ckpt/last after every evaluation, every N updates, and on a stop', () => {
    const run = new RunRecord(path.join(tmp, 'run'));
    fs.mkdirSync(run.dir, { recursive: true });
    const w = tf.variable(tf.tensor1d([1, 2, 3]), true, 'parts_w');
    const params = [{ name: 'w', variable: w, decay: true, trainable: true }];
    const optimizer = makeOptimizer(OptimizerSchema.parse({ type: 'adamw', lr: 0.1 }), params);
    let metaCalls = 0;
    const policy = new CheckpointPolicy({ dir: (which) => run.ckpt(which), params, optimizer, every: 4, meta: () => ({ call: ++metaCalls }) as unknown as CheckpointMeta });
    expect(policy.lastGood()).toBe('no checkpoint was written before it');
    policy.afterUpdate(3);
    expect(fs.existsSync(run.ckpt('last'))).toBe(false);
    policy.afterUpdate(4);
    expect(readCheckpointInfo(run.ckpt('last'))).toEqual({ step: 4, meta: { call: 1 } });
    policy.afterEvaluation(5, true);
    expect([readCheckpointInfo(run.ckpt('best')).step, readCheckpointInfo(run.ckpt('last')).step]).toEqual([5, 5]);
    policy.afterEvaluation(6, false);
    expect([readCheckpointInfo(run.ckpt('best')).step, readCheckpointInfo(run.ckpt('last')).step]).toEqual([5, 6]);
    policy.onStop(7);
    expect(readCheckpointInfo(run.ckpt('last')).step).toBe(7);
    expect(policy.lastGood()).toBe('ckpt/last (update 7) is the last good checkpoint');
    optimizer.dispose();
    w.dispose();
  });

  it('an improvement is by the metric direction, and the first evaluation always is one', () => {
    const best = { value: 0.5, step: 1, epoch: 1, metrics: {} };
    expect(improves('max', 0.1, null)).toBe(true);
    expect([improves('max', 0.6, best), improves('max', 0.5, best), improves('min', 0.4, best), improves('min', 0.5, best)]).toEqual([true, false, true, false]);
  });
});
