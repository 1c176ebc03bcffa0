/**
 * Performer's FAVOR+ attention (Choromanski et al., "Rethinking Attention with Performers",
 * ICLR 2021): positive orthogonal random features whose inner products approximate the
 * softmax kernel exp(q.k / sqrt(d)), plugged into the linear-attention core.
 *
 *   x' = x d^(-1/4)
 *   phi(x) = m^(-1/2) (exp(W x' - |x'|^2 / 2 - stabiliser) + 1e-4)
 *
 * as in the authors' `softmax_kernel_transformation` and performer-pytorch: W `[m, d]` has
 * blocks of d orthogonal rows with norms drawn like those of Gaussian vectors; the
 * stabiliser is the per-query max over features for queries and one max over all keys and
 * features (per batch and head) for keys, excluded from the gradient. It cancels in the
 * normalisation up to the 1e-4 term; note that in the causal form this key maximum is
 * taken over the whole sequence (as in the reference code), so a future key can change
 * earlier outputs at the level of that 1e-4 term.
 *
 * The random features are drawn in JavaScript (float64 Gram-Schmidt) from our seeded Rng,
 * kept as a non-trainable parameter `projection` (so checkpoints hold them), shared by
 * all heads, and redrawn every `redrawInterval` training calls from `ctx.rng` (the call
 * count is a non-trainable parameter too, so a resumed run redraws at the same steps).
 */
import { z } from 'zod';
import { tf } from '../tf.ts';
import { Rng } from '../rng.ts';
import type { ForwardContext } from '../nn/module.ts';
import { MultiHeadAttention, type Projected } from './multihead.ts';
import { detachedMax } from '../nn/ops.ts';
import { linearAttentionCore, maskKeys } from './linear.ts';
import type { AttentionLayerArgs } from './types.ts';
import { parseOptions } from './options.ts';

/**
 * Performer's knobs, declared once (config validation, the layer's types and defaults).
 * `nbFeatures` has no constant default: it is round(d ln d) as performer-pytorch, d = head dim.
 */
export const performerOptionsSchema = z.object({
  nbFeatures: z.number().int().min(1).optional().describe('random features per head (default round(d ln d), d = head dim)'),
  redrawInterval: z.number().int().min(0).default(1000).describe('redraw the features every this many training calls; 0 = never (default 1000)'),
  chunkSize: z.number().int().min(1).default(64).describe('positions per chunk of the causal form (default 64)'),
});
export type PerformerOptions = z.input<typeof performerOptionsSchema>;

/**
 * `[m, d]` Gaussian orthogonal random matrix: stacked d x d blocks with orthonormal rows
 * (Gram-Schmidt of Gaussian rows), each row then scaled by the norm of an independent
 * d-dimensional Gaussian vector, so rows are marginally Gaussian but mutually orthogonal
 * within a block (performer-pytorch's `gaussian_orthogonal_random_matrix`, scaling 0).
 */
export function orthogonalRandomFeatures(rng: Rng, m: number, d: number): Float32Array {
  const out = new Float32Array(m * d);
  let row = 0;
  while (row < m) {
    const basis: Float64Array[] = [];
    while (basis.length < d) {
      const g = new Float64Array(d);
      for (let j = 0; j < d; j++) g[j] = rng.normal();
      for (const b of basis) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += g[j]! * b[j]!;
        for (let j = 0; j < d; j++) g[j]! -= dot * b[j]!;
      }
      let n = 0;
      for (let j = 0; j < d; j++) n += g[j]! * g[j]!;
      n = Math.sqrt(n);
      if (n < 1e-6) continue; // numerically dependent draw: redraw
      for (let j = 0; j < d; j++) g[j]! /= n;
      basis.push(g);
    }
    for (const b of basis) {
      if (row >= m) break;
      let s = 0;
      for (let j = 0; j < d; j++) {
        const z = rng.normal();
        s += z * z;
      }
      const norm = Math.sqrt(s);
      for (let j = 0; j < d; j++) out[row * d + j] = b[j]! * norm;
      row++;
    }
  }
  return out;
}

