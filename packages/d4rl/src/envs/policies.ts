/**
 * Scripted policies for recording datasets where no D4RL file can be had (no learned policy
 * is needed to exercise the pipeline end to end).
 *
 * - `random`: gym's `action_space.sample()`, uniform in [-1, 1] per actuator (D4RL's
 *   `*-random` datasets come from a randomly initialised network instead; this is the
 *   simplest stand-in).
 * - `gait` (halfcheetah): an open-loop gait, one sinusoid per joint at 1.648 Hz with
 *   amplitude 1.3 clipped to the control range. Its frequency and phases were found by a
 *   seeded random search over 220 one-episode rollouts in `HalfCheetah` here. Measured
 *   returns over 1000 steps, reset seeds 0-3: 918, 1134, 796, 909 (random policy, seeds 1-3:
 *   -79, -233, -499), i.e. a D4RL normalised score of about 9-11. Being open loop it is
 *   fragile: Gaussian action noise of std 0.05 already flips the cheetah in most episodes.
 * - `mixed` (halfcheetah): each episode is `gait` or `random` with probability 1/2, a dataset
 *   of good and bad trajectories like D4RL's medium-expert/replay mixtures, which is what
 *   return conditioning needs.
 *
 * Every policy may add Gaussian action noise (clipped to [-1, 1]).
 */
import type { Rng } from '@flowformer/core';
import type { Env } from './locomotion.ts';

export type PolicyName = 'random' | 'gait' | 'mixed';
export const POLICY_NAMES: readonly PolicyName[] = ['random', 'gait', 'mixed'];

/** Chooses an action from the observation and the step index within the episode. */
export type Policy = (observation: Float64Array, t: number, rng: Rng) => Float64Array;

const clip1 = (v: number) => Math.max(-1, Math.min(1, v));

const GAIT_HZ = 1.648;
const GAIT_AMPLITUDE = 1.3;
// bthigh, bshin, bfoot, fthigh, fshin, ffoot
const GAIT_PHASES = [6.641, 8.451, 4.413, 3.598, 1.434, 1.469];

export function makePolicy(name: PolicyName, env: Env, actionNoise = 0): Policy {
  const noisy = (a: Float64Array, rng: Rng) => {
    if (actionNoise > 0) for (let i = 0; i < a.length; i++) a[i] = clip1(a[i]! + rng.normal(0, actionNoise));
    return a;
  };
  if (name === 'random') {
    return (_o, _t, rng) => Float64Array.from({ length: env.actDim }, () => rng.uniform(-1, 1));
  }
  if (name === 'gait' || name === 'mixed') {
    if (env.name !== 'halfcheetah') throw new Error(`policy '${name}' is built on a halfcheetah gait; for ${env.name} use 'random'`);
    const dt = 0.05;
    const gait = (t: number) => Float64Array.from(GAIT_PHASES, (p) => clip1(GAIT_AMPLITUDE * Math.sin(2 * Math.PI * GAIT_HZ * t * dt + p)));
    if (name === 'gait') return (_o, t, rng) => noisy(gait(t), rng);
    let useGait = true;
    return (_o, t, rng) => {
      if (t === 0) useGait = rng.next() < 0.5;
      return noisy(useGait ? gait(t) : Float64Array.from({ length: env.actDim }, () => rng.uniform(-1, 1)), rng);
    };
  }
  throw new Error(`unknown policy '${name}': expected one of ${POLICY_NAMES.join(', ')}`);
}
