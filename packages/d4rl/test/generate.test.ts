import { describe, expect, it } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer } from '@flowformer/core/io';
import { generateDataset } from '../src/generate.ts';
import { readD4rlFile } from '../src/data/hdf5.ts';
import { splitTrajectories } from '../src/data/trajectories.ts';
import { D4rlWindows } from '../src/data/windows.ts';
import { d4rlUrl, d4rlPath, downloadD4rl } from '../src/download.ts';
import { normalizedScore, meanStd } from '../src/score.ts';
import { makePolicy } from '../src/envs/policies.ts';
import { makeEnv } from '../src/envs/locomotion.ts';
import { Rng } from '@flowformer/core';
import { tmp } from './helpers.ts';
import { d4rlTask } from '../src/task.ts';

describe('generateDataset', () => {
  it('records hopper random rollouts in the D4RL layout; the reader splits them at the recorded terminals', async () => {
    const dir = tmp();
    const out = join(dir, 'd4rl', 'hopper-random-v2.hdf5');
    const res = await generateDataset({ env: 'hopper', policy: 'random', steps: 300, seed: 1, out });
    const d = await readD4rlFile(out);
    expect([d.size, d.obsDim, d.actDim]).toEqual([300, 11, 3]);
    expect(d.infos.qpos!.shape).toEqual([300, 6]);
    // next_observations[i] = observations[i + 1] inside an episode
    const { trajectories, droppedSteps } = splitTrajectories(d);
    expect(trajectories.map((t) => t.length)).toEqual(res.episodeLengths);
    trajectories.forEach((t, k) => expect(t.return).toBeCloseTo(res.episodeReturns[k]!, 2));
    expect(droppedSteps).toBe(300 - res.episodeLengths.reduce((a, b) => a + b, 0));
    const t0 = trajectories[0]!;
    for (let j = 0; j < 11; j++) expect(d.nextObservations![j]).toBe(d.observations[11 + j]);
    expect(d.terminals[t0.end - 1]).toBe(1); // a random hopper falls well before 1000 steps
    expect(res.episodeLengths.every((l) => l < 1000)).toBe(true);
    expect(new D4rlWindows(d, trajectories).size).toBe(300 - droppedSteps);
  });

  it('the halfcheetah gait is competent: one full episode scores far above random', async () => {
    const dir = tmp();
    const gait = await generateDataset({ env: 'halfcheetah', policy: 'gait', steps: 1000, seed: 0, out: join(dir, 'g.hdf5') });
    const rand = await generateDataset({ env: 'halfcheetah', policy: 'random', steps: 1000, seed: 0, out: join(dir, 'r.hdf5') });
    expect(gait.episodeLengths).toEqual([1000]);
    const d = await readD4rlFile(join(dir, 'g.hdf5'));
    expect(d.timeouts![999]).toBe(1);
    expect(gait.episodeReturns[0]).toBeGreaterThan(900);
    expect(rand.episodeReturns[0]).toBeLessThan(0);
    expect(normalizedScore('halfcheetah', gait.episodeReturns[0]!)).toBeGreaterThan(9);
  });
});

describe('task data', () => {
  it("training batches draw windows with replacement from the step's seeded stream (the original sampler); evaluation batches are not random", async () => {
    const dataRoot = tmp();
    await generateDataset({ env: 'hopper', policy: 'random', steps: 200, seed: 3, out: join(dataRoot, 'd4rl', 'hopper-random-v2.hdf5') });
    const config: any = { dataset: 'hopper-random', data: { contextLength: 4, returnScale: 1000, mode: 'normal', sampling: 'replacement' }, model: { maxEpisodeLength: 1000 }, rollout: { episodes: 3, finalEpisodes: 100 } };
    const data = await d4rlTask.load(config, { dataRoot, cacheDir: dataRoot, rng: new Rng(0), log: () => {} });
    expect(data.info).toMatchObject({ env: 'hopper', obsDim: 11, actDim: 3 });
    const idx = new Int32Array([0, 1, 2, 3, 4, 5, 6, 7]);
    const b1 = await data.train.batch(idx, { training: true, rng: new Rng(11) });
    const b2 = await data.train.batch(idx, { training: true, rng: new Rng(11) });
    const fixed = await data.train.batch(idx, { training: false, rng: new Rng(11) });
    expect(Array.from(b1.timesteps.dataSync())).toEqual(Array.from(b2.timesteps.dataSync()));
    expect(Array.from(b1.states.dataSync())).not.toEqual(Array.from(fixed.states.dataSync()));
    expect(Array.from(fixed.timesteps.dataSync()).slice(0, 4)).toEqual([0, 1, 2, 3]); // window 0 as asked
    for (const b of [b1, b2, fixed]) for (const t of b.tensors) t.dispose();
    expect(data.valid!.size).toBe(3);
    expect(data.test!.size).toBe(100); // rollout.finalEpisodes default
  });
});

