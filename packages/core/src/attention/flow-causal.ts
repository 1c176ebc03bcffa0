/**
 * Causal Flow-Attention: exactly the function of the original `Flow_Attention_Causal`
 * (thuml/Flowformer), where every sum over sources becomes a prefix sum up to the current
 * position and the "normal" factor t (the number of positions seen, 1-based) rescales the
 * flows so that they stay comparable with the non-causal ones.
 *
 * The flow quantities (`sinkIncoming`, `conservedSource`, ...) are `[B, H, L, 1]` and their
 * prefix sums `[B, H, L, D]`: linear in L. Only the final causal dot product
 * `out_t = q'_t . sum_{s<=t} k_s (x) v'_s` needs a `D x Dv` state per position, and it has
 * three implementations of the same function:
 * - `parallel`: the original's `[B, H, L, D, Dv]` prefix sum of outer products (reference),
 * - `chunked` (default beyond one chunk): within a chunk of C positions a masked `(q k^T) v`;
 *   across chunks the `D x Dv` state carried from all previous chunks (memory linear in L),
 * - `flowCausalStep`: one token at a time from a per-head recurrent state, O(D * Dv) per token.
 *
 * For a sequence that fits in one chunk, `fused` (flow-causal-fused.ts) computes all of it,
 * flows included, in one hand-written gradient ('auto' picks it there).
 *
 * No `tf.einsum` (it has no gradient) and no reliance on tfjs's Cumsum gradient (wrong on
 * non-last axes): prefix sums go through `prefixSum`, which carries its own gradient.
 */
import { tf } from '../tf.ts';
import { prefixSum } from './prefix-sum.ts';
import { flowAttentionCausalFused } from './flow-causal-fused.ts';
import {
  applyFeatureMap,
  paddingMask4,
  resolveCausalImpl,
  resolveFlowOptions,
  epsDot,
  type FlowAttentionOptions,
  type ResolvedFlowOptions,
} from './flow-options.ts';

/**
 * Causal Flow-Attention on projected `q` `[B,H,L,D]`, `k` `[B,H,L,D]`, `v` `[B,H,L,Dv]`
 * -> `[B,H,L,Dv]`. `mask` is an optional `[B, L]` padding mask (1 = real). Callers normally
 * use `flowAttention(q, k, v, { causal: true, ... })`.
 */
export function flowAttentionCausal(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  opts: ResolvedFlowOptions,
  mask?: tf.Tensor,
): tf.Tensor {
  const [B, H, L] = q.shape as [number, number, number, number];
  if (k.shape[2] !== L) {
    throw new Error(`flowAttention: the causal form needs L == S (self-attention); got q [${q.shape}], k [${k.shape}]`);
  }
  const impl = resolveCausalImpl(opts.causalImpl, L, opts.chunkSize, mask !== undefined);
  if (impl === 'fused') {
    if (mask) throw new Error("flowAttention: causalImpl 'fused' takes no padding mask; use 'auto' or 'chunked' with keyPaddingMask");
    return flowAttentionCausalFused(q, k, v, opts);
  }
  return tf.tidy(() => {
    const { eps } = opts;
    const phiQ = applyFeatureMap(q, opts.featureMap); // [B,H,L,D]
    const phiK = applyFeatureMap(k, opts.featureMap); // [B,H,L,D]
    // A padded position is neither a sink nor a source: it adds nothing to any prefix sum
    // and does not count in `normal`.
    const m = mask ? paddingMask4(mask, B, L, 'keyPaddingMask') : null; // [B,1,L,1]
    const phiQm = m ? tf.mul(phiQ, m) : phiQ;
    const phiKm = m ? tf.mul(phiK, m) : phiK;
    // normal_t = number of (real) positions <= t, as float: [B,1,L,1] or [1,1,L,1].
    // At padded positions we add 1 - m so that no division below is by zero; those outputs
    // are zeroed at the end, so this changes nothing at real positions.
    const normal = m
      ? tf.add(prefixSum(m, 2), tf.sub(1, m))
      : tf.range(1, L + 1, 1, 'float32').reshape([1, 1, L, 1]);

    // (1) incoming flow of each sink, outgoing flow of each source, over the causal prefix,
    //     multiplied by `normal` to approximate the non-causal normalisation.
    const sinkIncoming = tf.div(normal, epsDot(phiQ, prefixSum(phiKm, 2), eps)); // [B,H,L,1]
    const sourceOutgoing = tf.div(normal, epsDot(phiK, prefixSum(phiQm, 2), eps)); // [B,H,L,1]
    // (2) conservation refine
    const conservedSink = tf.div(epsDot(phiQ, prefixSum(tf.mul(phiKm, sourceOutgoing), 2), eps), normal); // [B,H,L,1]
    let conservedSource = tf.div(epsDot(phiK, prefixSum(tf.mul(phiQm, sinkIncoming), 2), eps), normal); // [B,H,L,1]
    if (opts.clamp !== null) conservedSource = tf.clipByValue(conservedSource, -opts.clamp, opts.clamp);
    // (3) competition (a causal softmax over the sources so far, times normal) and allocation
    let values = v; // [B,H,L,Dv]
    if (opts.competition) {
      let expSource = tf.exp(conservedSource); // [B,H,L,1]; conservedSource > 0, so >= 1 at real positions
      if (m) expSource = tf.mul(expSource, m);
      let denom = prefixSum(expSource, 2);
      if (m) denom = tf.add(denom, tf.sub(1, m)); // padded positions: 0 / 1 instead of 0 / 0
      const sourceCompetition = tf.mul(tf.div(expSource, denom), normal); // [B,H,L,1]
      values = tf.mul(v, sourceCompetition);
    } else if (m) {
      values = tf.mul(v, m);
    }
    // (4) causal dot product. The original weights the queries by sinkIncoming / normal (value
    //     normalisation); that scales whole output rows, so it is applied to the output,
    //     together with sinkAllocation: no extra [B,H,L,D] tensor.
    let out =
      impl === 'parallel'
        ? causalDotProductParallel(phiQ, phiKm, values)
        : causalDotProductChunked(phiQ, phiKm, values, opts.chunkSize); // [B,H,L,Dv]
    let rowScale = tf.div(sinkIncoming, normal); // [B,H,L,1]
    if (opts.allocation) rowScale = tf.mul(rowScale, tf.sigmoid(conservedSink)); // sinkAllocation
    if (m) rowScale = tf.mul(rowScale, m);
    out = tf.mul(out, rowScale);
    return out;
  });
}

