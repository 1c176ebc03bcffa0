/**
 * Flow-Attention (Wu et al., ICML 2022), as the original core code `Flow_Attention.py`.
 *
 * View attention as a flow network: keys are sources, queries are sinks, and the
 * non-negative similarity phi(q_i) . phi(k_j) is the capacity between them. Conserving the
 * incoming flow of each sink and the outgoing flow of each source lets competition among
 * sources and allocation among sinks replace the softmax, at linear cost in L and S:
 *
 *   sinkIncoming_i    = 1 / (phi(q_i) + eps) . (sum_j phi(k_j) + eps)
 *   sourceOutgoing_j  = 1 / (phi(k_j) + eps) . (sum_i phi(q_i) + eps)
 *   conservedSink_i   = (phi(q_i) + eps) . (sum_j phi(k_j) sourceOutgoing_j + eps)
 *   conservedSource_j = clamp((phi(k_j) + eps) . (sum_i phi(q_i) sinkIncoming_i + eps))
 *   sinkAllocation_i  = sigmoid(conservedSink_i * L / S)
 *   sourceCompetition = softmax_j(conservedSource) * S
 *   out_i = sinkAllocation_i * sinkIncoming_i * phi(q_i) . sum_j phi(k_j) (x) v_j sourceCompetition_j
 */
import { tf } from '../tf.ts';
import { flowAttentionCausal } from './flow-causal.ts';
import { flowAttentionFused } from './flow-fused.ts';
import {
  applyFeatureMap,
  checkQkv,
  paddingMask4,
  resolveFlowOptions,
  epsDot,
  type FlowAttentionOptions,
  type ResolvedFlowOptions,
} from './flow-options.ts';

/**
 * Flow-Attention on projected (pre-feature-map) `q` `[B,H,L,D]`, `k` `[B,H,S,D]`,
 * `v` `[B,H,S,Dv]` -> `[B,H,L,Dv]`. See `FlowAttentionOptions` for the options; every default
 * is the original core code's. Differentiable on every backend; on tensorflow with its fused
 * kernels the unmasked non-causal form takes its gradient from flow-fused.ts (the same numbers).
 */
export function flowAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: FlowAttentionOptions = {}): tf.Tensor {
  checkQkv(q, k, v, 'flowAttention');
  const opts = resolveFlowOptions(options);
  const [B, , L] = q.shape as [number, number, number, number];
  const S = k.shape[2]!;
  const keyMask = options.keyPaddingMask;
  const queryMask = options.queryPaddingMask === undefined ? (L === S ? keyMask : undefined) : options.queryPaddingMask;
  if (keyMask) paddingMask4(keyMask, B, S, 'keyPaddingMask').dispose();
  if (opts.causal) {
    if (queryMask && queryMask !== keyMask) {
      throw new Error('flowAttention: the causal form is self-attention, so one mask (keyPaddingMask) describes the sequence; do not pass a different queryPaddingMask');
    }
    return flowAttentionCausal(q, k, v, opts, keyMask);
  }
  const fused = !keyMask && !queryMask ? flowAttentionFused(q, k, v, opts) : null; // tensorflow: one written-out gradient
  return fused ?? flowAttentionNormal(q, k, v, opts, keyMask, queryMask ?? undefined);
}

