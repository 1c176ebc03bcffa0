/**
 * Reformer's LSH attention (Kitaev et al., ICLR 2020), following the reference
 * implementations (trax; reformer-pytorch's `LSHAttention`):
 *
 * - shared query/key projection; keys are the L2-normalised queries; scores q.k / sqrt(d);
 * - `nHashes` rounds of angular LSH: bucket = argmax([xR, -xR]) with a random rotation
 *   R `[d, nBuckets/2]` per round (fresh each call; shared by batch and heads);
 * - per round, positions sorted by (bucket, position); the rounds are concatenated and cut
 *   into chunks of `bucketSize`; each chunk attends to itself and the previous chunk
 *   (wrapping around, as the reference's `look_one_back`);
 * - a position does not attend to itself unless it has nothing else to attend to (its
 *   score is set to -5e4, the reference's TOKEN_SELF_ATTN_VALUE); causal: no key after the
 *   query; padded keys are excluded;
 * - the rounds are combined with weights softmax_r(logsumexp of round r's scores), so the
 *   result is the attention over the union of the rounds' candidates (duplicates allowed,
 *   as the reference's default).
 *
 * Sequences are padded internally to a multiple of `bucketSize` (padded keys excluded).
 * Bucket ids are read back to JavaScript and sorted there (exact, backend-independent);
 * the sort and un-sort are gathers whose gradients are the inverse gathers (custom
 * gradients: no scatter kernel is needed). Rotations come from `ctx.rng` when given
 * (training), else from a fixed per-layer seed, so evaluation is deterministic.
 */
import { z } from 'zod';
import { tf } from '../tf.ts';
import { Rng } from '../rng.ts';
import type { ForwardContext } from '../nn/module.ts';
import { MultiHeadAttention, type Projected } from './multihead.ts';
import { logSumExp } from '../nn/ops.ts';
import type { AttentionLayerArgs } from './types.ts';
import { parseOptions } from './options.ts';

/**
 * Reformer's knobs, declared once (config validation, the layer's types and defaults).
 * nHashes 2 is the Reformer paper's LRA setting (the reference library defaults to 8);
 * `nBuckets` has no constant default: (padded length) / bucketSize rounded up to even.
 */
export const reformerOptionsSchema = z.object({
  nHashes: z.number().int().min(1).default(2).describe('hashing rounds (default 2)'),
  bucketSize: z.number().int().min(1).default(32).describe('positions per attention chunk (default 32)'),
  nBuckets: z
    .number()
    .int()
    .min(1)
    .refine((n) => n === 1 || n % 2 === 0, 'must be 1 or even')
    .optional()
    .describe('buckets per round, 1 or even (default: padded length / bucketSize, rounded up to even)'),
});
export type ReformerOptions = z.input<typeof reformerOptionsSchema>;

/** Score of a query attending to itself (only wins when nothing else is allowed). */
const SELF_SCORE = -5e4;
/** Score of a forbidden pair (padding, future). */
const MASKED_SCORE = -1e9;

/**
 * Rows of `x` `[rowsIn, F]` gathered by `fwd` (length rowsOut). Every input row is used
 * exactly `rep` times; `bwd` `[rowsIn * rep]` lists, for input row i, the output rows that
 * copied it, so the gradient is a gather of dy by `bwd` summed over the copies.
 */
function gatherRows(x: tf.Tensor, fwd: Int32Array, bwd: Int32Array, rep: number): tf.Tensor {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor;
    const [rowsIn, F] = input.shape as [number, number];
    const fwdT = tf.tensor1d(fwd, 'int32');
    const value = tf.gather(input, fwdT);
    fwdT.dispose();
    return {
      value,
      gradFunc: (dy: tf.Tensor) =>
        tf.tidy(() => {
          const g = tf.gather(dy, tf.tensor1d(bwd, 'int32'));
          return rep === 1 ? g : g.reshape([rowsIn, rep, F]).sum(1);
        }),
    };
  });
  return f(x);
}

/** `[N, nC, C, ...]` -> `[N, nC, 2C, ...]`: each chunk followed by the previous one (wrapping). */
function lookOneBack(x: tf.Tensor): tf.Tensor {
  const nC = x.shape[1]!;
  if (nC === 1) return tf.concat([x, x], 2);
  const prev = tf.concat([tf.slice(x, [0, nC - 1], [-1, 1]), tf.slice(x, [0, 0], [-1, nC - 1])], 1);
  return tf.concat([x, prev], 2);
}

export class ReformerAttention extends MultiHeadAttention {
  readonly kind = 'reformer';
  readonly options: z.output<typeof reformerOptionsSchema>;
  private readonly evalSeed: number;

  constructor(rng: Rng, args: AttentionLayerArgs, options: ReformerOptions = {}) {
    super(rng, args, { sharedQK: true });
    this.options = parseOptions(reformerOptionsSchema, options, 'reformer attention');
    this.evalSeed = rng.seed();
  }

