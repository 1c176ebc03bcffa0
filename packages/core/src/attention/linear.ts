/**
 * Kernelised ("linear") attention and the Linear Transformer baseline.
 *
 * Given non-negative features phi(q), phi(k), the output at query i is
 *     out_i = phi(q_i) . sum_j phi(k_j) v_j^T  /  phi(q_i) . sum_j phi(k_j)
 * with j over all keys (normal) or j <= i (causal). Performer and cosFormer reuse this
 * core with their own feature maps.
 *
 * The causal form is computed chunk by chunk: inside a chunk of C positions, a masked
 * (phi(q) phi(k)^T) v; across chunks, a carried state sum phi(k) v^T `[B, H, M, Dv]` and
 * sum phi(k) `[B, H, M]`. Memory is linear in L, nothing of size [L, M, Dv] is built, and
 * no tf.cumsum gradient is involved (tfjs's is wrong along non-last axes).
 *
 * Linear Transformer: Katharopoulos et al., "Transformers are RNNs" (ICML 2020):
 * phi(x) = elu(x) + 1, denominator + eps (1e-6), as in their fast-transformers code.
 */
import { z } from 'zod';
import { tf } from '../tf.ts';
import type { Rng } from '../rng.ts';
import type { ForwardContext } from '../nn/module.ts';
import { MultiHeadAttention, type Projected } from './multihead.ts';
import type { AttentionLayerArgs, RecurrentAttentionLayer } from './types.ts';
import { parseOptions } from './options.ts';

export interface LinearCoreOptions {
  causal: boolean;
  /** Positions per chunk of the causal form. Default 64. */
  chunkSize?: number;
  /**
   * How the denominator is kept away from zero: 'add' = 1/(den + eps) (fast-transformers,
   * Performer), 'clamp' = 1/max(den, eps) (cosFormer).
   */
  denominator?: 'add' | 'clamp';
  eps?: number;
}

function normalise(num: tf.Tensor, den: tf.Tensor, o: LinearCoreOptions): tf.Tensor {
  const eps = o.eps ?? 1e-6;
  const d = (o.denominator ?? 'add') === 'add' ? tf.add(den, eps) : tf.maximum(den, eps);
  return tf.div(num, d);
}

/**
 * `qf` `[B, H, L, M]`, `kf` `[B, H, S, M]` (non-negative features; zero the rows of padded
 * keys before calling), `v` `[B, H, S, Dv]` -> `[B, H, L, Dv]`.
 */
export function linearAttentionCore(qf: tf.Tensor, kf: tf.Tensor, v: tf.Tensor, o: LinearCoreOptions): tf.Tensor {
  return tf.tidy(() => {
    if (!o.causal) {
      const kv = tf.matMul(kf, v, true, false); // [B, H, M, Dv]
      const kSum = tf.sum(kf, 2).expandDims(-1); // [B, H, M, 1]
      return normalise(tf.matMul(qf, kv), tf.matMul(qf, kSum), o); // [B, H, L, Dv] / [B, H, L, 1]
    }
    const [B, H, L, M] = qf.shape as [number, number, number, number];
    const Dv = v.shape[3]!;
    if (kf.shape[2] !== L) throw new Error(`causal linear attention needs as many keys as queries, got L=${L}, S=${kf.shape[2]}`);
    const C = Math.max(1, Math.min(o.chunkSize ?? 64, L));
    const lowerFull = tf.linalg.bandPart(tf.ones([C, C]), -1, 0); // [C, C], 1 where j <= i
    let state: tf.Tensor | null = null; // sum phi(k) v^T over earlier chunks [B, H, M, Dv]
    let kSum: tf.Tensor | null = null; // sum phi(k) over earlier chunks [B, H, M, 1]
    const outs: tf.Tensor[] = [];
    for (let s = 0; s < L; s += C) {
      const c = Math.min(C, L - s);
      const qc = tf.slice(qf, [0, 0, s, 0], [B, H, c, M]);
      const kc = tf.slice(kf, [0, 0, s, 0], [B, H, c, M]);
      const vc = tf.slice(v, [0, 0, s, 0], [B, H, c, Dv]);
      const lower = c === C ? lowerFull : tf.slice(lowerFull, [0, 0], [c, c]);
      const a = tf.mul(tf.matMul(qc, kc, false, true), lower); // [B, H, c, c]
      let num = tf.matMul(a, vc); // [B, H, c, Dv]
      let den = tf.sum(a, -1, true); // [B, H, c, 1]
      if (state && kSum) {
        num = tf.add(num, tf.matMul(qc, state));
        den = tf.add(den, tf.matMul(qc, kSum));
      }
      outs.push(normalise(num, den, o));
      if (s + c < L) {
        const kv = tf.matMul(kc, vc, true, false);
        const ks = tf.sum(kc, 2).expandDims(-1);
        state = state ? tf.add(state, kv) : kv;
        kSum = kSum ? tf.add(kSum, ks) : ks;
      }
    }
    return outs.length === 1 ? outs[0]! : tf.concat(outs, 2);
  });
}

