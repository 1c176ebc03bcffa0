/**
 * The feed-forward block's hidden chain, y = dropout(gelu(h + bias)) with h = x W1 (the first
 * product without its bias), as one fused XLA kernel forward and one backward on the
 * tensorflow backend (backend/xla-kernels.ts). Unfused it is nine elementwise passes over
 * [tokens, hidden] forward (bias, five of the exact GELU, three of dropout) and ten backward;
 * that block is the widest tensor of a Transformer.
 *
 * Same mask draws as `dropout` (one seed from ctx.rng, the same alea stream), the same exact
 * GELU, so a run is the same run with the kernels on or off, to float32 rounding. Only h (the
 * product, which the unfused form keeps as the GELU's input too) and the mask are kept for
 * the backward pass, which recomputes Phi(x) instead of keeping it.
 */
import { tf } from '../tf.ts';
import { fusedOr, xlaKernel } from '../backend/xla-kernels.ts';
import { gelu } from './activations.ts';
import { applyKeepMask, drawKeptMask, seedFrom } from './dropout.ts';
import type { ForwardContext } from './module.ts';

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * dropout(gelu(x W + bias), rate) for `x` `[N, in]`, `W` `[in, F]`, `bias` `[F]` -> `[N, F]`,
 * the product by tfjs's matMul (its gradient as Dense's), the rest by the fused kernels; null,
 * before computing anything, when they are off (the caller then runs the unfused ops).
 */
export function denseGeluDropout(x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor, rate: number, ctx: ForwardContext): tf.Tensor | null {
  const forward = xlaKernel('bias_gelu_dropout');
  const backward = xlaKernel('bias_gelu_dropout_grad');
  if (!forward || !backward || x.rank !== 2 || x.dtype !== 'float32') return null;
  const [N, F] = [x.shape[0]!, kernel.shape[1]!];
  const drop = ctx.training && rate > 0;
  const mask = drop ? drawKeptMask(N * F, rate, seedFrom(ctx, 'dropout')) : null;
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [hIn, b] = args as [tf.Tensor, tf.Tensor];
    const save = args[2] as tf.GradSaveFunc;
    // [N, F] bool, or one `true` that tf.where broadcasts when nothing is dropped
    const keep = mask ? tf.tensor(mask.kept, [N, F], 'bool') : tf.ones([1, 1], 'bool');
    const scale = tf.scalar(mask?.scale ?? 1);
    save([hIn, b, keep, scale]);
    return {
      value: fusedOr(
        () => forward({ h: hIn, bias: b, keep, scale }).y!,
        () => unfusedForward(hIn, b, mask),
      ),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [hs, bs, keeps, scales] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const g = fusedOr(
          () => backward({ dy, h: hs, bias: bs, keep: keeps, scale: scales }),
          () => unfusedBackward(dy, hs, bs, keeps, scales),
        );
        return [g.dh!, g.dbias!];
      },
    };
  });
  return tf.tidy('DenseGeluDropout', () => f(tf.matMul(x, kernel), bias));
}

function unfusedForward(h: tf.Tensor, bias: tf.Tensor, mask: { kept: Uint8Array; scale: number } | null): tf.Tensor {
  return tf.tidy(() => {
    const a = gelu(tf.add(h, bias));
    return mask ? applyKeepMask(a, mask.kept, mask.scale) : a;
  });
}

/** The backward kernel's formulas in tfjs ops: dh = dy m (Phi(x) + x phi(x)), x = h + bias. */
function unfusedBackward(dy: tf.Tensor, h: tf.Tensor, bias: tf.Tensor, keep: tf.Tensor, scale: tf.Tensor): Record<string, tf.Tensor> {
  return tf.tidy(() => {
    const x = tf.add(h, bias);
    const phi = tf.mul(tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1), 0.5);
    const density = tf.mul(tf.exp(tf.mul(tf.square(x), -0.5)), INV_SQRT_2PI);
    const g = tf.mul(dy, tf.mul(tf.cast(keep, 'float32'), scale)); // keep may be one broadcast `true`
    const dh = tf.mul(g, tf.add(phi, tf.mul(x, density)));
    return { dh, dbias: tf.sum(dh, 0) };
  });
}
