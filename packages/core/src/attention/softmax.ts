/**
 * Softmax (dot-product) attention, the vanilla Transformer's: the quadratic baseline that
 * every experiment compares Flow-Attention with.
 */
import { tf } from '../tf.ts';
import type { ForwardContext } from '../nn/module.ts';
import { dropout } from '../nn/dropout.ts';
import { checkQkv } from './flow-options.ts';

export interface SoftmaxAttentionOptions {
  /** Position t attends to positions <= t only (requires L == S). Default false. */
  causal?: boolean;
  /** `[B, S]`, 1 = real key: padded keys get zero weight. */
  keyPaddingMask?: tf.Tensor;
  /** Multiplies the logits; default 1/sqrt(D). */
  scale?: number;
  /** Dropout on the attention weights (rate, and the context that turns it on). Default none. */
  attentionDropout?: { rate: number; ctx: ForwardContext };
}

/** A logit offset that makes a masked weight exactly 0 after the softmax in float32. */
const MASKED = -1e9;

/**
 * `softmax(q k^T * scale + masks) v`: `q` `[B,H,L,D]`, `k` `[B,H,S,D]`, `v` `[B,H,S,Dv]`
 * -> `[B,H,L,Dv]`. Memory and time quadratic in L (the `[B,H,L,S]` weights).
 */
export function softmaxAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: SoftmaxAttentionOptions = {}): tf.Tensor {
  checkQkv(q, k, v, 'softmaxAttention');
  const [B, H, L, D] = q.shape as [number, number, number, number];
  const S = k.shape[2]!;
  const Dv = v.shape[3]!;
  if (options.causal && L !== S) {
    throw new Error(`softmaxAttention: causal attention needs L == S, got q [${q.shape}], k [${k.shape}]`);
  }
  const mask = options.keyPaddingMask;
  if (mask && (mask.rank !== 2 || mask.shape[0] !== B || mask.shape[1] !== S)) {
    throw new Error(`softmaxAttention: keyPaddingMask must have shape [B=${B}, S=${S}] (1 = real), got [${mask.shape}]`);
  }
  const scale = options.scale ?? 1 / Math.sqrt(D);
  return tf.tidy(() => {
    let logits = tf.mul(tf.matMul(q.reshape([B * H, L, D]), k.reshape([B * H, S, D]), false, true), scale).reshape([B, H, L, S]);
    if (options.causal) {
      // 0 on and below the diagonal, MASKED above it: [L,S]
      const future = tf.sub(1, tf.linalg.bandPart(tf.ones([L, S]), -1, 0));
      logits = tf.add(logits, tf.mul(future, MASKED));
    }
    if (mask) {
      const padded = tf.sub(1, tf.cast(mask, 'float32')).reshape([B, 1, 1, S]);
      logits = tf.add(logits, tf.mul(padded, MASKED));
    }
    let weights = tf.softmax(logits); // [B,H,L,S]
    if (options.attentionDropout) weights = dropout(weights, options.attentionDropout.rate, options.attentionDropout.ctx);
    return tf.matMul(weights.reshape([B * H, L, S]), v.reshape([B * H, S, Dv])).reshape([B, H, L, Dv]);
  });
}
