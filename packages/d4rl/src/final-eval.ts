/**
 * The original's final evaluation (Flowformer_RL experiment.py): after the last of its 10
 * iterations of 10,000 updates it rolls the LAST model out for 100 episodes per return target
 * (10 at the earlier iterations), and that is the number it reports. A run here ends with the
 * same protocol on its `test` split (rollout.finalEpisodes episodes per target, the configured
 * targets) and records it in summary.json as
 *
 *   finalEval: { step, episodes, targets: [{ target, returnMean, returnStd, normalizedMean, normalizedStd }] }
 *
 * normalizedMean / normalizedStd are D4RL's normalised score x 100 (as the paper's table), the
 * std over episodes (numpy's population std, as the original logs).
 */
import type { Metrics } from '@flowformer/core';
import type { D4rlConfig } from './schema.ts';

export interface D4rlFinalEvalTarget {
  /** The return the rollouts are conditioned on (raw, not scaled). */
  target: number;
  returnMean: number;
  returnStd: number;
  normalizedMean: number;
  normalizedStd: number;
}

export interface D4rlFinalEval {
  /** The update after which the model was evaluated (the last one). */
  step: number;
  /** Episodes per target (rollout.finalEpisodes; the original: 100). */
  episodes: number;
  targets: D4rlFinalEvalTarget[];
}

/**
 * summary.json's `finalEval` from the metrics of d4rlTask.evaluate on the `test` split;
 * `targets` are the ones the rollouts used (rollout.targets, else the environment's defaults).
 */
export function summarizeFinalEval(metrics: Metrics, step: number, config: D4rlConfig, targets: number[]): D4rlFinalEval {
  const need = (key: string): number => {
    const v = metrics[key];
    if (typeof v !== 'number') throw new Error(`d4rl final evaluation: the metrics have no '${key}' (targets ${targets.join(', ')}); got ${Object.keys(metrics).join(', ')}`);
    return v;
  };
  return {
    step,
    episodes: config.rollout.finalEpisodes,
    targets: targets.map((target) => ({
      target,
      returnMean: need(`return_${target}`),
      returnStd: need(`return_std_${target}`),
      normalizedMean: need(`score_${target}`),
      normalizedStd: need(`score_std_${target}`),
    })),
  };
}
