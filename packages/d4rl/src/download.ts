/**
 * `flowformer data download --task d4rl --env hopper --dataset medium-replay`: fetches a D4RL
 * v2 file from its published location into `<dataRoot>/d4rl/<env>-<dataset>-v2.hdf5`
 * (resumable, atomic, with the core's download helper), then opens it to check that it is a
 * whole D4RL file for that environment. D4RL publishes no checksums, so that read is the check.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { download, type DownloadProgress } from '@flowformer/core/io';
import { readD4rlFile } from './data/hdf5.ts';
import { SPECS, type EnvName } from './envs/locomotion.ts';

/** Where D4RL (`d4rl/infos.py`) publishes the gym-mujoco v2 files. */
export const D4RL_BASE_URL = 'http://rail.eecs.berkeley.edu/datasets/offline_rl/gym_mujoco_v2';
export const D4RL_DATASETS = ['medium', 'medium-replay', 'medium-expert', 'expert', 'random'] as const;
export type D4rlDatasetName = (typeof D4RL_DATASETS)[number];
/** The paper's nine: 3 environments x these 3 datasets. */
export const PAPER_DATASETS: readonly D4rlDatasetName[] = ['medium', 'medium-replay', 'medium-expert'];

const OBS_ACT: Record<EnvName, [number, number]> = { hopper: [11, 3], halfcheetah: [17, 6], walker2d: [17, 6] };

/** `hopper`, `medium-replay` -> `.../gym_mujoco_v2/hopper_medium_replay-v2.hdf5`. */
export function d4rlUrl(env: EnvName, dataset: D4rlDatasetName, baseUrl = D4RL_BASE_URL): string {
  check(env, dataset);
  return `${baseUrl}/${env}_${dataset.replace(/-/g, '_')}-v2.hdf5`;
}

/** `<dataRoot>/d4rl/<env>-<dataset>-v2.hdf5` */
export function d4rlPath(dataRoot: string, env: string, dataset: string): string {
  return join(dataRoot, 'd4rl', `${env}-${dataset}-v2.hdf5`);
}

function check(env: string, dataset: string): void {
  if (!(env in SPECS)) throw new Error(`unknown D4RL environment '${env}': expected one of ${Object.keys(SPECS).join(', ')}`);
  if (!(D4RL_DATASETS as readonly string[]).includes(dataset)) throw new Error(`unknown D4RL dataset '${dataset}': expected one of ${D4RL_DATASETS.join(', ')}`);
}

export interface DownloadD4rlArgs {
  env: EnvName;
  dataset: D4rlDatasetName;
  dataRoot: string;
  /** Mirror to fetch from instead of D4RL's server (same file names). */
  baseUrl?: string;
  onProgress?: (p: DownloadProgress) => void;
  retries?: number;
  retryDelayMs?: number;
}

export async function downloadD4rl(args: DownloadD4rlArgs): Promise<{ path: string; bytes: number; cached: boolean; steps: number }> {
  const url = d4rlUrl(args.env, args.dataset, args.baseUrl);
  const dest = d4rlPath(args.dataRoot, args.env, args.dataset);
  const res = await download(url, dest, { onProgress: args.onProgress, retries: args.retries, retryDelayMs: args.retryDelayMs });
  let data;
  try {
    data = await readD4rlFile(dest);
  } catch (e) {
    rmSync(dest, { force: true });
    throw new Error(`downloaded ${url} but it is not a usable D4RL file, so it was deleted: ${(e as Error).message}`);
  }
  const [obsDim, actDim] = OBS_ACT[args.env];
  if (data.obsDim !== obsDim || data.actDim !== actDim) {
    rmSync(dest, { force: true });
    throw new Error(`downloaded ${url} has observations of ${data.obsDim} and actions of ${data.actDim} values, not ${obsDim} and ${actDim} as ${args.env} has; it was deleted`);
  }
  return { path: dest, bytes: res.bytes, cached: res.cached, steps: data.size };
}
