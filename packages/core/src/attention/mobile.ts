/**
 * Mobile-Attention (thuml, ICML 2024; the `Mobile_Attention` class of thuml/MobileAttention).
 *
 * Flow-Attention's conservation computed across the HEADS of one token instead of across
 * the sequence: every flow sum below runs over the head axis at a fixed position, so the
 * normalisers cost O(H D) per token. Self-attention only (it pairs query and key of the
 * same position). With q, k = sigmoid(projections) `[B, H, L, D]` and eps = 1e-6:
 *
 *   sinkIncoming[h,l]     = 1 / sum_d (q[h,l] + eps) (sum_h' k[h',l] + eps)
 *   sourceOutgoing[h,l]   = 1 / sum_d (k[h,l] + eps) (sum_h' q[h',l] + eps)
 *   conservedSink[h,l]    = sum_d (q[h,l] + eps) (sum_h' k[h',l] sourceOutgoing[h',l] + eps)
 *   conservedSource[h,l]  = clamp(sum_d (k[h,l] + eps) (sum_h' q[h',l] sinkIncoming[h',l] + eps), -1, 1)
 *   sinkAllocation[h,l]   = sigmoid(conservedSink[h,l] * L / S)               (L = S: the ratio is 1)
 *   sourceCompetition[h,:] = softmax over positions of conservedSource[h,:], times S
 *   out = ((q sinkIncoming) ((k)^T (v sourceCompetition))) * sinkAllocation     (per head, as linear attention)
 *
 * The published code has no padding mask. Ours: a padded position sends no flow (its key
 * and value rows are zeroed), takes no part in the competition softmax, and S counts real
 * positions only, so a right-padded sequence gives the outputs of the unpadded one.
 */
import { z } from 'zod';
import { tf } from '../tf.ts';
import type { Rng } from '../rng.ts';
import type { ForwardContext } from '../nn/module.ts';
import { MultiHeadAttention, type Projected } from './multihead.ts';
import type { AttentionLayerArgs } from './types.ts';
import { parseOptions } from './options.ts';

/** Mobile-Attention's knobs, declared once; the defaults are the published code's. */
export const mobileOptionsSchema = z.object({
  eps: z.number().positive().default(1e-6).describe('added before every flow dot product (default 1e-6)'),
  clamp: z.number().positive().nullable().default(1).describe('bound of the clamp on conservedSource (default 1; null none)'),
});
export type MobileOptions = z.input<typeof mobileOptionsSchema>;

/**
 * The Mobile-Attention core. `q`, `k`, `v` `[B, H, L, D]` raw projections (the sigmoid
 * feature map is applied here), `keyMask` `[B, L]` or null -> `[B, H, L, D]`.
 */
export function mobileAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, keyMask: tf.Tensor | null, opts: MobileOptions = {}): tf.Tensor {
  const { eps, clamp } = parseOptions(mobileOptionsSchema, opts, 'mobile attention');
  return tf.tidy(() => {
    if (q.shape[2] !== k.shape[2]) throw new Error(`mobile attention is self-attention only: L=${q.shape[2]} != S=${k.shape[2]}`);
    const L = q.shape[2]!;
    const mask = keyMask ? keyMask.expandDims(1).expandDims(-1) : null; // [B, 1, L, 1]
    const qs = tf.sigmoid(q);
    let ks = tf.sigmoid(k);
    if (mask) ks = tf.mul(ks, mask);
    const headSum = (x: tf.Tensor) => tf.sum(x, 1, true); // sum over heads [B, 1, L, D]
    const flow = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.add(a, eps), tf.add(b, eps)), -1); // [B, H, L]
    // (1) incoming and outgoing flow
    const sinkIncoming = tf.reciprocal(flow(qs, headSum(ks))); // [B, H, L]
    const sourceOutgoing = tf.reciprocal(flow(ks, headSum(qs))); // [B, H, L]
    // (2) conservation refine for source and sink
    const conservedSink = flow(qs, headSum(tf.mul(ks, sourceOutgoing.expandDims(-1)))); // [B, H, L]
    let conservedSource = flow(ks, headSum(tf.mul(qs, sinkIncoming.expandDims(-1)))); // [B, H, L]
    if (clamp !== null) conservedSource = tf.clipByValue(conservedSource, -clamp, clamp);
    // (3) competition and allocation; L / S = 1 for self-attention
    const sinkAllocation = tf.sigmoid(conservedSink); // [B, H, L]
    let sourceCompetition: tf.Tensor; // [B, H, L]
    if (keyMask) {
      const m = keyMask.expandDims(1); // [B, 1, L]
      const logits = tf.add(conservedSource, tf.mul(tf.sub(1, m), -1e9));
      const real = tf.sum(keyMask, -1).reshape([-1, 1, 1]); // S per sequence
      sourceCompetition = tf.mul(tf.mul(tf.softmax(logits, -1), m), real);
    } else {
      sourceCompetition = tf.mul(tf.softmax(conservedSource, -1), L);
    }
    // (4) aggregation as linear attention: [B, H, L, D] x ([B, H, D, L] x [B, H, L, Dv])
    let vc = tf.mul(v, sourceCompetition.expandDims(-1));
    if (mask) vc = tf.mul(vc, mask);
    const kv = tf.matMul(ks, vc, true, false); // [B, H, D, Dv]
    const out = tf.matMul(tf.mul(qs, sinkIncoming.expandDims(-1)), kv); // [B, H, L, Dv]
    return tf.mul(out, sinkAllocation.expandDims(-1));
  });
}

export class MobileAttention extends MultiHeadAttention {
  readonly kind = 'mobile';
  readonly options: z.output<typeof mobileOptionsSchema>;

  constructor(rng: Rng, args: AttentionLayerArgs, options: MobileOptions = {}) {
    super(rng, args, { selfOnly: true });
    if (this.causal) throw new Error('mobile attention has no causal form (the published Mobile-Attention is non-causal); use causal: false');
    this.options = parseOptions(mobileOptionsSchema, options, 'mobile attention');
  }

  protected core(p: Projected, _ctx: ForwardContext): tf.Tensor {
    return mobileAttention(p.q, p.k, p.v, p.keyMask, this.options);
  }
}