/** Zeroes the feature rows of padded keys: `kf` `[B, H, S, M]`, `keyMask` `[B, S]`. */
export function maskKeys(kf: tf.Tensor, keyMask: tf.Tensor | null): tf.Tensor {
  return keyMask ? tf.mul(kf, keyMask.expandDims(1).expandDims(-1)) : kf;
}

/** The Linear Transformer's knobs, declared once (config validation, the layer's types and defaults). */
export const linearOptionsSchema = z.object({
  eps: z.number().positive().default(1e-6).describe('added to the denominator (default 1e-6)'),
  chunkSize: z.number().int().min(1).default(64).describe('positions per chunk of the causal form (default 64)'),
});
export type LinearAttentionOptions = z.input<typeof linearOptionsSchema>;

/** Recurrent state of a causal linear attention: the running sums over past tokens. */
export interface LinearAttentionState {
  kv: tf.Tensor; // sum phi(k) v^T [B, H, M, Dv]
  kSum: tf.Tensor; // sum phi(k) [B, H, M, 1]
}

/**
 * The Linear Transformer's attention layer (feature map elu(x) + 1). Causal layers also
 * generate one token at a time in O(M Dv) per head ("Transformers are RNNs").
 */
export class LinearAttention extends MultiHeadAttention implements RecurrentAttentionLayer<LinearAttentionState> {
  readonly kind = 'linear';
  readonly options: z.output<typeof linearOptionsSchema>;

  constructor(rng: Rng, args: AttentionLayerArgs, options: LinearAttentionOptions = {}) {
    super(rng, args);
    this.options = parseOptions(linearOptionsSchema, options, 'linear attention');
  }

  private static phi(x: tf.Tensor): tf.Tensor {
    return tf.add(tf.elu(x), 1);
  }

  initState(batch: number): LinearAttentionState {
    if (!this.causal) throw new Error('LinearAttention.initState: only a causal layer (causal: true) generates step by step');
    return { kv: tf.zeros([batch, this.nHeads, this.headDim, this.headDim]), kSum: tf.zeros([batch, this.nHeads, this.headDim, 1]) };
  }

  /** `xT` `[B, dInput]` -> `[B, dOutput]`, equal to the last row of `forward` on the prefix. */
  step(xT: tf.Tensor, state: LinearAttentionState, ctx: ForwardContext): { output: tf.Tensor; state: LinearAttentionState } {
    let next: LinearAttentionState | null = null;
    const output = tf.tidy(() => {
      const p = this.projectStep(xT, 'LinearAttention.step'); // [B, H, 1, Dh]
      const q = LinearAttention.phi(p.q);
      const k = LinearAttention.phi(p.k);
      const v = p.v;
      const kv = tf.keep(tf.add(state.kv, tf.matMul(k, v, true, false))); // [B, H, Dh, Dh]
      const kSum = tf.keep(tf.add(state.kSum, tf.transpose(k, [0, 1, 3, 2]))); // [B, H, Dh, 1]
      next = { kv, kSum };
      const o = tf.div(tf.matMul(q, kv), tf.add(tf.matMul(q, kSum), this.options.eps)); // [B, H, 1, Dh]
      return this.finishStep(o, ctx);
    });
    return { output, state: next! };
  }

  disposeState(state: LinearAttentionState): void {
    tf.dispose([state.kv, state.kSum]);
  }

  protected core(p: Projected, _ctx: ForwardContext): tf.Tensor {
    const phi = LinearAttention.phi;
    return linearAttentionCore(phi(p.q), maskKeys(phi(p.k), p.keyMask), p.v, {
      causal: this.causal,
      chunkSize: this.options.chunkSize,
      denominator: 'add',
      eps: this.options.eps,
    });
  }
}
