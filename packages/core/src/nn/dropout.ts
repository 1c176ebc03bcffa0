/**
 * Dropout and stochastic depth driven by the run's seeded `Rng`, so that a resumed run
 * drops exactly the same units as an uninterrupted one (the trainer checkpoints the Rng).
 */
import { tf } from '../tf.ts';
import { Module, type ForwardContext } from './module.ts';
import { aleaState, fillKeepMask } from './alea.ts';
import { consume } from './ops.ts';
import { fusedOr, xlaKernel } from '../backend/xla-kernels.ts';

export function seedFrom(ctx: ForwardContext, who: string): number {
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
  return seededDropout(x, rate, seedFrom(ctx, 'dropout'));
}

/** `1 / keep` as the backend's float32 division gives it, per backend and keep probability. */
const keepScale = new Map<string, number>();

/**
 * `tf.dropout(x, rate, undefined, seed)` bit for bit, with three fewer tensors the size of `x`.
 *
 * tfjs draws the uniforms in a JavaScript loop, uploads them, and then runs four elementwise
 * ops (`add keep`, `floor`, `div keep`, `mul x`), each allocating a tensor the size of `x`; on
 * the softmax Transformer's `[B*H, L, L]` attention weights (SelfRegulationSCP1 at batch 16:
 * 103 M elements, 412 MB each) those temporaries add up. Here one loop over the same alea
 * stream (seedrandom, seeded with the seed's string, as tfjs's `randomUniform` does) decides
 * which elements `floor(u + keep)` keeps, and the multiplier, kept * (1 / keep) in float32, is
 * applied by `applyKeepMask`: the same numbers in the same order, so runs made with
 * `tf.dropout` continue and replay unchanged.
 * Measured on that model's training step (batch 2): peak tensor memory 1.57 -> 1.28 GiB, time
 * 3.5% less. The draws themselves run in WebAssembly (fillKeepMask in alea.ts).
 */
export function seededDropout(x: tf.Tensor, rate: number, seed: number): tf.Tensor {
  if (x.dtype !== 'float32') throw new Error(`dropout: x must be float32, got ${x.dtype}`);
  const { kept, scale } = drawKeptMask(x.size, rate, seed);
  return tf.tidy('Dropout', () => applyKeepMask(x, kept, scale));
}

/**
 * Which of `size` elements inverted dropout at `rate` keeps (one byte each, 1 = kept), drawn
 * from `seed` exactly as `tf.dropout(x, rate, undefined, seed)` draws them, and the factor the
 * kept ones are scaled by (1 / (1 - rate) as the backend's float32 division gives it).
 */
export function drawKeptMask(size: number, rate: number, seed: number): { kept: Uint8Array; scale: number } {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout: rate must be in [0, 1), got ${rate}`);
  const keep = Math.fround(1 - rate); // tfjs passes 1 - rate to float32 ops
  const key = `${tf.getBackend()} ${keep}`; // the cpu backend divides in float64, then rounds
  let scale = keepScale.get(key);
  if (scale === undefined) {
    const q = tf.tidy(() => tf.div(tf.scalar(1), tf.scalar(keep)));
    scale = q.dataSync()[0]!;
    q.dispose();
    keepScale.set(key, scale);
  }
  // Which elements are kept, one byte each (the float multiplier would be four, in JavaScript
  // memory until the garbage collector runs): the op rebuilds the multiplier from it exactly.
  const kept = new Uint8Array(size);
  fillKeepMask(kept, aleaState(String(seed)), keep);
  return { kept, scale };
}

/**
 * `x * m` for the dropout multiplier `m` = `kept` * `scale` (every element 0 or `scale`), keeping
 * for the backward pass the bool mask `kept` (one byte an element) instead of `x` and `m`
 * (eight): `mul`'s own gradient would keep both, although dx = dy * m needs neither `x` nor more
 * than which elements were kept. 1 * scale and 0 * scale are exact, so `m`, the output and the
 * gradient are bit-identical to multiplying by the float multiplier.
 */
/** The float multiplier, kept * scale: exactly 0 or scale. */
function multiplierOf(kept: tf.Tensor, scale: number): tf.Tensor {
  return consume(tf.cast(kept, 'float32'), (k) => tf.mul(k, scale));
}

export function applyKeepMask(x: tf.Tensor, kept: Uint8Array, scale: number): tf.Tensor {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const mask = tf.tensor(kept, input.shape, 'bool');
    save([mask]);
    return {
      value: timesMultiplier(input, mask, scale),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [timesMultiplier(dy, saved[0]!, scale)],
    };
  });
  return f(x);
}

/** `t * m` for the multiplier m = kept * scale (`kept` bool, t's shape). */
function timesMultiplier(t: tf.Tensor, kept: tf.Tensor, scale: number): tf.Tensor {
  const unfused = () => consume(multiplierOf(kept, scale), (m) => tf.mul(t, m));
  const fused = xlaKernel('dropout');
  if (!fused || t.size === 0 || t.rank === 0) return unfused();
  // tensorflow: one fused loop instead of cast, scale and multiply, with the same bits
  const cols = t.shape[t.rank - 1]!;
  return fusedOr(() => fused({ x: t.reshape([-1, cols]), keep: kept.reshape([-1, cols]), scale: tf.scalar(scale) }).y!.reshape(t.shape), unfused);
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