/**
 * `out_t = q_t . sum_{s<=t} k_s (x) v_s` as the original: materialise every outer product
 * `[B,H,L,D,Dv]` and prefix-sum it. Kept as the reference and for the benchmark: its memory,
 * B*H*L*D*Dv floats per live tensor, is what the chunked form avoids.
 *
 * The gradient is written by hand and frees each `[B,H,L,D,Dv]` temporary as soon as it is
 * used (about 3 alive at once; tfjs's autodiff kept about 7):
 *   dq_t = state_t dy_t,  dOuter_s = sum_{t>=s} q_t (x) dy_t,  dk_s = dOuter_s v_s,  dv_s = dOuter_s^T k_s
 */
export function causalDotProductParallel(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qs, ks, vs] = args as [tf.Tensor, tf.Tensor, tf.Tensor];
    const save = args[3] as tf.GradSaveFunc;
    save([qs, ks, vs]);
    return {
      value: tf.tidy(() => {
        const state = parallelState(ks, vs); // [B,H,L,D,Dv]
        return tf.sum(tf.mul(expandLast(qs), state), 3); // [B,H,L,Dv]
      }),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [qq, kk, vv] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const [B, H, L, D] = qq.shape as [number, number, number, number];
        const Dv = vv.shape[3]!;
        const dy5 = dy.reshape([B, H, L, 1, Dv]);
        const dq = tf.tidy(() => tf.sum(tf.mul(parallelState(kk, vv), dy5), 4)); // [B,H,L,D]
        const dOuter = tf.tidy(() => prefixSumRaw(tf.mul(expandLast(qq), dy5), 2, true)); // [B,H,L,D,Dv]
        const dk = tf.tidy(() => tf.sum(tf.mul(dOuter, vv.reshape([B, H, L, 1, Dv])), 4)); // [B,H,L,D]
        const dv = tf.tidy(() => tf.sum(tf.mul(dOuter, expandLast(kk)), 3)); // [B,H,L,Dv]
        dOuter.dispose();
        dy5.dispose();
        return [dq, dk, dv];
      },
    };
  });
  return f(q, k, v);
}

/** `[B,H,L,D]` -> `[B,H,L,D,1]`. */
const expandLast = (x: tf.Tensor) => x.reshape([...x.shape, 1]);