function flowAttentionNormal(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  opts: ResolvedFlowOptions,
  keyMask?: tf.Tensor,
  queryMask?: tf.Tensor,
): tf.Tensor {
  const [B, H, L, D] = q.shape as [number, number, number, number];
  const S = k.shape[2]!;
  const Dv = v.shape[3]!;
  return tf.tidy(() => {
    const { eps } = opts;
    const phiQ = applyFeatureMap(q, opts.featureMap); // [B,H,L,D]
    const phiK = applyFeatureMap(k, opts.featureMap); // [B,H,S,D]
    // Padded sinks and sources carry no flow: they are left out of every sum.
    const mq = queryMask ? paddingMask4(queryMask, B, L, 'queryPaddingMask') : null; // [B,1,L,1]
    const mk = keyMask ? paddingMask4(keyMask, B, S, 'keyPaddingMask') : null; // [B,1,S,1]
    const phiQm = mq ? tf.mul(phiQ, mq) : phiQ;
    const phiKm = mk ? tf.mul(phiK, mk) : phiK;

    // (1) incoming flow of each sink, outgoing flow of each source
    // outerEps: the vision code's extra +eps after each contraction (0 elsewhere: no op added)
    const outer = (t: tf.Tensor) => (opts.outerEps !== 0 ? tf.add(t, opts.outerEps) : t);
    const sinkIncoming = tf.div(1, outer(epsDot(phiQ, tf.sum(phiKm, 2, true), eps))); // [B,H,L,1]
    const sourceOutgoing = tf.div(1, outer(epsDot(phiK, tf.sum(phiQm, 2, true), eps))); // [B,H,S,1]
    // (2) conservation refine: the flow a sink receives when every source sends one unit, and
    //     the flow a source sends when every sink receives one unit.
    //     sum_j phi(k_j) sourceOutgoing_j as [1,S] x [S,D] products: no [B,H,S,D] temporary.
    const weightedSum = (w: tf.Tensor, phi: tf.Tensor, n: number) =>
      tf.matMul(w.reshape([B * H, n, 1]), phi.reshape([B * H, n, D]), true, false).reshape([B, H, 1, D]);
    const conservedSink = outer(epsDot(phiQ, weightedSum(sourceOutgoing, phiKm, S), eps)); // [B,H,L,1]
    let conservedSource = outer(epsDot(phiK, weightedSum(sinkIncoming, phiQm, L), eps)); // [B,H,S,1]
    if (opts.clamp !== null) conservedSource = tf.clipByValue(conservedSource, -opts.clamp, opts.clamp); // for stability

    // Numbers of real sinks and sources (L and S without padding): [B,1,1,1] or scalars.
    const nSinks = mq ? tf.sum(mq, 2, true) : tf.scalar(L);
    const nSources = mk ? tf.sum(mk, 2, true) : tf.scalar(S);

    // (3) competition among sources, allocation among sinks
    let values = v; // [B,H,S,Dv]
    if (opts.competition) {
      let sourceCompetition: tf.Tensor; // [B,H,S,1]
      if (opts.competitionAxis === 'keys') {
        let logits = conservedSource.reshape([B, H, S]);
        // Padded sources lose every competition: exp(x - 1e9) is exactly 0 in float32.
        if (mk) logits = tf.add(logits, tf.mul(tf.sub(mk.reshape([B, 1, S]), 1), 1e9));
        sourceCompetition = tf.mul(tf.softmax(logits).reshape([B, H, S, 1]), nSources);
      } else {
        // LRA code: the heads of each source compete ([B,S,H] softmax over H), still times S.
        const logits = tf.transpose(conservedSource.reshape([B, H, S]), [0, 2, 1]); // [B,S,H]
        sourceCompetition = tf.mul(tf.transpose(tf.softmax(logits), [0, 2, 1]).reshape([B, H, S, 1]), nSources);
        if (mk) sourceCompetition = tf.mul(sourceCompetition, mk);
      }
      values = tf.mul(v, sourceCompetition);
    }

    // (4) linear-cost dot product: (phi(q) sinkIncoming) (phi(k)^T v')
    const kv = tf.matMul(phiKm.reshape([B * H, S, D]), values.reshape([B * H, S, Dv]), true, false); // [BH,D,Dv]
    let out = tf.matMul(phiQm.reshape([B * H, L, D]), kv).reshape([B, H, L, Dv]); // [B,H,L,Dv]; 0 at padded queries
    // sinkIncoming (value normalisation) and sinkAllocation scale whole rows: combine them first
    let rowScale = sinkIncoming; // [B,H,L,1]
    if (opts.allocation) {
      const sinkAllocation = tf.sigmoid(tf.mul(conservedSink, tf.div(nSinks, nSources))); // [B,H,L,1]
      rowScale = tf.mul(rowScale, sinkAllocation);
    }
    out = tf.mul(out, rowScale);
    return out; // zero at padded queries (qIncoming is)
  });
}

export type { FlowAttentionOptions } from './flow-options.ts';