describe('policies', () => {
  it("'mixed' picks the gait or random actions per episode (at t = 0), about half each; gait/mixed refuse other envs", async () => {
    const env = await makeEnv('halfcheetah');
    const gait0 = Array.from(makePolicy('gait', env)(new Float64Array(17), 0, new Rng(0)));
    const mixed = makePolicy('mixed', env);
    const rng = new Rng(4);
    let gaits = 0;
    for (let e = 0; e < 200; e++) {
      const a0 = Array.from(mixed(new Float64Array(17), 0, rng));
      const a1 = Array.from(mixed(new Float64Array(17), 1, rng));
      const isGait = a0.every((v, i) => v === gait0[i]);
      if (isGait) gaits++;
      else expect(a1.every((v) => v >= -1 && v <= 1)).toBe(true);
    }
    expect(gaits).toBeGreaterThan(70);
    expect(gaits).toBeLessThan(130);
    env.dispose();
    const hopper = await makeEnv('hopper');
    expect(() => makePolicy('gait', hopper)).toThrow(/halfcheetah gait; for hopper use 'random'/);
    hopper.dispose();
  });
});

describe('download and scores', () => {
  it('builds the published v2 URLs and the data-root path', () => {
    expect(d4rlUrl('hopper', 'medium-replay')).toBe('http://rail.eecs.berkeley.edu/datasets/offline_rl/gym_mujoco_v2/hopper_medium_replay-v2.hdf5');
    expect(d4rlUrl('halfcheetah', 'medium-expert')).toBe('http://rail.eecs.berkeley.edu/datasets/offline_rl/gym_mujoco_v2/halfcheetah_medium_expert-v2.hdf5');
    expect(d4rlPath('/data', 'walker2d', 'medium')).toBe('/data/d4rl/walker2d-medium-v2.hdf5');
    expect(() => d4rlUrl('ant' as never, 'medium')).toThrow(/unknown D4RL environment 'ant'/);
  });

  it('downloads from a (local) server into data/d4rl, resumes a dropped transfer, and rejects a file of the wrong environment', async () => {
    const src = tmp();
    await generateDataset({ env: 'hopper', policy: 'random', steps: 200, seed: 2, out: join(src, 'h.hdf5') });
    const body = new Uint8Array(readFileSync(join(src, 'h.hdf5')));
    const server = await startTestServer({ '/gym_mujoco_v2/hopper_medium_replay-v2.hdf5': body, '/gym_mujoco_v2/walker2d_medium-v2.hdf5': body }, { dropAfterBytes: Math.floor(body.length / 3), dropCount: 1 });
    try {
      const root = tmp();
      const res = await downloadD4rl({ env: 'hopper', dataset: 'medium-replay', dataRoot: root, baseUrl: `${server.url}/gym_mujoco_v2`, retryDelayMs: 10 });
      expect(res.path).toBe(join(root, 'd4rl', 'hopper-medium-replay-v2.hdf5'));
      expect(res.steps).toBe(200);
      expect(new Uint8Array(readFileSync(res.path))).toEqual(body);
      expect(server.requests.some((r) => r.range !== null)).toBe(true);
      await expect(downloadD4rl({ env: 'walker2d', dataset: 'medium', dataRoot: root, baseUrl: `${server.url}/gym_mujoco_v2`, retryDelayMs: 10 })).rejects.toThrow(/not 17 and 6 as walker2d has; it was deleted/);
      expect(existsSync(d4rlPath(root, 'walker2d', 'medium'))).toBe(false);
    } finally {
      await server.close();
    }
  });

  it("normalised score with D4RL's reference returns; mean +- population std", () => {
    expect(normalizedScore('hopper', -20.272305)).toBe(0);
    expect(normalizedScore('hopper', 3234.3)).toBeCloseTo(100, 10);
    expect(normalizedScore('halfcheetah', (12135.0 - 280.178953) / 2)).toBeCloseTo(50, 10);
    expect(normalizedScore('walker2d', 1.629008 + 0.25 * (4592.3 - 1.629008))).toBeCloseTo(25, 10);
    expect(meanStd([1, 3])).toEqual({ mean: 2, std: 1 });
  });
});