/** Prefix sums of the outer products k_s (x) v_s: `[B,H,L,D,Dv]`. */
function parallelState(k: tf.Tensor, v: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [B, H, L] = k.shape as [number, number, number, number];
    const outer = tf.mul(expandLast(k), v.reshape([B, H, L, 1, v.shape[3]!])); // [B,H,L,D,Dv]
    const state = tf.cumsum(outer, 2);
    outer.dispose();
    return state;
  });
}

/** `tf.cumsum` without a tape entry (inside a hand-written gradient). */
function prefixSumRaw(x: tf.Tensor, axis: number, reverse = false): tf.Tensor {
  const out = tf.cumsum(x, axis, false, reverse);
  x.dispose();
  return out;
}

/**
 * The same function in chunks of C positions. Inside chunk n:
 *   out_n = tril(Q_n K_n^T) V_n + Q_n P_n,   P_n = sum_{m<n} K_m^T V_m  (the carried `D x Dv` state),
 * where the carried states of all chunks are one exclusive prefix sum over the chunk axis,
 * so every product is a large batched matmul. L need not be a multiple of C (zero padding:
 * a zero key adds nothing to any state, and padded outputs are dropped).
 *
 * The gradient is written by hand (see `chunkedBackward`): tfjs's autodiff would keep every
 * intermediate and its gradient alive until the end of the backward pass, which tripled the
 * memory of this step. Memory: B*H*(L*C + (L/C)*D*Dv) floats per live tensor, linear in L.
 */
export function causalDotProductChunked(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, chunkSize: number): tf.Tensor {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qs, ks, vs] = args as [tf.Tensor, tf.Tensor, tf.Tensor];
    const save = args[3] as tf.GradSaveFunc;
    const { out, scores, carried } = chunkedForward(qs, ks, vs, chunkSize);
    // The backward pass reuses the masked scores and carried states (small: L*C and
    // (L/C)*D*Dv floats per head) instead of recomputing two batched products.
    save([qs, ks, vs, scores, carried]); // save keeps its own references
    tf.dispose([scores, carried]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => chunkedBackward(saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor], dy, chunkSize),
    };
  });
  return f(q, k, v);
}

/** Chunk bookkeeping: `[B,H,L,x]` <-> `[B*H*N, C, x]` with zero padding to N*C positions. */
function chunking(q: tf.Tensor, chunkSize: number) {
  const [B, H, L] = q.shape as [number, number, number, number];
  const C = Math.min(chunkSize, L);
  const N = Math.ceil(L / C);
  const pad = N * C - L;
  const toChunks = (x: tf.Tensor) => {
    const padded = pad > 0 ? tf.pad(x, [[0, 0], [0, 0], [0, pad], [0, 0]]) : x;
    return padded.reshape([B * H * N, C, x.shape[3]!]);
  };
  const fromChunks = (x: tf.Tensor) => {
    const out = x.reshape([B, H, N * C, x.shape[2]!]);
    return pad > 0 ? tf.slice(out, [0, 0, 0, 0], [B, H, L, x.shape[2]!]) : out;
  };
  return { B, H, L, C, N, toChunks, fromChunks };
}

/** `[C,C]` ones on and below the diagonal, zeros above (built on the host: one tensor). */
function lowerTriangle(C: number): tf.Tensor {
  const a = new Float32Array(C * C);
  for (let i = 0; i < C; i++) a.fill(1, i * C, i * C + i + 1);
  return tf.tensor(a, [C, C]);
}

function chunkedForward(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, chunkSize: number): { out: tf.Tensor; scores: tf.Tensor; carried: tf.Tensor } {
  return tf.tidy(() => {
    const { B, H, C, N, toChunks, fromChunks } = chunking(q, chunkSize);
    const D = q.shape[3]!;
    const Dv = v.shape[3]!;
    const [qc, kc, vc] = [toChunks(q), toChunks(k), toChunks(v)]; // [BHN,C,D], [BHN,C,D], [BHN,C,Dv]
    // Within the chunk: position i sees positions j <= i of the same chunk.
    const tril = lowerTriangle(C); // [C,C]
    const scores = tf.mul(tf.matMul(qc, kc, false, true), tril); // [BHN,C,C]
    const intra = tf.matMul(scores, vc); // [BHN,C,Dv]
    // Across chunks: the D x Dv state accumulated over all earlier chunks.
    const chunkState = tf.matMul(kc, vc, true, false).reshape([B * H, N, D * Dv]); // [BH,N,D*Dv]
    const carried = tf.cumsum(chunkState, 1, true).reshape([B * H * N, D, Dv]); // exclusive: [BHN,D,Dv]
    const inter = tf.matMul(qc, carried); // [BHN,C,Dv]
    return { out: fromChunks(tf.add(intra, inter)), scores, carried }; // out [B,H,L,Dv]
  });
}

