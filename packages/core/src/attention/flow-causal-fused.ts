/**
 * Causal Flow-Attention for short sequences (the whole sequence is one chunk): the same
 * function as `flowAttentionCausal`, in one `tf.customGrad` whose backward pass is written
 * out by hand.
 *
 * Why: at L = 64 (character-level GPT) every tensor is small and the cost of the causal form
 * is the number of kernel launches, not arithmetic (on tfjs-node about 0.1 ms of CPU each).
 * The general form builds its result from ~10 custom-gradient pieces (prefix sums, flow dot
 * products, the chunked product), each with its own bookkeeping, and tfjs's autodiff of the
 * glue between them: ~240 kernels for forward + backward, against ~35 for softmax attention.
 * Here the queries' and the keys' sides of the flow, which mirror each other, are stacked on
 * a leading axis of 2 so that each step is one kernel for both, and every intermediate the
 * backward pass needs is kept from the forward pass: ~130 kernels for forward + backward
 * (`tf.profile`, B=12, H=4, L=64, D=32). Memory: about 80 `[B,H,L,D]`-sized tensors and three
 * `[B,H,L,L]` at the peak (bench/attention.ts), fine while L is at most a chunk.
 *
 * Notation per batch row and head (t = 1..L), e = eps, P = prefix sum over positions,
 * P' = suffix sum (its adjoint), n_t = t:
 *   Qp = phi(q), Kp = phi(k)
 *   a = (Qp + e) . (P(Kp) + e),            I = n / a             (sinkIncoming)
 *   b = (Kp + e) . (P(Qp) + e),            O = n / b             (sourceOutgoing)
 *   c = (Qp + e) . (P(Kp O) + e),          cs = c / n            (conservedSink)
 *   d = (Kp + e) . (P(Qp I) + e),          cS = clamp(d / n)     (conservedSource)
 *   E = exp(cS), F = n / P(E),             W = E F               (sourceCompetition)
 *   M = tril(Qp Kp^T),  out = (M (v W)) * I / n * sigmoid(cs)
 * Padding masks are not handled here: `flowAttentionCausal` uses the chunked form for them.
 */
import { tf } from '../tf.ts';
import type { ResolvedFlowOptions } from './flow-options.ts';

/** `[1,L,L]` ones on and below the diagonal (position t sees s <= t). */
function causalMask(L: number): tf.Tensor {
  const a = new Float32Array(L * L);
  for (let i = 0; i < L; i++) a.fill(1, i * L, i * L + i + 1);
  return tf.tensor(a, [1, L, L]);
}

/**
 * Prefix (`reverse` = false) or suffix sum over the positions (axis -2) of `[..., L, x]`, as
 * a product with the `[1,L,L]` lower triangle (or its transpose): at one chunk's length this
 * batched product cost less than TensorFlow's Cumsum on a middle axis.
 */
const scan = (tril: tf.Tensor, x: tf.Tensor, reverse = false) => tf.matMul(tril, x, reverse, false);
/** Row-wise dot product over the last axis: `[..., L, x]` -> `[..., L, 1]`. */
const rowDot = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(x, y), -1, true);
/** Exchanges the two sides (queries <-> keys) of a `[2, ...]` tensor. */
const swap = (x: tf.Tensor) => tf.reverse(x, 0);

/**
 * Causal Flow-Attention of `q`, `k` `[B,H,L,D]` and `v` `[B,H,L,Dv]` -> `[B,H,L,Dv]`, no
 * padding mask. Equal to the chunked and parallel forms within float32 rounding (tests:
 * flow-causal.test.ts, flow-golden.test.ts).
 */
