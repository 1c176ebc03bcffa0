/**
 * Non-causal Flow-Attention with its whole gradient written out (tensorflow backend, with the
 * fused XLA kernels): the same function as flow.ts's `flowAttentionNormal`, for the unmasked
 * sigmoid form with competition over keys and allocation (every experiment's but LRA's and the
 * ablations'). tfjs's tape differentiates each op of that form on its own: every flow sum's
 * gradient reaches phi(q) and phi(k) as a separate [B, H, L, D] term, summed pairwise, and the
 * sigmoid's gradient is another pass. Here the four rank-one terms of each, the product's term
 * and the sigmoid's derivative are one fused pass (`flow_feature_grad`), the rest being the four
 * products and matrix-vector products of [B, H, n, 1] and [B, H, 1, D] vectors.
 *
 * Per head, with P = phi(q) [L, D], K = phi(k) [S, D], e = eps, oe = outerEps:
 *   sK = sum_s K_s, sQ = sum_l P_l
 *   a = (P + e) . (sK + e) + oe,  sinkIn = 1 / a;   c = (K + e) . (sQ + e) + oe,  srcOut = 1 / c
 *   wK = sum_s srcOut_s K_s,  wQ = sum_l sinkIn_l P_l
 *   cSink = (P + e) . (wK + e) + oe;  cSrc = clamp((K + e) . (wQ + e) + oe)
 *   comp = softmax_s(cSrc) S;  Vc = V comp;  KV = K^T Vc;  O = P KV
 *   g = sigmoid(cSink L / S);  r = sinkIn g;  out = O r
 */
import { tf } from '../tf.ts';
import { fusedOr, xlaKernel } from '../backend/xla-kernels.ts';
import { epsDotColumn, epsDotColumnGrad, type ResolvedFlowOptions } from './flow-options.ts';

/** `N` of `T` as a tuple type (the tensors saved for the backward pass, by position). */
type Tuple<T, N extends number, R extends T[] = []> = R['length'] extends N ? R : Tuple<T, N, [...R, T]>;

/** Whether `flowAttentionFused` computes this case (else null from it). */
function fusable(opts: ResolvedFlowOptions): boolean {
  return !opts.causal && opts.featureMap === 'sigmoid' && opts.competition && opts.allocation && opts.competitionAxis === 'keys';
}

/**
 * `q` `[B,H,L,D]`, `k` `[B,H,S,D]`, `v` `[B,H,S,Dv]` -> `[B,H,L,Dv]`, no padding masks; null when
 * the options are not this form or the fused kernels are off (use flow.ts's form then).
 */
