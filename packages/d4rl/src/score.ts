/**
 * D4RL's normalised score: 100 * (return - random) / (expert - random), with the reference
 * returns of `d4rl.infos.REF_MIN_SCORE` / `REF_MAX_SCORE` for the v2 locomotion datasets
 * (the same for every dataset of one environment). The paper reports this x 100; the
 * original trainer logs the unscaled fraction.
 */
import type { EnvName } from './envs/locomotion.ts';

export const REF_SCORES: Record<EnvName, { min: number; max: number }> = {
  halfcheetah: { min: -280.178953, max: 12135.0 },
  hopper: { min: -20.272305, max: 3234.3 },
  walker2d: { min: 1.629008, max: 4592.3 },
};

export function normalizedScore(env: EnvName, episodeReturn: number): number {
  const r = REF_SCORES[env];
  if (!r) throw new Error(`no D4RL reference scores for '${env}': expected one of ${Object.keys(REF_SCORES).join(', ')}`);
  return (100 * (episodeReturn - r.min)) / (r.max - r.min);
}

/** Mean and population standard deviation (numpy's np.std), as the paper's tables report over seeds. */
export function meanStd(xs: number[]): { mean: number; std: number } {
  if (xs.length === 0) return { mean: NaN, std: NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, std: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) };
}
