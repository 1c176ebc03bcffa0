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
  /**
   * Use the memory-saving hand-written gradient (default true); false = tfjs autodiff of the
   * same ops. Attention dropout during training always uses autodiff.
   */
  customGradient?: boolean;
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
    // Additive mask (0 = allowed, MASKED = not), or null: [1, L, S] for the causal mask alone
    // (it broadcasts over the [B*H, L, S] logits as they are), else [1|B, 1, L, S].
    let bias: tf.Tensor | null = null;
    if (options.causal) {
      // MASKED strictly above the diagonal: position i sees j <= i. Built on the host: one
      // tensor instead of bandPart's many [L,S] temporaries.
      const future = new Float32Array(L * S);
      for (let i = 0; i < L; i++) future.fill(MASKED, i * S + i + 1, (i + 1) * S);
      bias = tf.tensor(future, mask ? [1, 1, L, S] : [1, L, S]);
    }
    if (mask) {
      const padded = tf.mul(tf.sub(1, tf.cast(mask, 'float32')), MASKED).reshape([B, 1, 1, S]);
      bias = bias ? tf.add(bias, padded) : padded;
    }
    const q3 = q.reshape([B * H, L, D]);
    const k3 = k.reshape([B * H, S, D]);
    const v3 = v.reshape([B * H, S, Dv]);
    const dropping = options.attentionDropout && options.attentionDropout.ctx.training && options.attentionDropout.rate > 0;
    const out =
      (options.customGradient ?? true) && !dropping
        ? attendWithCustomGrad(q3, k3, v3, bias, scale, [B, H, L, S])
        : attendAutodiff(q3, k3, v3, bias, scale, [B, H, L, S], options.attentionDropout);
    return out.reshape([B, H, L, Dv]);
  });
}

/** `[B*H, L, S]` weights = softmax(scale q k^T + bias). */
function attentionWeights(q3: tf.Tensor, k3: tf.Tensor, bias: tf.Tensor | null, scale: number, [B, H, L, S]: number[]): tf.Tensor {
  return tf.tidy(() => {
    // Scale the queries ([L, D]) rather than the logits ([L, S]): one fewer quadratic tensor.
    let logits = tf.matMul(tf.mul(q3, scale), k3, false, true); // [BH,L,S]
    if (bias?.rank === 3) logits = tf.add(logits, bias);
    else if (bias) logits = tf.add(logits.reshape([B!, H!, L!, S!]), bias).reshape([B! * H!, L!, S!]);
    return tf.softmax(logits);
  });
}

function attendAutodiff(
  q3: tf.Tensor,
  k3: tf.Tensor,
  v3: tf.Tensor,
  bias: tf.Tensor | null,
  scale: number,
  dims: number[],
  attentionDropout?: { rate: number; ctx: ForwardContext },
): tf.Tensor {
  let weights = attentionWeights(q3, k3, bias, scale, dims); // [BH,L,S]
  if (attentionDropout) weights = dropout(weights, attentionDropout.rate, attentionDropout.ctx);
  return tf.matMul(weights, v3); // [BH,L,Dv]
}

/**
 * The same function with a hand-written gradient that keeps only the `[BH,L,S]` weights from
 * the forward pass. tfjs's autodiff keeps every intermediate and its gradient until the end of
 * the backward pass (about 10 quadratic tensors); this keeps about 4, so longer sequences fit.
 *   dv = w^T dy,  dw = dy v^T,  dz = w * (dw - rowsum(dw * w)),  dq = scale dz k,  dk = scale dz^T q
 * Masked weights are exactly 0, so their dz is 0 too.
 */
function attendWithCustomGrad(q3: tf.Tensor, k3: tf.Tensor, v3: tf.Tensor, bias: tf.Tensor | null, scale: number, dims: number[]): tf.Tensor {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [q, k, v] = args as [tf.Tensor, tf.Tensor, tf.Tensor];
    const save = args[3] as tf.GradSaveFunc;
    const weights = attentionWeights(q, k, bias, scale, dims); // [BH,L,S]
    save([q, k, v, weights]);
    return {
      value: tf.matMul(weights, v), // [BH,L,Dv]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [qs, ks, vs, w] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
          const dv = tf.matMul(w, dy, true, false); // [BH,S,Dv]
          const dw = tf.matMul(dy, vs, false, true); // [BH,L,S]
          const dz = tf.mul(w, tf.sub(dw, tf.sum(tf.mul(dw, w), -1, true))); // [BH,L,S]
          const dq = tf.mul(tf.matMul(dz, ks), scale); // [BH,L,D]
          const dk = tf.mul(tf.matMul(dz, qs, true, false), scale); // [BH,S,D]
          return [dq, dk, dv];
        }),
    };
  });
  return f(q3, k3, v3);
}
