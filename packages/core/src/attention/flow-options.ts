/**
 * Options of Flow-Attention and the small helpers its normal and causal forms share.
 * Every default is the original core code's (thuml/Flowformer `Flow_Attention.py`).
 */
import { tf } from '../tf.ts';

/** Non-negative map applied to queries and keys. */
export type FeatureMap =
  /** `sigmoid(x)`: the core code and every experiment except LRA. */
  | 'sigmoid'
  /** `relu(x) + 1e-6`: the LRA code (`Flowformer_LRA/.../flow_attention.py`). */
  | 'relu';

/**
 * Which axis the source-competition softmax runs over.
 * - 'keys': the paper's definition and the core code, softmax over the S sources of a head.
 * - 'heads': the LRA code, whose `[B, S, H]` layout puts the heads last, so its
 *   `softmax(conserved_source, axis=-1)` competes the H heads of each key; still scaled by S.
 */
export type CompetitionAxis = 'keys' | 'heads';

/**
 * How the causal form is computed (all give the same function):
 * - 'auto' (default): 'fused' when the sequence fits in one chunk (L <= chunkSize) and there
 *   is no padding mask, 'chunked' otherwise.
 * - 'fused': the whole causal flow in one hand-written gradient with a masked `[L, L]`
 *   product; fewest kernels, memory quadratic in L. No padding mask.
 * - 'chunked': masked `(q k^T) v` inside chunks, a carried `D x Dv` state across chunks;
 *   memory linear in L.
 * - 'parallel': the original code's `[B, H, L, D, Dv]` prefix sum of outer products;
 *   memory L * D * Dv per head, kept as the reference and for the benchmark.
 */
export type CausalImpl = 'auto' | 'fused' | 'chunked' | 'parallel';
export const CAUSAL_IMPLS: readonly CausalImpl[] = ['auto', 'fused', 'chunked', 'parallel'];

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

export interface FlowAttentionOptions {
  /** Output t depends only on positions <= t (requires L == S). Default false. */
  causal?: boolean;
  /** Added to queries, keys and the flow sums before every dot product of the flow. Default 1e-6. */
  eps?: number;
  /**
   * Added once more after each of the four flow contractions (incoming, outgoing, conserved
   * sink and source, before the clamp). The vision code (`Flowformer_CV/flowformer.py`) adds
   * 1e-6 there; the core code and every other experiment 0 (default). Non-causal only.
   */
  outerEps?: number;
  /** Default 'sigmoid'. */
  featureMap?: FeatureMap;
  /**
   * Bound of the symmetric clamp on `conservedSource`: 1 in the core code (default), 5 in the
   * WikiText code, 10 in the offline-RL code, `null` (no clamp) in the time-series and LRA code.
   */
  clamp?: number | null;
  /** `[B, S]`, 1 = real key, 0 = padding. A padded position is neither a source nor a sink. */
  keyPaddingMask?: tf.Tensor;
  /**
   * `[B, L]`, 1 = real query (sink). Default: `keyPaddingMask` when L == S (one sequence, as in
   * self-attention), none otherwise. Pass `null` to count every query as a sink. Outputs at
   * padded query positions are zero.
   */
  queryPaddingMask?: tf.Tensor | null;
  /** Source competition (softmax reweighting of values). `false` = the paper's "w/o competition" ablation. Default true. */
  competition?: boolean;
  /** Sink allocation (sigmoid gate on outputs). `false` = the paper's "w/o allocation" ablation. Default true. */
  allocation?: boolean;
  /** Default 'keys' (the paper); 'heads' reproduces the LRA code. Non-causal only. */
  competitionAxis?: CompetitionAxis;
  /** Causal form only. Default 'auto' (see `CausalImpl`). */
  causalImpl?: CausalImpl;
  /** Chunk length of the chunked causal form. Default 128 (`DEFAULT_CHUNK_SIZE`). */
  chunkSize?: number;
}

/**
 * Default chunk length of the chunked causal form. 128 beat 64 and 256 at L = 4096, H = 8,
 * D = 64 on wasm (fewer, larger batched products; measured on a loaded 2-core machine, so
 * re-measure with `flowformer bench attention --chunk-size` on yours).
 */
export const DEFAULT_CHUNK_SIZE = 128;

export interface ResolvedFlowOptions {
  causal: boolean;
  eps: number;
  outerEps: number;
  featureMap: FeatureMap;
  clamp: number | null;
  competition: boolean;
  allocation: boolean;
  competitionAxis: CompetitionAxis;
  causalImpl: CausalImpl;
  chunkSize: number;
}

export function resolveFlowOptions(o: FlowAttentionOptions = {}): ResolvedFlowOptions {
  const r: ResolvedFlowOptions = {
    causal: o.causal ?? false,
    eps: o.eps ?? 1e-6,
    outerEps: o.outerEps ?? 0,
    featureMap: o.featureMap ?? 'sigmoid',
    clamp: o.clamp === undefined ? 1 : o.clamp,
    competition: o.competition ?? true,
    allocation: o.allocation ?? true,
    competitionAxis: o.competitionAxis ?? 'keys',
    causalImpl: o.causalImpl ?? 'auto',
    chunkSize: o.chunkSize ?? DEFAULT_CHUNK_SIZE,
  };
  if (r.featureMap !== 'sigmoid' && r.featureMap !== 'relu') {
    throw new Error(`flowAttention: featureMap must be 'sigmoid' or 'relu', got '${String(r.featureMap)}'`);
  }
  if (r.competitionAxis !== 'keys' && r.competitionAxis !== 'heads') {
    throw new Error(`flowAttention: competitionAxis must be 'keys' or 'heads', got '${String(r.competitionAxis)}'`);
  }
  if (r.causal && r.competitionAxis === 'heads') {
    throw new Error("flowAttention: competitionAxis 'heads' exists only in the LRA code, which is non-causal; use 'keys' with causal: true");
  }
  if (!CAUSAL_IMPLS.includes(r.causalImpl)) {
    throw new Error(`flowAttention: causalImpl must be one of ${CAUSAL_IMPLS.map((c) => `'${c}'`).join(', ')}; got '${String(r.causalImpl)}'`);
  }
  if (!Number.isInteger(r.chunkSize) || r.chunkSize < 1) {
    throw new Error(`flowAttention: chunkSize must be a positive integer, got ${r.chunkSize}`);
  }
  if (r.clamp !== null && !(r.clamp > 0)) {
    throw new Error(`flowAttention: clamp must be a positive number or null (no clamp), got ${r.clamp}`);
  }
  if (!(r.eps >= 0)) throw new Error(`flowAttention: eps must be >= 0, got ${r.eps}`);
  if (!(r.outerEps >= 0)) throw new Error(`flowAttention: outerEps must be >= 0, got ${r.outerEps}`);
  if (r.causal && r.outerEps !== 0) throw new Error('flowAttention: outerEps exists only in the vision code, which is non-causal; leave it at 0 with causal: true');
  return r;
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