/**
 * Gradients of `chunkedForward` w.r.t. q, k, v given dy `[B,H,L,Dv]`. With M = tril (Q K^T),
 * P_n the carried state and G_n = sum_{m>n} Q_m^T dO_m (what chunk n's state receives):
 *   dQ = (tril (dO V^T)) K + dO P^T
 *   dK = (tril (dO V^T))^T Q + V G^T
 *   dV = M^T dO + K G
 */
function chunkedBackward(saved: [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor], dy: tf.Tensor, chunkSize: number): tf.Tensor[] {
  const [q, k, v, scores, carried] = saved; // scores = M [BHN,C,C], carried = P [BHN,D,Dv]
  return tf.tidy(() => {
    const { B, H, C, N, toChunks, fromChunks } = chunking(q, chunkSize);
    const D = q.shape[3]!;
    const Dv = v.shape[3]!;
    const [qc, kc, vc, dO] = [toChunks(q), toChunks(k), toChunks(v), toChunks(dy)];
    const tril = lowerTriangle(C);
    // intra-chunk part
    const dScores = tf.mul(tf.matMul(dO, vc, false, true), tril); // [BHN,C,C]
    let dq = tf.matMul(dScores, kc); // [BHN,C,D]
    let dk = tf.matMul(dScores, qc, true, false); // [BHN,C,D]
    let dv = tf.matMul(scores, dO, true, false); // [BHN,C,Dv]
    // carried-state part
    dq = tf.add(dq, tf.matMul(dO, carried, false, true)); // dO P^T
    const received = tf.matMul(qc, dO, true, false).reshape([B * H, N, D * Dv]); // Q_n^T dO_n
    const G = tf.cumsum(received, 1, true, true).reshape([B * H * N, D, Dv]); // sum over later chunks
    dk = tf.add(dk, tf.matMul(vc, G, false, true)); // V G^T: [BHN,C,D]
    dv = tf.add(dv, tf.matMul(kc, G)); // K G: [BHN,C,Dv]
    return [fromChunks(dq), fromChunks(dk), fromChunks(dv)];
  });
}

// ---------------------------------------------------------------------------------------
// Recurrent form for generation
// ---------------------------------------------------------------------------------------

/**
 * Per-head state after t tokens. Every field is a tensor owned by the caller.
 * With a padding mask, `count` is per batch row (padded steps leave the state unchanged).
 */
export interface FlowCausalState {
  /** sum_{s<=t} phi(q_s): `[B,H,D]` (sinks so far, for sourceOutgoing). */
  qSum: tf.Tensor;
  /** sum_{s<=t} phi(k_s): `[B,H,D]` (sources so far, for sinkIncoming). */
  kSum: tf.Tensor;
  /** sum_{s<=t} phi(q_s) sinkIncoming_s: `[B,H,D]` (for conservedSource). */
  qIncomingSum: tf.Tensor;
  /** sum_{s<=t} phi(k_s) sourceOutgoing_s: `[B,H,D]` (for conservedSink). */
  kOutgoingSum: tf.Tensor;
  /** sum_{s<=t} exp(conservedSource_s): `[B,H,1]` (denominator of the causal competition softmax). */
  expSourceSum: tf.Tensor;
  /** sum_{s<=t} phi(k_s) (x) v_s sourceCompetition_s: `[B,H,D,Dv]`. */
  kv: tf.Tensor;
  /** Number of real tokens seen, `normal` of the original: `[B,1,1]`. */
  count: tf.Tensor;
}

/** The empty state (no token seen) for `batch` rows, `heads` heads, key size D and value size Dv. */
export function flowCausalInit(batch: number, heads: number, D: number, Dv: number): FlowCausalState {
  return {
    qSum: tf.zeros([batch, heads, D]),
    kSum: tf.zeros([batch, heads, D]),
    qIncomingSum: tf.zeros([batch, heads, D]),
    kOutgoingSum: tf.zeros([batch, heads, D]),
    expSourceSum: tf.zeros([batch, heads, 1]),
    kv: tf.zeros([batch, heads, D, Dv]),
    count: tf.zeros([batch, 1, 1]),
  };
}

export function disposeFlowCausalState(s: FlowCausalState): void {
  for (const t of Object.values(s)) (t as tf.Tensor).dispose();
}

