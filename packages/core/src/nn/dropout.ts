/**
 * Dropout and stochastic depth driven by the run's seeded `Rng`, so that a resumed run
 * drops exactly the same units as an uninterrupted one (the trainer checkpoints the Rng).
 */
import { tf } from '../tf.ts';
import { Module, type ForwardContext } from './module.ts';

function seedFrom(ctx: ForwardContext, who: string): number {
  if (!ctx.rng) {
    throw new Error(
      `${who}: ForwardContext.training is true and the rate is > 0, but ctx.rng is missing. ` +
        `Pass { training: true, rng } (the trainer does), or { training: false } for evaluation.`,
    );
  }
  return ctx.rng.seed();
}

/**
 * Inverted dropout: zeroes each element with probability `rate` and scales the rest by
 * 1/(1-rate). Identity (the same tensor, not a copy) unless `ctx.training` and `rate > 0`.
 */
export function dropout(x: tf.Tensor, rate: number, ctx: ForwardContext): tf.Tensor {
  if (!ctx.training || rate <= 0) return x;
  if (rate >= 1) throw new Error(`dropout: rate must be in [0, 1), got ${rate}`);
  return tf.dropout(x, rate, undefined, seedFrom(ctx, 'dropout'));
}

/**
 * Stochastic depth (Huang et al. 2016; timm's `drop_path`): drops a whole residual branch
 * per sample with probability `rate` and scales kept samples by 1/(1-rate).
 * `x` `[B, ...]`: one Bernoulli draw per index of the first axis.
 */
export function dropPath(x: tf.Tensor, rate: number, ctx: ForwardContext): tf.Tensor {
  if (!ctx.training || rate <= 0) return x;
  if (rate >= 1) throw new Error(`dropPath: rate must be in [0, 1), got ${rate}`);
  // tf.dropout broadcasts its mask over axes of size 1 in noiseShape: one draw per sample.
  const noiseShape = [x.shape[0], ...x.shape.slice(1).map(() => 1)];
  return tf.dropout(x, rate, noiseShape, seedFrom(ctx, 'dropPath'));
}

/** `dropout` as a parameter-free module, for readable model definitions. */
export class Dropout extends Module {
  constructor(readonly rate: number) {
    super();
  }
  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    return dropout(x, this.rate, ctx);
  }
}

/** `dropPath` as a parameter-free module (timm's `DropPath`). */
export class DropPath extends Module {
  constructor(readonly rate: number) {
    super();
  }
  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    return dropPath(x, this.rate, ctx);
  }
}