export function flowAttentionFused(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, opts: ResolvedFlowOptions): tf.Tensor | null {
  const kernel = xlaKernel('flow_feature_grad');
  if (!kernel || !fusable(opts)) return null;
  const [B, H, L, D] = q.shape as [number, number, number, number];
  const S = k.shape[2]!;
  const Dv = v.shape[3]!;
  const M = B * H;
  const { eps, outerEps, clamp } = opts;
  const plusOuter = (t: tf.Tensor) => (outerEps !== 0 ? tf.add(t, outerEps) : t);
  // (x + e) . w for x [M,n,D] against a column w [M,D,1] holding w + e, as every flow sum is
  const epsDot = (x: tf.Tensor, wE: tf.Tensor) => plusOuter(epsDotColumn(x, wE, eps));
  const rows = (columns: tf.Tensor[]) => tf.concat(columns.map((c) => c.reshape([M, 1, D])), 1); // [M,4,D]
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qIn, kIn, vIn] = args as [tf.Tensor, tf.Tensor, tf.Tensor];
    const save = args[3] as tf.GradSaveFunc;
    const [value, ...kept] = tf.tidy(() => {
      const P = tf.sigmoid(qIn.reshape([M, L, D]));
      const K = tf.sigmoid(kIn.reshape([M, S, D]));
      const V = vIn.reshape([M, S, Dv]);
      const sK = tf.add(tf.sum(K, 1, true), eps).reshape([M, D, 1]); // sK + e
      const sQ = tf.add(tf.sum(P, 1, true), eps).reshape([M, D, 1]);
      const sinkIn = tf.div(1, epsDot(P, sK)); // [M,L,1]
      const srcOut = tf.div(1, epsDot(K, sQ)); // [M,S,1]
      const wK = tf.add(tf.matMul(K, srcOut, true, false), eps); // [M,D,1], wK + e
      const wQ = tf.add(tf.matMul(P, sinkIn, true, false), eps);
      const cSink = epsDot(P, wK); // [M,L,1]
      const cSrcRaw = epsDot(K, wQ); // [M,S,1]
      const cSrc = clamp !== null ? tf.clipByValue(cSrcRaw, -clamp, clamp) : cSrcRaw;
      const comp = tf.mul(tf.softmax(cSrc.reshape([M, S])), S).reshape([M, S, 1]);
      const KV = tf.matMul(K, tf.mul(V, comp), true, false); // [M,D,Dv]
      const O = tf.matMul(P, KV); // [M,L,Dv]
      const g = tf.sigmoid(tf.mul(cSink, L / S));
      const r = tf.mul(sinkIn, g); // [M,L,1]
      return [tf.mul(O, r).reshape([B, H, L, Dv]), P, K, V, sK, sQ, sinkIn, srcOut, wK, wQ, cSrcRaw, comp, KV, O, g, r];
    });
    save(kept as tf.Tensor[]);
    return {
      value: value as tf.Tensor,
      gradFunc: (dyIn: tf.Tensor, s: tf.Tensor[]) => tf.tidy(() => {
        const [P, K, V, sK, sQ, sinkIn, srcOut, wK, wQ, cSrcRaw, comp, KV, O, g, r] = s as Tuple<tf.Tensor, 15>;
        const dOut = dyIn.reshape([M, L, Dv]);
        const dO = tf.mul(dOut, r);
        const dr = tf.sum(tf.mul(dOut, O), 2, true); // [M,L,1]
        const dPb = tf.matMul(dO, KV, false, true); // [M,L,D]
        const dKV = tf.matMul(P, dO, true, false); // [M,D,Dv]
        const Vc = tf.mul(V, comp);
        const dKb = tf.matMul(Vc, dKV, false, true); // [M,S,D]
        const dVc = tf.matMul(K, dKV); // [M,S,Dv]
        const dV = tf.mul(dVc, comp);
        // competition: comp = S softmax(cSrc)
        const sm = tf.div(comp, S);
        const dsm = tf.mul(tf.sum(tf.mul(dVc, V), 2, true), S); // [M,S,1]
        let dcSrc = tf.mul(sm, tf.sub(dsm, tf.sum(tf.mul(sm, dsm), 1, true)));
        if (clamp !== null) dcSrc = tf.mul(dcSrc, tf.cast(tf.lessEqual(tf.abs(cSrcRaw), clamp), 'float32'));
        // allocation: r = sinkIn g, g = sigmoid(cSink L / S)
        let dsinkIn = tf.mul(dr, g);
        const dcSink = tf.mul(tf.mul(tf.mul(dr, sinkIn), tf.mul(g, tf.sub(1, g))), L / S);
        // the flow sums, each (x + e) . w against one column w: dw = x^T d + e sum(d)
        const dwQ = epsDotColumnGrad(K, dcSrc, eps); // cSrc = (K + e) . (wQ + e)
        const dwK = epsDotColumnGrad(P, dcSink, eps); // cSink = (P + e) . (wK + e)
        dsinkIn = tf.add(dsinkIn, tf.matMul(P, dwQ)); // wQ = sum_l sinkIn_l P_l
        const dsrcOut = tf.matMul(K, dwK); // wK = sum_s srcOut_s K_s
        const da = tf.neg(tf.mul(dsinkIn, tf.square(sinkIn))); // sinkIn = 1 / a
        const dc = tf.neg(tf.mul(dsrcOut, tf.square(srcOut))); // srcOut = 1 / c
        const dsK = epsDotColumnGrad(P, da, eps); // a = (P + e) . (sK + e)
        const dsQ = epsDotColumnGrad(K, dc, eps); // c = (K + e) . (sQ + e)
        // dP = dPb + dcSink (wK + e) + sinkIn dwQ + da (sK + e) + dsQ, then times P (1 - P); dK alike
        const ones = (n: number) => tf.ones([M, n, 1]);
        const featureGrad = (d: tf.Tensor, phi: tf.Tensor, u: tf.Tensor, w: tf.Tensor) =>
          fusedOr(() => kernel({ d, phi, u, w }).dx!, () => unfusedFeatureGrad(d, phi, u, w));
        const dq = featureGrad(dPb, P, tf.concat([dcSink, sinkIn, da, ones(L)], 2), rows([wK, dwQ, sK, dsQ]));
        const dk = featureGrad(dKb, K, tf.concat([dcSrc, srcOut, dc, ones(S)], 2), rows([wQ, dwK, sQ, dsK]));
        return [dq.reshape([B, H, L, D]), dk.reshape([B, H, S, D]), dV.reshape([B, H, S, Dv])];
      }),
    };
  });
  return f(q, k, v);
}

/** (d + sum_j u_j w_j) * phi (1 - phi) with tfjs ops, as flow_feature_grad: u `[M,n,4]`, w `[M,4,D]`. */
function unfusedFeatureGrad(d: tf.Tensor, phi: tf.Tensor, u: tf.Tensor, w: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.add(d, tf.matMul(u, w)), tf.mul(phi, tf.sub(1, phi))));
}
