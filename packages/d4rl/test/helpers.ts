import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { D4rlData } from '../src/data/hdf5.ts';

export const tmp = (prefix = 'd4rl-test-') => mkdtempSync(join(tmpdir(), prefix));

/**
 * A small dataset in the D4RL layout: obs[i] = [i, 10 i], act[i] = [i / 100],
 * reward[i] = i + 1, episodes given by their lengths and how each ends.
 */
export function toyData(episodes: { length: number; end: 'terminal' | 'timeout' | 'none' }[]): D4rlData {
  const n = episodes.reduce((a, e) => a + e.length, 0);
  const d: D4rlData = {
    size: n,
    obsDim: 2,
    actDim: 1,
    observations: new Float32Array(n * 2),
    actions: new Float32Array(n),
    rewards: new Float32Array(n),
    terminals: new Uint8Array(n),
    timeouts: new Uint8Array(n),
    nextObservations: new Float32Array(n * 2),
    infos: { qpos: { shape: [n, 3], data: new Float64Array(n * 3).map((_, j) => j * 0.5) } },
  };
  for (let i = 0; i < n; i++) {
    d.observations[2 * i] = i;
    d.observations[2 * i + 1] = 10 * i;
    d.nextObservations![2 * i] = i + 1;
    d.nextObservations![2 * i + 1] = 10 * (i + 1);
    d.actions[i] = i / 100;
    d.rewards[i] = i + 1;
  }
  let at = 0;
  for (const e of episodes) {
    at += e.length;
    if (e.end === 'terminal') d.terminals[at - 1] = 1;
    if (e.end === 'timeout') d.timeouts![at - 1] = 1;
  }
  return d;
}
