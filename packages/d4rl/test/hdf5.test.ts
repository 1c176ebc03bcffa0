import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readD4rlFile, writeD4rlFile, loadH5 } from '../src/data/hdf5.ts';
import { splitTrajectories } from '../src/data/trajectories.ts';
import { tmp, toyData } from './helpers.ts';

describe('D4RL HDF5 reader', () => {
  it('round-trips every dataset of the D4RL layout', async () => {
    const dir = tmp();
    const d = toyData([{ length: 3, end: 'terminal' }, { length: 4, end: 'timeout' }]);
    const p = join(dir, 'hopper-medium-v2.hdf5');
    await writeD4rlFile(p, d, { algorithm: 'test' });
    const r = await readD4rlFile(p);
    expect(r.size).toBe(7);
    expect([r.obsDim, r.actDim]).toEqual([2, 1]);
    expect(Array.from(r.observations)).toEqual(Array.from(d.observations));
    expect(Array.from(r.actions)).toEqual(Array.from(d.actions));
    expect(Array.from(r.rewards)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(r.terminals)).toEqual([0, 0, 1, 0, 0, 0, 0]);
    expect(Array.from(r.timeouts!)).toEqual([0, 0, 0, 0, 0, 0, 1]);
    expect(Array.from(r.nextObservations!)).toEqual(Array.from(d.nextObservations!));
    expect(r.infos.qpos!.shape).toEqual([7, 3]);
    expect(r.infos.qpos!.data[5]).toBe(2.5);
    const lean = await readD4rlFile(p, { nextObservations: false, infos: false });
    expect([lean.nextObservations, lean.infos]).toEqual([null, {}]);
    expect(Array.from(lean.rewards)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('reads [N, 1] rewards/terminals, int8 and int64 flags, and files without optional datasets', async () => {
    const dir = tmp();
    const p = join(dir, 'x.hdf5');
    const h5 = await loadH5();
    const f = new h5.File(p, 'w');
    f.create_dataset({ name: 'observations', data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] });
    f.create_dataset({ name: 'actions', data: new Float32Array([0.5, -0.5]), shape: [2, 1] });
    f.create_dataset({ name: 'rewards', data: new Float32Array([1.5, 2.5]), shape: [2, 1] });
    f.create_dataset({ name: 'terminals', data: new Int8Array([0, 1]), shape: [2, 1] });
    f.create_dataset({ name: 'timeouts', data: new BigInt64Array([1n, 0n]) });
    f.close();
    const r = await readD4rlFile(p);
    expect(Array.from(r.rewards)).toEqual([1.5, 2.5]);
    expect(Array.from(r.terminals)).toEqual([0, 1]);
    expect(Array.from(r.timeouts!)).toEqual([1, 0]); // int64 flags
    expect(r.nextObservations).toBeNull();
    expect(r.infos).toEqual({});
  });

  it('names the file and the dataset when one is missing or mis-shaped', async () => {
    const dir = tmp();
    const h5 = await loadH5();
    const p1 = join(dir, 'missing.hdf5');
    let f = new h5.File(p1, 'w');
    f.create_dataset({ name: 'observations', data: new Float32Array([1, 2]), shape: [1, 2] });
    f.create_dataset({ name: 'actions', data: new Float32Array([1]), shape: [1, 1] });
    f.create_dataset({ name: 'rewards', data: new Float32Array([1]) });
    f.close();
    await expect(readD4rlFile(p1)).rejects.toThrow(/missing\.hdf5: dataset 'terminals': is missing/);
    const p2 = join(dir, 'badshape.hdf5');
    f = new h5.File(p2, 'w');
    f.create_dataset({ name: 'observations', data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] });
    f.create_dataset({ name: 'actions', data: new Float32Array([1, 2, 3]), shape: [3, 1] });
    f.close();
    await expect(readD4rlFile(p2)).rejects.toThrow(/badshape\.hdf5: dataset 'actions': has shape \[3,1\]/);
  });

  it('reports a truncated file (interrupted download) with both sizes, and a non-HDF5 file', async () => {
    const dir = tmp();
    const d = toyData([{ length: 50, end: 'timeout' }]);
    const full = join(dir, 'full.hdf5');
    await writeD4rlFile(full, d);
    const bytes = readFileSync(full);
    const cut = join(dir, 'walker2d-medium-v2.hdf5');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(readD4rlFile(cut)).rejects.toThrow(new RegExp(`walker2d-medium-v2\\.hdf5: is truncated: it has ${Math.floor(bytes.length / 2)} bytes but its HDF5 superblock records ${bytes.length}`));
    const junk = join(dir, 'junk.hdf5');
    writeFileSync(junk, '<html>404 not found</html>');
    await expect(readD4rlFile(junk)).rejects.toThrow(/junk\.hdf5: is not an HDF5 file/);
    await expect(readD4rlFile(join(dir, 'nope.hdf5'))).rejects.toThrow(/nope\.hdf5: no such file/);
  });
});

describe('trajectory split (download_d4rl_datasets.py)', () => {
  it('ends trajectories at terminals or timeouts and drops the unfinished tail', () => {
    const d = toyData([{ length: 3, end: 'terminal' }, { length: 4, end: 'timeout' }, { length: 2, end: 'none' }]);
    const { trajectories, droppedSteps } = splitTrajectories(d);
    expect(trajectories.map((t) => [t.start, t.end, t.terminated])).toEqual([[0, 3, true], [3, 7, false]]);
    expect(trajectories[0]!.return).toBe(1 + 2 + 3);
    expect(trajectories[1]!.return).toBe(4 + 5 + 6 + 7);
    expect(droppedSteps).toBe(2);
  });

  it('without timeouts, cuts every maxEpisodeSteps with the original step counter (first episode N steps, later ones N - 1)', () => {
    const d = toyData([{ length: 12, end: 'none' }]);
    d.timeouts = null;
    const { trajectories, droppedSteps } = splitTrajectories(d, 5);
    expect(trajectories.map((t) => t.length)).toEqual([5, 4]);
    expect(droppedSteps).toBe(3);
  });
});
