/**
 * The D4RL task's config sections. Defaults are the paper's (thuml/Flowformer
 * `Flowformer_RL/experiment.py` + `scripts/flowformer.sh`); `configs/d4rl/` spells them out.
 */
import { z } from 'zod';
import type { Config } from '@flowformer/core';

export const D4rlModelSchema = z.strictObject({
  /** Token width (DT `embed_dim`): 256 for the paper's Flowformer, 128 in the DT paper. */
  hiddenSize: z.number().int().positive().default(256),
  nLayers: z.number().int().positive().default(3),
  nHeads: z.number().int().positive().default(4),
  /** Embedding, residual and attention-output dropout (DT `dropout`). */
  dropout: z.number().min(0).lt(1).default(0.1),
  activation: z.enum(['relu', 'gelu']).default('relu'),
  /** Rows of the timestep embedding; timesteps are clipped to this - 1. */
  maxEpisodeLength: z.number().int().positive().default(1000),
  /**
   * Build the original's `predict_state` / `predict_return` heads too. No loss reads them (the
   * original trains on actions only), so actions, loss and training are the same either way;
   * true only to import every weight of an original checkpoint and compare all its outputs.
   */
  stateReturnHeads: z.boolean().default(false),
});

export const D4rlDataSchema = z.strictObject({
  /** HDF5 file to read instead of `<dataRoot>/d4rl/<dataset>-v2.hdf5` (relative to the data root). */
  file: z.string().optional(),
  /** K, steps per window. */
  contextLength: z.number().int().positive().default(20),
  /** Returns-to-go are divided by this. */
  returnScale: z.number().positive().default(1000),
  /** 'delayed': the paper's sparse-reward setting (the return on the last step). */
  mode: z.enum(['normal', 'delayed']).default('normal'),
  /**
   * 'replacement' (the original's RandomSampler(replacement=True)): every training batch
   * draws its windows uniformly with replacement from the run's seeded stream; 'epoch': the
   * trainer's shuffled epochs.
   */
  sampling: z.enum(['replacement', 'epoch']).default('replacement'),
});

export const D4rlRolloutSchema = z
  .strictObject({
    /** Returns to condition on (raw, not scaled); default per environment: hopper 3600/1800, halfcheetah 12000/6000, walker2d 5000/2500. */
    targets: z.array(z.number()).min(1).optional(),
    /** Episodes per target and evaluation (the original: 10 during training, 100 at the end). */
    episodes: z.number().int().positive().default(10),
    /** Episodes per target of the `test` split: the original's evaluation after the last iteration. */
    finalEpisodes: z.number().int().positive().default(100),
    /** Episodes simulated side by side (one batched model call per step for all of them). */
    parallel: z.number().int().positive().default(10),
    /** Cut episodes at this many steps (tests; the environments' limit is 1000). */
    maxSteps: z.number().int().positive().optional(),
  })
  .default({ episodes: 10, finalEpisodes: 100, parallel: 10 });

export type D4rlModelConfig = z.output<typeof D4rlModelSchema>;
export type D4rlDataConfig = z.output<typeof D4rlDataSchema>;
export type D4rlRolloutConfig = z.output<typeof D4rlRolloutSchema>;

/** A D4RL run's config: the shared sections plus the task's own. */
export type D4rlConfig = Config & {
  model: D4rlModelConfig & { name: string };
  data: D4rlDataConfig & { root?: string };
  rollout: D4rlRolloutConfig;
};