export function flowAttentionCausalFused(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, opts: ResolvedFlowOptions): tf.Tensor {
  const [B, H, L, D] = q.shape as [number, number, number, number];
  const Dv = v.shape[3]!;
  const { eps, clamp, competition, allocation, featureMap } = opts;
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [q3, k3, v3] = args as [tf.Tensor, tf.Tensor, tf.Tensor];
    const save = args[3] as tf.GradSaveFunc;
    // Side 0 = queries (sinks), side 1 = keys (sources): X [2,BH,L,D].
    const fwd = tf.tidy(() => {
      const n = tf.tensor(Float32Array.from({ length: L }, (_, t) => t + 1), [1, L, 1]); // normal: [1,L,1], from the host (no kernel)
      const tril = causalMask(L); // [1,L,L]
      const X = tf.stack([q3, k3]);
      const Xp = featureMap === 'sigmoid' ? tf.sigmoid(X) : tf.add(tf.relu(X), 1e-6); // [Qp; Kp]
      const Xe = tf.add(Xp, eps);
      const S = tf.add(scan(tril, Xp), eps); // [P(Qp); P(Kp)] + e
      const ab = rowDot(Xe, swap(S)); // [a; b] = [Qe . Sk; Ke . Sq]   [2,BH,L,1]
      const Y = tf.div(n, ab); // [sinkIncoming I; sourceOutgoing O]
      const R = tf.add(scan(tril, tf.mul(Xp, Y)), eps); // [P(Qp I); P(Kp O)] + e
      const [cs, ds] = tf.unstack(tf.div(rowDot(Xe, swap(R)), n)); // conservedSink, conservedSource (before clamp)
      const [Qp, Kp] = tf.unstack(Xp); // [BH,L,D]
      const I = tf.unstack(Y)[0]!; // [BH,L,1]
      // Kept for the backward pass (each one is a copy tfjs makes: only what it reads).
      const s: Record<string, tf.Tensor> = { n, tril, Xp, Xe, S, ab, Y, R, Qp: Qp!, Kp: Kp!, v: v3 };
      if (featureMap === 'relu') s.X = X; // relu's derivative needs its input
      let gate: tf.Tensor | null = null; // sinkAllocation sigmoid(cs) [BH,L,1]
      if (allocation) s.gate = gate = tf.sigmoid(cs!);
      let Vp = v3; // values times sourceCompetition [BH,L,Dv]
      if (competition) {
        const cS = clamp !== null ? tf.clipByValue(ds!, -clamp, clamp) : ds!;
        const E = tf.exp(cS);
        const Z = scan(tril, E);
        const F = tf.div(n, Z);
        const W = tf.mul(E, F); // sourceCompetition = softmax over the prefix, times n
        Vp = tf.mul(v3, W);
        Object.assign(s, { E, Z, F, W });
        // The clamp passes the gradient where it did not bind (as tfjs: lo <= x <= hi).
        if (clamp !== null) s.pass = tf.cast(tf.equal(cS, ds!), 'float32');
      }
      const M = tf.mul(tf.matMul(Qp!, Kp!, false, true), tril); // [BH,L,L]
      const out0 = tf.matMul(M, Vp); // [BH,L,Dv]
      const In = tf.div(I, n);
      const r = gate ? tf.mul(In, gate) : In; // row scale [BH,L,1]
      Object.assign(s, { M, out0, Vp, In, r });
      return { out: tf.mul(out0, r), s };
    });
    const names = Object.keys(fwd.s);
    save(names.map((nm) => fwd.s[nm]!)); // save keeps its own references
    const inputs = new Set([q3, k3, v3]);
    tf.dispose(Object.values(fwd.s).filter((t) => !inputs.has(t)));
    return {
      value: fwd.out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const s = Object.fromEntries(names.map((nm, i) => [nm, saved[i]!])) as Record<string, tf.Tensor>;
          const [n, tril, Xp, Xe, S, ab, Y, R] = [s.n!, s.tril!, s.Xp!, s.Xe!, s.S!, s.ab!, s.Y!, s.R!];
          // out = out0 r,  out0 = M Vp,  M = tril(Qp Kp^T)
          const dOut0 = tf.mul(dy, s.r!); // [BH,L,Dv]
          const dr = rowDot(dy, s.out0!); // [BH,L,1]
          const dVp = tf.matMul(s.M!, dOut0, true, false); // [BH,L,Dv]
          const dM = tf.mul(tf.matMul(dOut0, s.Vp!, false, true), tril); // [BH,L,L]
          let dXp = tf.stack([tf.matMul(dM, s.Kp!), tf.matMul(dM, s.Qp!, true, false)]); // [dQp; dKp]
          // r = (I / n) gate
          const dI = s.gate ? tf.div(tf.mul(dr, s.gate), n) : tf.div(dr, n); // [BH,L,1]
          // gradients of the conserved flows [cs; ds] (zero for the one the options leave unused)
          const dcs = s.gate ? tf.mul(tf.mul(dr, s.In!), tf.mul(s.gate, tf.sub(1, s.gate))) : tf.zerosLike(dI);
          let dv = dVp;
          let dds: tf.Tensor;
          if (!competition) dds = tf.zerosLike(dI);
          else {
            // Vp = v W;  W = E F, F = n / P(E)  =>  dE = dW F - P'(dW W / Z);  E = exp(cS)
            const W = s.W!;
            dv = tf.mul(dVp, W);
            const dW = rowDot(dVp, s.v!);
            const dE = tf.sub(tf.mul(dW, s.F!), scan(tril, tf.div(tf.mul(dW, W), s.Z!), true));
            dds = tf.mul(dE, s.E!);
            if (s.pass) dds = tf.mul(dds, s.pass); // through the clamp
          }
          // [cs; ds] = rowDot(Xe, swap(R)) / n
          const G = tf.div(tf.stack([dcs, dds]), n); // [2,BH,L,1]
          let dXe = tf.mul(G, swap(R));
          // R = P(Xp Y) + e
          const dP = scan(tril, swap(tf.mul(G, Xe)), true); // [2,BH,L,D]
          dXp = tf.add(dXp, tf.mul(dP, Y));
          const dY = tf.add(rowDot(dP, Xp), tf.stack([dI, tf.zerosLike(dI)])); // [dI; dO]
          // Y = n / ab  =>  d ab = -dY Y / ab;  ab = rowDot(Xe, swap(S)), S = P(Xp) + e
          const dabNeg = tf.div(tf.mul(dY, Y), ab);
          dXe = tf.sub(dXe, tf.mul(dabNeg, swap(S)));
          dXp = tf.sub(dXp, scan(tril, swap(tf.mul(dabNeg, Xe)), true));
          dXp = tf.add(dXp, dXe); // Xe = Xp + e
          const dX =
            featureMap === 'sigmoid' ? tf.mul(dXp, tf.mul(Xp, tf.sub(1, Xp))) : tf.mul(dXp, tf.cast(tf.greater(s.X!, 0), 'float32'));
          const [dq, dk] = tf.unstack(dX);
          return [dq!, dk!, dv];
        }),
    };
  });
  return tf.tidy(() => {
    const q3 = q.reshape([B * H, L, D]);
    const k3 = k.reshape([B * H, L, D]);
    const v3 = v.reshape([B * H, L, Dv]);
    return f(q3, k3, v3).reshape([B, H, L, Dv]);
  });
}