/**
 * FAVOR+ features. `x` `[B, H, N, d]`, `projection` `[m, d]` -> `[B, H, N, m]`.
 * `isQuery` picks the stabiliser (see the file comment).
 */
export function softmaxKernelFeatures(x: tf.Tensor, projection: tf.Tensor, isQuery: boolean, eps = 1e-4): tf.Tensor {
  return tf.tidy(() => {
    const [B, H, N, d] = x.shape as [number, number, number, number];
    const m = projection.shape[0]!;
    const xs = tf.mul(x, d ** -0.25);
    const dash = tf.matMul(xs.reshape([B * H * N, d]), projection, false, true).reshape([B, H, N, m]); // W x'
    const diag = tf.mul(tf.sum(tf.square(xs), -1, true), 0.5); // |x'|^2 / 2 [B, H, N, 1]
    const stab = detachedMax(dash, isQuery ? -1 : [2, 3]); // [B, H, N, 1] or [B, H, 1, 1]
    return tf.mul(tf.add(tf.exp(tf.sub(tf.sub(dash, diag), stab)), eps), m ** -0.5);
  });
}

export class PerformerAttention extends MultiHeadAttention {
  readonly kind = 'performer';
  readonly options: Required<z.output<typeof performerOptionsSchema>>;
  readonly projection: tf.Variable; // [m, headDim]
  /**
   * Training calls since the last redraw, a non-trainable scalar parameter so that a
   * checkpoint restores it and a resumed run redraws at the same steps.
   */
  readonly callsSinceRedraw: tf.Variable; // []
  private readonly ownRng: Rng;

  constructor(rng: Rng, args: AttentionLayerArgs, options: PerformerOptions = {}) {
    super(rng, args);
    const d = this.headDim;
    const o = parseOptions(performerOptionsSchema, options, 'performer attention');
    this.options = { ...o, nbFeatures: o.nbFeatures ?? Math.max(1, Math.round(d * Math.log(d))) };
    this.ownRng = rng.fork();
    const m = this.options.nbFeatures;
    this.projection = this.param('projection', tf.tensor2d(orthogonalRandomFeatures(this.ownRng, m, d), [m, d]), {
      trainable: false,
      decay: false,
    });
    this.callsSinceRedraw = this.param('callsSinceRedraw', tf.scalar(0), { trainable: false, decay: false });
  }

  /** Draws new random features (from `rng`, else the layer's own stream). */
  redrawFeatures(rng?: Rng): void {
    const m = this.options.nbFeatures;
    const d = this.headDim;
    const w = tf.tensor2d(orthogonalRandomFeatures(rng ?? this.ownRng, m, d), [m, d]);
    this.projection.assign(w);
    w.dispose();
    this.setCalls(0);
  }

  private setCalls(n: number): void {
    const t = tf.scalar(n);
    this.callsSinceRedraw.assign(t);
    t.dispose();
  }

  override forward(x: tf.Tensor, ctx: ForwardContext, opts = {}): tf.Tensor {
    if (ctx.training && this.options.redrawInterval > 0) {
      // As performer-pytorch: redraw once `redrawInterval` calls have used the current features.
      if (this.callsSinceRedraw.dataSync()[0]! >= this.options.redrawInterval) this.redrawFeatures(ctx.rng?.fork());
      this.setCalls(this.callsSinceRedraw.dataSync()[0]! + 1);
    }
    return super.forward(x, ctx, opts);
  }

  protected core(p: Projected, _ctx: ForwardContext): tf.Tensor {
    const qf = softmaxKernelFeatures(p.q, this.projection, true);
    const kf = maskKeys(softmaxKernelFeatures(p.k, this.projection, false), p.keyMask);
    return linearAttentionCore(qf, kf, p.v, {
      causal: this.causal,
      chunkSize: this.options.chunkSize,
      denominator: 'add',
      // performer-pytorch: no stabiliser in the normal form, 1e-6 in the causal one.
      eps: this.causal ? 1e-6 : 0,
    });
  }
}