  protected core(p: Projected, ctx: ForwardContext): tf.Tensor {
    const [B, H, L, D] = p.q.shape as [number, number, number, number];
    const N = B * H;
    const C = this.options.bucketSize;
    const R = this.options.nHashes;
    const Lp = Math.ceil(L / C) * C; // padded length
    const T = R * Lp; // sorted length per (batch, head)
    const nC = T / C;
    const nb = this.options.nBuckets ?? Math.max(2, 2 * Math.ceil(Lp / C / 2));
    const pad = (x: tf.Tensor) => (Lp === L ? x : tf.pad(x, [[0, 0], [0, 0], [0, Lp - L], [0, 0]]));
    const qk = pad(p.q).reshape([N * Lp, D]);
    const v = pad(p.v).reshape([N * Lp, D]);

    // Which positions are real keys: [B, Lp] in JS.
    const real = new Uint8Array(B * Lp);
    const km = p.keyMask ? (p.keyMask.dataSync() as Float32Array) : null;
    for (let b = 0; b < B; b++) for (let l = 0; l < L; l++) real[b * Lp + l] = km ? (km[b * L + l]! > 0.5 ? 1 : 0) : 1;

    // 1. Hash: buckets [N * Lp, R].
    const buckets = new Int32Array(N * Lp * R);
    if (nb > 1) {
      const rng = ctx.rng ?? new Rng(this.evalSeed);
      const half = nb / 2;
      const rot = new Float32Array(D * R * half);
      for (let i = 0; i < rot.length; i++) rot[i] = rng.normal();
      const ids = tf.tidy(() => {
        const rotated = tf.matMul(qk, tf.tensor2d(rot, [D, R * half])).reshape([N * Lp, R, half]);
        return tf.argMax(tf.concat([rotated, tf.neg(rotated)], -1), -1); // [N * Lp, R]
      });
      buckets.set(ids.dataSync() as Int32Array);
      ids.dispose();
    }

    // 2. Sort each round by (bucket, position); rounds concatenated: sortPos[n, t] = position.
    const sortRow = new Int32Array(N * T); // row of qk/v (n * Lp + l) for sorted slot (n, t)
    const sortPos = new Int32Array(N * T);
    const bwdSort = new Int32Array(N * Lp * R); // for row (n, l) and round r: sorted slot n * T + t
    const order = new Int32Array(Lp);
    for (let n = 0; n < N; n++) {
      for (let r = 0; r < R; r++) {
        for (let l = 0; l < Lp; l++) order[l] = l;
        const key = (l: number) => buckets[(n * Lp + l) * R + r]! * Lp + l;
        order.sort((a, b) => key(a) - key(b));
        for (let i = 0; i < Lp; i++) {
          const t = r * Lp + i;
          const l = order[i]!;
          sortRow[n * T + t] = n * Lp + l;
          sortPos[n * T + t] = l;
          bwdSort[(n * Lp + l) * R + r] = n * T + t;
        }
      }
    }

    // 3. Additive score mask [N, nC, C, 2C] from positions: self, causal, padding.
    const mask = new Float32Array(N * nC * C * 2 * C);
    for (let n = 0; n < N; n++) {
      const b = Math.floor(n / H);
      for (let c = 0; c < nC; c++) {
        const prev = (c + nC - 1) % nC;
        for (let i = 0; i < C; i++) {
          const qPos = sortPos[n * T + c * C + i]!;
          const base = ((n * nC + c) * C + i) * 2 * C;
          for (let j = 0; j < 2 * C; j++) {
            const kPos = sortPos[n * T + (j < C ? c : prev) * C + (j % C)]!;
            let s = 0;
            if (qPos === kPos) s = SELF_SCORE;
            else if (!real[b * Lp + kPos] || (this.causal && kPos > qPos)) s = MASKED_SCORE;
            mask[base + j] = s;
          }
        }
      }
    }

    // 4. Chunked attention in sorted order.
    const sqk = gatherRows(qk, sortRow, bwdSort, R).reshape([N, nC, C, D]);
    const sv = gatherRows(v, sortRow, bwdSort, R).reshape([N, nC, C, D]);
    const keys = lookOneBack(tf.div(sqk, tf.maximum(tf.sqrt(tf.sum(tf.square(sqk), -1, true)), 1e-12))); // [N, nC, 2C, D], F.normalize
    const vals = lookOneBack(sv); // [N, nC, 2C, D]
    const dots = tf.add(tf.mul(tf.matMul(sqk, keys, false, true), D ** -0.5), tf.tensor4d(mask, [N, nC, C, 2 * C]));
    // Weights by softmax (max subtracted first) rather than exp(dots - lse): at scores near the
    // self value -5e4 a float32 lse is only good to ~4e-3, which would scale rows by up to 0.4%.
    const lse = logSumExp(dots, -1, true); // [N, nC, C, 1], only used to weigh the rounds
    const bo = tf.matMul(tf.softmax(dots, -1), vals); // [N, nC, C, D]

    // 5. Undo the sort (outputs and their log-normalisers together) and combine the rounds.
    const unsortRow = new Int32Array(N * R * Lp); // row (n, r, l) <- sorted slot
    const bwdUnsort = new Int32Array(N * T); // sorted slot (n, t) -> row (n, r, l)
    for (let n = 0; n < N; n++) {
      for (let t = 0; t < T; t++) {
        const r = Math.floor(t / Lp);
        const row = (n * R + r) * Lp + sortPos[n * T + t]!;
        unsortRow[row] = n * T + t;
        bwdUnsort[n * T + t] = row;
      }
    }
    const so = tf.concat([bo, lse], -1).reshape([N * T, D + 1]);
    const o = gatherRows(so, unsortRow, bwdUnsort, 1).reshape([N, R, Lp, D + 1]);
    const outR = tf.slice(o, [0, 0, 0, 0], [N, R, Lp, D]);
    const logits = tf.slice(o, [0, 0, 0, D], [N, R, Lp, 1]);
    const weights = tf.softmax(logits.transpose([0, 2, 3, 1]), -1).transpose([0, 3, 1, 2]); // softmax over rounds
    const out = tf.sum(tf.mul(outR, weights), 1); // [N, Lp, D]
    return tf.slice(out.reshape([B, H, Lp, D]), [0, 0, 0, 0], [B, H, L, D]);
  }
}
