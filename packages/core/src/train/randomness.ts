/**
 * Every random stream of a run, from its one seed.
 *
 * The root Rng is forked in a fixed order: weights, data order, dropout, task data preparation;
 * then two seeds are drawn: evaluation and augmentation. The order is part of every recorded
 * result (a run's losses depend on it), so it is written here once, and training, `evaluateRun`
 * and anything else that rebuilds a run's model or data take their streams from `runRandomness`.
 * A new stream goes at the end, never in between.
 */
import { Rng } from './rng.ts';

export interface RunRandomness {
  /** Weight initialisation (task.build). */
  init: Rng;
  /** The order of the training examples; its state is checkpointed. */
  data: Rng;
  /** Dropout masks during training; its state is checkpointed. */
  dropout: Rng;
  /** The task's data preparation (task.load: generated data, splits). */
  task: Rng;
  /** Each evaluation starts a fresh Rng from this seed, so every evaluation draws the same numbers. */
  evalSeed: number;
  /** Augmentation: each micro-batch gets its own Rng, derived from (augSeed, update, micro-batch). */
  augSeed: number;
}

export function runRandomness(seed: number): RunRandomness {
  const root = new Rng(seed);
  const init = root.fork();
  const data = root.fork();
  const dropout = root.fork();
  const task = root.fork();
  const evalSeed = root.nextUint32();
  const augSeed = root.nextUint32();
  return { init, data, dropout, task, evalSeed, augSeed };
}

/** Seed of the augmentation Rng of one micro-batch: a hash of (run seed, update, micro-batch). */
export function batchSeed(seed: number, step: number, micro: number): number {
  let h = Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) >>> 0;
  h = Math.imul(h ^ (step + 1), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (micro + 1), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The augmentation Rng of micro-batch `micro` of the update that follows `step` updates. It
 * needs no checkpointed state: a resumed run derives the same one.
 */
export function augmentationRng(r: RunRandomness, step: number, micro: number): Rng {
  return new Rng(batchSeed(r.augSeed, step, micro));
}
