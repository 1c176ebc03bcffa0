/**
 * cosFormer (Qin et al., "cosFormer: Rethinking Softmax in Attention", ICLR 2022).
 *
 * Features relu(q), relu(k), re-weighted by position with cos(pi/2 * (i - j) / M), which
 * decomposes as cos(a_i) cos(a_j) + sin(a_i) sin(a_j) with a_i = pi/2 * i / M. So the
 * attention is the linear-attention core on the doubled features
 *     phi(q_i) = [relu(q_i) sin(a_i), relu(q_i) cos(a_i)]   (and the same for keys),
 * with positions i = 1..L and M = max(L, S), denominator clamped below at eps = 1e-6, as
 * in the authors' code. With padding masks, M is the number of real positions of each
 * sequence (so a right-padded sequence gives the same outputs as the unpadded one).
 */
import { z } from 'zod';
import { tf } from '../tf.ts';
import type { Rng } from '../rng.ts';
import type { ForwardContext } from '../nn/module.ts';
import { MultiHeadAttention, type Projected } from './multihead.ts';
import { linearAttentionCore, maskKeys } from './linear.ts';
import type { AttentionLayerArgs } from './types.ts';
import { parseOptions } from './options.ts';

/** cosFormer's knobs, declared once (config validation, the layer's types and defaults). */
export const cosformerOptionsSchema = z.object({
  eps: z.number().positive().default(1e-6).describe('lower clamp of the denominator (default 1e-6)'),
  chunkSize: z.number().int().min(1).default(64).describe('positions per chunk of the causal form (default 64)'),
});
export type CosformerOptions = z.input<typeof cosformerOptionsSchema>;

/** `x` `[B, H, N, D]` non-negative, `angle` `[B or 1, 1, N, 1]` -> `[B, H, N, 2D]`. */
function reweight(x: tf.Tensor, angle: tf.Tensor): tf.Tensor {
  return tf.concat([tf.mul(x, tf.sin(angle)), tf.mul(x, tf.cos(angle))], -1);
}

export class CosformerAttention extends MultiHeadAttention {
  readonly kind = 'cosformer';
  readonly options: z.output<typeof cosformerOptionsSchema>;

  constructor(rng: Rng, args: AttentionLayerArgs, options: CosformerOptions = {}) {
    super(rng, args);
    this.options = parseOptions(cosformerOptionsSchema, options, 'cosformer attention');
  }

  protected core(p: Projected, _ctx: ForwardContext): tf.Tensor {
    const L = p.q.shape[2]!;
    const S = p.k.shape[2]!;
    // M: [B or 1, 1, 1, 1] = max(real queries, real keys).
    const count = (m: tf.Tensor | null, n: number) => (m ? tf.sum(m, -1) : tf.scalar(n));
    const M = tf.maximum(count(p.queryMask, L), count(p.keyMask, S)).reshape([-1, 1, 1, 1]);
    const angle = (n: number) => tf.div(tf.mul(tf.range(1, n + 1).reshape([1, 1, n, 1]), Math.PI / 2), M);
    const qf = reweight(tf.relu(p.q), angle(L));
    const kf = maskKeys(reweight(tf.relu(p.k), angle(S)), p.keyMask);
    return linearAttentionCore(qf, kf, p.v, {
      causal: this.causal,
      chunkSize: this.options.chunkSize,
      denominator: 'clamp',
      eps: this.options.eps,
    });
  }
}
