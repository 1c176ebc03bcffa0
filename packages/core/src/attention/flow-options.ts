/**
 * Options of Flow-Attention and the small helpers its normal and causal forms share.
 * Every default is the original core code's (thuml/Flowformer `Flow_Attention.py`).
 */
import { z } from 'zod';
import { tf } from '../tf.ts';
import { parseOptions } from './options.ts';

/**
 * Default chunk length of the chunked causal form. 128 beat 64 and 256 at L = 4096, H = 8,
 * D = 64 on wasm (fewer, larger batched products; measured on a loaded 2-core machine, so
 * re-measure with `flowformer bench attention --chunk-size` on yours).
 */
export const DEFAULT_CHUNK_SIZE = 128;

export const CAUSAL_IMPLS = ['auto', 'fused', 'chunked', 'parallel'] as const;

/**
 * Flow-Attention's knobs, declared once: the config's `attention: {type: flow, ...}` is
 * validated against this schema (without its defaults, see `attention/registry.ts`), the
 * layer's and the kernel's option types are inferred from it, and `resolveFlowOptions` fills
 * in its defaults. The descriptions are what `flowformer list attentions` prints.
 *
 * - featureMap: `sigmoid(x)` in the core code and every experiment except LRA; `relu(x) + 1e-6`
 *   in the LRA code (`Flowformer_LRA/.../flow_attention.py`).
 * - competitionAxis: 'keys' is the paper's definition and the core code, a softmax over the S
 *   sources of a head; 'heads' is the LRA code, whose `[B, S, H]` layout puts the heads last,
 *   so its `softmax(conserved_source, axis=-1)` competes the H heads of each key (still scaled by S).
 * - causalImpl (all give the same function): 'fused' is the whole causal flow in one
 *   hand-written gradient with a masked `[L, L]` product, fewest kernels, memory quadratic in L,
 *   no padding mask; 'chunked' is masked `(q k^T) v` inside chunks with a carried `D x Dv` state
 *   across chunks, memory linear in L; 'parallel' is the original code's `[B, H, L, D, Dv]` prefix
 *   sum of outer products, memory L * D * Dv per head, kept as the reference and for the benchmark.
 */
export const flowOptionsSchema = z.object({
  eps: z.number().positive().default(1e-6).describe('added before every flow dot product (default 1e-6)'),
  outerEps: z
    .number()
    .min(0)
    .default(0)
    .describe('added again after each flow contraction: 1e-6 in the vision code (Flowformer_CV), 0 elsewhere (default 0; non-causal only)'),
  featureMap: z.enum(['sigmoid', 'relu']).default('sigmoid').describe("'sigmoid' (core code, default) or 'relu' = relu(x)+1e-6 (LRA code)"),
  clamp: z
    .number()
    .positive()
    .nullable()
    .default(1)
    .describe('bound of the clamp on conservedSource: 1 core code (default), 5 WikiText, 10 RL, null none (time series, LRA)'),
  competition: z.boolean().default(true).describe('source competition; false = the paper\'s "w/o competition" ablation (default true)'),
  allocation: z.boolean().default(true).describe('sink allocation; false = the paper\'s "w/o allocation" ablation (default true)'),
  competitionAxis: z.enum(['keys', 'heads']).default('keys').describe("softmax of the competition over 'keys' (paper, default) or 'heads' (LRA code)"),
  causalImpl: z
    .enum(CAUSAL_IMPLS)
    .default('auto')
    .describe(
      "causal form: 'auto' (default: 'fused' when L <= chunkSize without padding, else 'chunked'), 'fused' (one hand-written gradient, memory quadratic in L), 'chunked' (memory linear in L) or 'parallel' (the original's)",
    ),
  chunkSize: z.number().int().min(1).default(DEFAULT_CHUNK_SIZE).describe(`positions per chunk of the causal form (default ${DEFAULT_CHUNK_SIZE})`),
});

/** The knobs as written in a config or passed to the layer: every one optional. */
export type FlowOptions = z.input<typeof flowOptionsSchema>;
export type FeatureMap = z.output<typeof flowOptionsSchema>['featureMap'];
export type CompetitionAxis = z.output<typeof flowOptionsSchema>['competitionAxis'];
export type CausalImpl = z.output<typeof flowOptionsSchema>['causalImpl'];

