/**
 * `flowformer data generate --task d4rl`: records a dataset in the D4RL HDF5 layout by rolling
 * out a scripted policy in one of the environments, so the whole pipeline (reader, windows,
 * training, evaluation) runs where no D4RL file can be downloaded.
 *
 * Per step it stores what D4RL stores: observations (before the step), actions, rewards,
 * next_observations, terminals (the env terminated: fell), timeouts (the 1000-step limit),
 * infos/qpos and infos/qvel (the simulator state before the step). Exactly `steps` rows are
 * written; an episode cut by the step budget has no end flag, and the loader drops it, as the
 * paper's preprocessing drops an unfinished tail.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Rng } from '@flowformer/core';
import { writeD4rlFile, type D4rlData } from './data/hdf5.ts';
import { makeEnv, type EnvName } from './envs/locomotion.ts';
import { makePolicy, type PolicyName } from './envs/policies.ts';

export interface GenerateArgs {
  env: EnvName;
  policy: PolicyName;
  /** Number of rows (environment steps) to record. */
  steps: number;
  seed: number;
  /** Output file, conventionally `<dataRoot>/d4rl/<env>-<dataset>-v2.hdf5`. */
  out: string;
  /** Std of Gaussian noise added to the policy's actions (clipped to [-1, 1]). Default 0. */
  actionNoise?: number;
  log?: (msg: string) => void;
}

export interface GenerateResult {
  path: string;
  steps: number;
  /** Returns of the completed episodes. */
  episodeReturns: number[];
  episodeLengths: number[];
}

export async function generateDataset(args: GenerateArgs): Promise<GenerateResult> {
  if (!Number.isInteger(args.steps) || args.steps <= 0) throw new Error(`generateDataset: steps must be a positive integer (got ${args.steps})`);
  const env = await makeEnv(args.env);
  try {
    const rng = new Rng(args.seed);
    const policy = makePolicy(args.policy, env, args.actionNoise ?? 0);
    const n = args.steps;
    const S = env.obsDim;
    const A = env.actDim;
    const nq = env.model.nq;
    const nv = env.model.nv;
    const d: D4rlData = {
      size: n,
      obsDim: S,
      actDim: A,
      observations: new Float32Array(n * S),
      actions: new Float32Array(n * A),
      rewards: new Float32Array(n),
      terminals: new Uint8Array(n),
      timeouts: new Uint8Array(n),
      nextObservations: new Float32Array(n * S),
      infos: { qpos: { shape: [n, nq], data: new Float64Array(n * nq) }, qvel: { shape: [n, nv], data: new Float64Array(n * nv) } },
    };
    const episodeReturns: number[] = [];
    const episodeLengths: number[] = [];
    let obs = env.reset(rng);
    let t = 0;
    let ret = 0;
    for (let i = 0; i < n; i++) {
      d.infos.qpos!.data.set(env.qpos, i * nq);
      d.infos.qvel!.data.set(env.qvel, i * nv);
      const action = policy(obs, t, rng);
      const r = env.step(action);
      d.observations.set(obs, i * S);
      d.actions.set(action, i * A);
      d.rewards[i] = r.reward;
      d.nextObservations!.set(r.observation, i * S);
      d.terminals[i] = r.terminated ? 1 : 0;
      d.timeouts![i] = r.truncated ? 1 : 0;
      ret += r.reward;
      t++;
      if (r.terminated || r.truncated) {
        episodeReturns.push(ret);
        episodeLengths.push(t);
        args.log?.(`episode ${episodeReturns.length}: return ${ret.toFixed(1)}, ${t} steps${r.terminated ? ' (fell)' : ''}`);
        obs = env.reset(rng);
        t = 0;
        ret = 0;
      } else {
        obs = r.observation;
      }
    }
    mkdirSync(dirname(args.out), { recursive: true });
    await writeD4rlFile(args.out, d, {
      generator: 'flowformer-ts generateDataset',
      env: args.env,
      policy: args.policy,
      seed: args.seed,
      action_noise: args.actionNoise ?? 0,
    });
    return { path: args.out, steps: n, episodeReturns, episodeLengths };
  } finally {
    env.dispose();
  }
}
