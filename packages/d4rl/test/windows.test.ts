import { describe, expect, it } from 'vitest';
import { Rng, tf } from '@flowformer/core';
import { D4rlWindows, sampleWindows } from '../src/data/windows.ts';
import { splitTrajectories } from '../src/data/trajectories.ts';
import { toyData } from './helpers.ts';

// rows i = 0..6: obs [i, 10 i], action i / 100, reward i + 1; trajectories [0, 3) (terminal), [3, 7) (timeout)
const data = toyData([{ length: 3, end: 'terminal' }, { length: 4, end: 'timeout' }]);
const { trajectories } = splitTrajectories(data);
const win = new D4rlWindows(data, trajectories, { contextLength: 3, maxEpisodeLength: 3, returnScale: 1000 });
const close = (a: ArrayLike<number>, b: number[], tol = 1e-5) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < b.length; i++) expect(a[i]).toBeCloseTo(b[i]!, -Math.log10(tol));
};

describe('D4RL windows (context_dataset.py)', () => {
  it('one window per start index; state mean and population std + 1e-6 over kept rows', () => {
    expect(win.size).toBe(7);
    close(win.stateMean, [3, 30]);
    // numpy: float32 std + 1e-6 stays float32
    expect(Array.from(win.stateStd)).toEqual([Math.fround(2 + 1e-6), Math.fround(20 + 1e-6)]);
    expect(win.stats).toMatchObject({ numTrajectories: 2, numTimesteps: 7, avgReturn: (6 + 22) / 2, maxReturn: 22, minReturn: 6 });
  });

  it('a window cut by its trajectory end: right padding, the extra return-to-go is 0', () => {
    const w = win.window(1); // trajectory 0, si = 1, two real steps
    close(w.states, [-1, -1, -0.5, -0.5, -1.5, -1.5]); // padded state 0 normalised: -mean / std
    close(w.actions, [0.01, 0.02, -10]);
    close(w.rewards, [2, 3, 0]);
    expect(Array.from(w.dones)).toEqual([0, 1, 2]);
    close(w.returnsToGo, [5 / 1000, 3 / 1000, 0, 0], 1e-7);
    expect(Array.from(w.timesteps)).toEqual([1, 2, 0]);
    expect(Array.from(w.mask)).toEqual([1, 1, 0]);
  });

  it('a full window keeps the K+1-th return-to-go; timesteps are clipped to maxEpisodeLength - 1', () => {
    let w = win.window(3); // trajectory 1, si = 0
    close(w.returnsToGo, [22 / 1000, 18 / 1000, 13 / 1000, 7 / 1000], 1e-7);
    expect(Array.from(w.timesteps)).toEqual([0, 1, 2]);
    w = win.window(4); // si = 1: timesteps 1, 2, 3 -> 3 clipped to 2
    expect(Array.from(w.timesteps)).toEqual([1, 2, 2]);
    close(w.returnsToGo, [18 / 1000, 13 / 1000, 7 / 1000, 0], 1e-7);
    expect(Array.from(w.dones)).toEqual([0, 0, 0]);
    expect(Array.from(w.mask)).toEqual([1, 1, 1]);
  });

  it("'delayed' mode moves each return onto the trajectory's last step", () => {
    const dw = new D4rlWindows(data, trajectories, { contextLength: 3, mode: 'delayed' });
    close(dw.window(0).rewards, [0, 0, 6]);
    close(dw.window(0).returnsToGo, [6 / 1000, 6 / 1000, 6 / 1000, 0], 1e-7);
  });

  it('default K = 20 windows on a 25-step trajectory', () => {
    const d = toyData([{ length: 25, end: 'timeout' }]);
    const w20 = new D4rlWindows(d, splitTrajectories(d).trajectories);
    const w = w20.window(10); // 15 real steps, 5 padded
    expect(w.mask.reduce((a, b) => a + b, 0)).toBe(15);
    expect(Array.from(w.timesteps.slice(13, 17))).toEqual([23, 24, 0, 0]);
    // returns-to-go of rows 10..24 then 0: sum_{j=i}^{24} (j + 1)
    const suffix = (i: number) => ((25 * 26) / 2 - (i * (i + 1)) / 2) / 1000;
    expect(w.returnsToGo[0]).toBeCloseTo(suffix(10), 6);
    expect(w.returnsToGo[14]).toBeCloseTo(suffix(24), 6);
    expect(w.returnsToGo[15]).toBe(0);
    expect(w.returnsToGo.length).toBe(21);
  });

  it('batches hold the same numbers as windows, with the documented shapes, and leak nothing', () => {
    const before = tf.memory().numTensors;
    const b = win.batch(new Int32Array([1, 4]));
    expect(b.states.shape).toEqual([2, 3, 2]);
    expect(b.actions.shape).toEqual([2, 3, 1]);
    expect(b.rewards.shape).toEqual([2, 3, 1]);
    expect(b.returnsToGo.shape).toEqual([2, 4, 1]);
    expect(b.timesteps.dtype).toBe('int32');
    expect(b.dones.dtype).toBe('int32');
    close(b.states.dataSync().slice(6), Array.from(win.window(4).states));
    expect(Array.from(b.mask.dataSync())).toEqual([1, 1, 0, 1, 1, 1]);
    for (const t of b.tensors) t.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('sampling is uniform with replacement over windows and seeded', () => {
    const a = sampleWindows(new Rng(7), 7, 7000);
    const b = sampleWindows(new Rng(7), 7, 7000);
    expect(Array.from(a)).toEqual(Array.from(b));
    const counts = new Array(7).fill(0);
    for (const i of a) counts[i]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(120);
  });
});