/** What `flowAttention` takes: the knobs, the form (causal), and the per-call padding masks. */
export interface FlowAttentionOptions extends FlowOptions {
  /** Output t depends only on positions <= t (requires L == S). Default false. */
  causal?: boolean;
  /** `[B, S]`, 1 = real key, 0 = padding. A padded position is neither a source nor a sink. */
  keyPaddingMask?: tf.Tensor;
  /**
   * `[B, L]`, 1 = real query (sink). Default: `keyPaddingMask` when L == S (one sequence, as in
   * self-attention), none otherwise. Pass `null` to count every query as a sink. Outputs at
   * padded query positions are zero.
   */
  queryPaddingMask?: tf.Tensor | null;
}

/** Every knob filled in, and the form. */
export type ResolvedFlowOptions = z.output<typeof flowOptionsSchema> & { causal: boolean };

/**
 * The form 'auto' stands for at sequence length L. At L = 64, B = 12, H = 4, D = 32 (the
 * character-level GPT) 'fused' took about two thirds of the CPU time of 'chunked' per
 * forward + backward on tfjs-node (kernel launches dominate there); beyond one chunk its `[L, L]`
 * product grows quadratically, which is what the chunked form exists to avoid.
 */
export function resolveCausalImpl(impl: CausalImpl, L: number, chunkSize: number, masked: boolean): Exclude<CausalImpl, 'auto'> {
  if (impl !== 'auto') return impl;
  return L <= chunkSize && !masked ? 'fused' : 'chunked';
}

/** Fills in the schema's defaults; throws naming the first bad option. */
export function resolveFlowOptions(o: FlowAttentionOptions = {}): ResolvedFlowOptions {
  const { causal = false, keyPaddingMask: _k, queryPaddingMask: _q, ...knobs } = o;
  const knobValues = parseOptions(flowOptionsSchema, knobs, 'flowAttention');
  if (causal && knobValues.competitionAxis === 'heads') {
    throw new Error("flowAttention: competitionAxis 'heads' exists only in the LRA code, which is non-causal; use 'keys' with causal: true");
  }
  if (causal && knobValues.outerEps !== 0) {
    throw new Error('flowAttention: outerEps exists only in the vision code, which is non-causal; leave it at 0 with causal: true');
  }
  return { ...knobValues, causal };
}

/** The non-negative feature map phi(x), elementwise. */
export function applyFeatureMap(x: tf.Tensor, featureMap: FeatureMap): tf.Tensor {
  // The LRA code adds a fixed 1e-6 (not `eps`) so that relu features are strictly positive.
  return featureMap === 'sigmoid' ? tf.sigmoid(x) : tf.add(tf.relu(x), 1e-6);
}

/**
 * A `[B, n]` padding mask (any dtype, 1 = real) as float32 `[B, 1, n, 1]`, ready to broadcast
 * against `[B, H, n, D]`. `name` is the option's name, for the error message.
 */
export function paddingMask4(mask: tf.Tensor, B: number, n: number, name: string): tf.Tensor {
  if (mask.rank !== 2 || mask.shape[0] !== B || mask.shape[1] !== n) {
    throw new Error(`flowAttention: ${name} must have shape [B=${B}, ${n}] (1 = real, 0 = padding), got [${mask.shape}]`);
  }
  return tf.tidy(() => tf.cast(mask, 'float32').reshape([B, 1, n, 1]));
}

/**
 * `sum_d (a_d + eps) (b_d + eps)` over the last axis: `[..., n, D]` and `[..., n|1, D]` (b may
 * broadcast) -> `[..., n, 1]`. Every flow sum of Flow-Attention has this form. The gradient is
 * written by hand so that neither `a + eps`, `b + eps` nor their product is kept for the
 * backward pass (tfjs's autodiff keeps each intermediate and its gradient until the end).
 */
export function epsDot(a: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor {
  if (oneRowOfB(a, b)) return epsDotRow(a, b, eps);
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, y] = args as [tf.Tensor, tf.Tensor];
    const save = args[2] as tf.GradSaveFunc;
    save([x, y]);
    return {
      value: tf.tidy(() => tf.sum(tf.mul(tf.add(x, eps), tf.add(y, eps)), -1, true)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [xs, ys] = saved as [tf.Tensor, tf.Tensor];
          const dx = sumToShape(tf.mul(dy, tf.add(ys, eps)), xs.shape);
          const dyy = sumToShape(tf.mul(dy, tf.add(xs, eps)), ys.shape);
          return [dx, dyy];
        }),
    };
  });
  return f(a, b);
}