/**
 * One step of causal Flow-Attention: the newest token's projected `qT`, `kT` `[B,H,D]` and
 * `vT` `[B,H,Dv]` and the state after the previous tokens -> its output `[B,H,Dv]` and the
 * new state. Running it over a sequence gives exactly `flowAttention(..., {causal: true})`.
 * `real` (`[B]`, 1 = real token) lets rows of a batch skip padded steps: their state stays
 * as it was and their output is zero. The old state is not disposed.
 */
export function flowCausalStep(
  qT: tf.Tensor,
  kT: tf.Tensor,
  vT: tf.Tensor,
  state: FlowCausalState,
  options: FlowAttentionOptions = {},
  real?: tf.Tensor,
): { output: tf.Tensor; state: FlowCausalState } {
  const opts = resolveFlowOptions({ ...options, causal: true });
  const [B, H, D] = qT.shape as [number, number, number];
  if (qT.rank !== 3 || kT.rank !== 3 || vT.rank !== 3) {
    throw new Error(`flowCausalStep: qT, kT, vT must be [B,H,D], [B,H,D], [B,H,Dv]; got [${qT.shape}], [${kT.shape}], [${vT.shape}]`);
  }
  if (state.qSum.shape[0] !== B || state.qSum.shape[1] !== H || state.qSum.shape[2] !== D) {
    throw new Error(`flowCausalStep: state is for [B,H,D] = [${state.qSum.shape}] but the token has [${qT.shape}]`);
  }
  return tf.tidy(() => {
    const { eps } = opts;
    const m = real ? tf.cast(real, 'float32').reshape([B, 1, 1]) : null; // [B,1,1]
    const phiQ = applyFeatureMap(qT, opts.featureMap); // [B,H,D]
    const phiK = applyFeatureMap(kT, opts.featureMap); // [B,H,D]
    const phiQm = m ? tf.mul(phiQ, m) : phiQ;
    const phiKm = m ? tf.mul(phiK, m) : phiK;
    const count = m ? tf.add(state.count, m) : tf.add(state.count, 1); // [B,1,1]
    const normal = m ? tf.add(count, tf.sub(1, m)) : count; // never 0
    const qSum = tf.add(state.qSum, phiQm);
    const kSum = tf.add(state.kSum, phiKm);
    const sinkIncoming = tf.div(normal, epsDot(phiQ, kSum, eps)); // [B,H,1]
    const sourceOutgoing = tf.div(normal, epsDot(phiK, qSum, eps)); // [B,H,1]
    const kOutgoingSum = tf.add(state.kOutgoingSum, tf.mul(phiKm, sourceOutgoing));
    const qIncomingSum = tf.add(state.qIncomingSum, tf.mul(phiQm, sinkIncoming));
    const conservedSink = tf.div(epsDot(phiQ, kOutgoingSum, eps), normal); // [B,H,1]
    let conservedSource = tf.div(epsDot(phiK, qIncomingSum, eps), normal); // [B,H,1]
    if (opts.clamp !== null) conservedSource = tf.clipByValue(conservedSource, -opts.clamp, opts.clamp);
    // The new state never aliases the old one (the caller disposes the old state).
    let expSourceSum: tf.Tensor;
    let values = vT; // [B,H,Dv]
    if (opts.competition) {
      let expSource = tf.exp(conservedSource); // [B,H,1]
      if (m) expSource = tf.mul(expSource, m);
      expSourceSum = tf.add(state.expSourceSum, expSource);
      const denom = m ? tf.add(expSourceSum, tf.sub(1, m)) : expSourceSum;
      const sourceCompetition = tf.mul(tf.div(expSource, denom), normal); // [B,H,1]
      values = tf.mul(vT, sourceCompetition);
    } else {
      expSourceSum = tf.clone(state.expSourceSum);
      if (m) values = tf.mul(vT, m);
    }
    const Dv = vT.shape[2]!;
    // kv += phi(k) (x) v'   [B,H,D,Dv]
    const kv = tf.add(state.kv, tf.mul(phiKm.reshape([B, H, D, 1]), values.reshape([B, H, 1, Dv])));
    const qWeighted = tf.mul(phiQ, tf.div(sinkIncoming, normal)); // [B,H,D]
    let output = tf.sum(tf.mul(qWeighted.reshape([B, H, D, 1]), kv), 2); // [B,H,Dv]
    if (opts.allocation) output = tf.mul(output, tf.sigmoid(conservedSink)); // sinkAllocation
    if (m) output = tf.mul(output, m);
    return { output, state: { qSum, kSum, qIncomingSum, kOutgoingSum, expSourceSum, kv, count } };
  });
}
