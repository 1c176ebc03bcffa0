/**
 * Activation recomputation (gradient checkpointing): run a block's forward without recording
 * it, keep only its input, and in the backward pass run the forward again, recorded, to
 * back-propagate through it. The memory of the backward pass is then the blocks' inputs plus
 * one block's activations, for about one more forward pass of compute.
 *
 * The replay draws the same dropout masks: `ctx.rng`'s state is noted before the first run and
 * a copy from that state drives the second. The gradients are those of the plain forward (the
 * replay runs the same kernels on the same values).
 */
import { tf } from '../tf.ts';
import { Rng } from '../rng.ts';
import type { ForwardContext } from './module.ts';
import { gradientsFreeingAsYouGo } from './backward.ts';

/**
 * `f(x, ctx)`, differentiable with respect to `x` and `params` (the trainable variables `f`
 * uses; any other variable it reads gets no gradient), keeping only `x` for the backward pass.
 * Outside a gradient (evaluation) it is just `f(x, ctx)`.
 */
export function recomputed(f: (x: tf.Tensor, ctx: ForwardContext) => tf.Tensor, x: tf.Tensor, params: tf.Variable[], ctx: ForwardContext): tf.Tensor {
  const engine = tf.engine() as unknown as { state: { gradientDepth: number; activeTape: unknown } };
  if (engine.state.gradientDepth === 0) return f(x, ctx);
  const rngState = ctx.rng?.getState();
  const replayCtx = (): ForwardContext => ({ ...ctx, rng: rngState ? new Rng(rngState) : undefined });
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor;
    const save = args[args.length - 1] as tf.GradSaveFunc;
    save([input]);
    return {
      // A custom op's forward is not recorded: nothing inside it is kept for the backward pass.
      value: f(input, ctx),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const xs = saved[0]!;
        // The replay's backward pass frees as it goes (nn/backward.ts). It replaces the engine's
        // active tape, which a caller's own backward pass (tf.variableGrads) reads again when it
        // ends: put it back.
        const outerTape = engine.state.activeTape;
        const { value, grads } = gradientsFreeingAsYouGo(() => f(xs, replayCtx()), [xs, ...params], undefined, dy);
        engine.state.activeTape = outerTape;
        value.dispose();
        return grads.map((g, i) => g ?? tf.zeros(i === 0 ? xs.shape : params[i - 1]!.shape));
      },
    };
  });
  return tf.tidy('Recomputed', () => op(x, ...params));
}