/** Whether `b` is `[..., 1, D]` against `a` `[..., n, D]` with the same leading axes: one row of b per matrix of a. */
function oneRowOfB(a: tf.Tensor, b: tf.Tensor): boolean {
  const r = a.rank;
  return r >= 2 && b.rank === r && b.shape[r - 2] === 1 && b.shape[r - 1] === a.shape[r - 1] && a.shape.slice(0, r - 2).every((d, i) => d === b.shape[i]);
}

/**
 * epsDot when b is one row per matrix (the non-causal flow sums, b = a sum over the sequence):
 * sum_d (a_d + eps) b'_d with b' = b + eps is a b' + eps sum_d b'_d, a matrix-vector product,
 * which reads `a` once instead of making a + eps, the product and its sum (three passes over
 * `[B, H, n, D]`). Backward: da = dy b'^T (an outer product), db = a^T dy + eps sum_n dy.
 * Agrees with the elementwise form to float32 rounding.
 */
function epsDotRow(a: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor {
  const r = a.rank;
  const lead = a.shape.slice(0, r - 2);
  const [n, D] = [a.shape[r - 2]!, a.shape[r - 1]!];
  const M = lead.reduce((p, d) => p * d, 1);
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, y] = args as [tf.Tensor, tf.Tensor];
    const save = args[2] as tf.GradSaveFunc;
    save([x, y]);
    return {
      value: tf.tidy(() => epsDotColumn(x.reshape([M, n, D]), tf.add(y, eps).reshape([M, D, 1]), eps).reshape([...lead, n, 1])),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [xs, ys] = saved as [tf.Tensor, tf.Tensor];
          const dy3 = dy.reshape([M, n, 1]);
          const dx = tf.matMul(dy3, tf.add(ys, eps).reshape([M, 1, D])).reshape(xs.shape);
          return [dx, epsDotColumnGrad(xs.reshape([M, n, D]), dy3, eps).reshape(ys.shape)];
        }),
    };
  });
  return f(a, b);
}

/**
 * sum_d (x_d + eps) w_d for `x` `[M, n, D]` against one column per matrix, `wE` `[M, D, 1]`,
 * that already holds w + eps: x wE + eps sum(wE), `[M, n, 1]`.
 */
export function epsDotColumn(x: tf.Tensor, wE: tf.Tensor, eps: number): tf.Tensor {
  return tf.add(tf.matMul(x, wE), tf.mul(tf.sum(wE, 1, true), eps));
}

/** The gradient of epsDotColumn in its column, from `d` `[M, n, 1]`: x^T d + eps sum_n d, `[M, D, 1]`. */
export function epsDotColumnGrad(x: tf.Tensor, d: tf.Tensor, eps: number): tf.Tensor {
  return tf.add(tf.matMul(x, d, true, false), tf.mul(tf.sum(d, 1, true), eps));
}

/** Sums a broadcast result back to `shape` (the adjoint of broadcasting). */
function sumToShape(x: tf.Tensor, shape: number[]): tf.Tensor {
  const lead = x.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < x.rank; i++) if (i < lead || (shape[i - lead] === 1 && x.shape[i] !== 1)) axes.push(i);
  return axes.length ? tf.sum(x, axes).reshape(shape) : x.reshape(shape);
}

export function checkQkv(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, fn: string): void {
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) {
    throw new Error(`${fn}: q, k, v must be rank 4 ([B,H,L,D], [B,H,S,D], [B,H,S,Dv]); got ranks ${q.rank}, ${k.rank}, ${v.rank}`);
  }
  const [B, H, , D] = q.shape;
  const [Bk, Hk, S, Dk] = k.shape;
  const [Bv, Hv, Sv] = v.shape;
  if (Bk !== B || Bv !== B || Hk !== H || Hv !== H) {
    throw new Error(`${fn}: batch and head axes must agree: q [${q.shape}], k [${k.shape}], v [${v.shape}]`);
  }
  if (Dk !== D) throw new Error(`${fn}: q and k must have the same feature size D: q [${q.shape}], k [${k.shape}]`);
  if (Sv !== S) throw new Error(`${fn}: k and v must have the same length S: k [${k.shape}], v [${v.shape}]`);
}
