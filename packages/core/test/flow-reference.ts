/**
 * A float64 reference of Flow-Attention written with plain loops, straight from the formulas
 * of the original code (thuml/Flowformer `Flow_Attention.py`, the LRA variant, the ablations),
 * for the tests: it shares no code with `src/attention`, so agreement means something.
 * Layout: row-major `[B,H,L,D]` (q), `[B,H,S,D]` (k), `[B,H,S,Dv]` (v) -> `[B,H,L,Dv]`.
 */
export interface RefOptions {
  causal?: boolean;
  eps?: number;
  featureMap?: 'sigmoid' | 'relu';
  clamp?: number | null;
  competition?: boolean;
  allocation?: boolean;
  competitionAxis?: 'keys' | 'heads';
}

export interface Dims {
  B: number;
  H: number;
  L: number;
  S: number;
  D: number;
  Dv: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export function refFlow(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, dims: Dims, o: RefOptions = {}): Float64Array {
  const { B, H, L, S, D, Dv } = dims;
  const eps = o.eps ?? 1e-6;
  const clamp = o.clamp === undefined ? 1 : o.clamp;
  const fm = (x: number) => (o.featureMap === 'relu' ? Math.max(x, 0) + 1e-6 : sigmoid(x));
  const comp = o.competition ?? true;
  const alloc = o.allocation ?? true;
  const out = new Float64Array(B * H * L * Dv);
  const cl = (x: number) => (clamp === null ? x : Math.min(clamp, Math.max(-clamp, x)));
  // conservedSource of every (b, h, s), needed across heads by the LRA variant
  const cSrcAll = new Float64Array(B * H * S);
  const incAll: number[][][] = [];
  const cSinkAll: number[][][] = [];
  const pq = (b: number, h: number, l: number, d: number) => fm(q[((b * H + h) * L + l) * D + d]!);
  const pk = (b: number, h: number, s: number, d: number) => fm(k[((b * H + h) * S + s) * D + d]!);
  for (let b = 0; b < B; b++) {
    incAll.push([]);
    cSinkAll.push([]);
    for (let h = 0; h < H; h++) {
      const inc: number[] = [];
      const outg: number[] = [];
      const cSink: number[] = [];
      if (!o.causal) {
        const kSum = new Array(D).fill(0);
        const qSum = new Array(D).fill(0);
        for (let s = 0; s < S; s++) for (let d = 0; d < D; d++) kSum[d] += pk(b, h, s, d);
        for (let l = 0; l < L; l++) for (let d = 0; d < D; d++) qSum[d] += pq(b, h, l, d);
        for (let l = 0; l < L; l++) {
          let z = 0;
          for (let d = 0; d < D; d++) z += (pq(b, h, l, d) + eps) * (kSum[d] + eps);
          inc.push(1 / z);
        }
        for (let s = 0; s < S; s++) {
          let z = 0;
          for (let d = 0; d < D; d++) z += (pk(b, h, s, d) + eps) * (qSum[d] + eps);
          outg.push(1 / z);
        }
        const kw = new Array(D).fill(0);
        const qw = new Array(D).fill(0);
        for (let s = 0; s < S; s++) for (let d = 0; d < D; d++) kw[d] += pk(b, h, s, d) * outg[s]!;
        for (let l = 0; l < L; l++) for (let d = 0; d < D; d++) qw[d] += pq(b, h, l, d) * inc[l]!;
        for (let l = 0; l < L; l++) {
          let z = 0;
          for (let d = 0; d < D; d++) z += (pq(b, h, l, d) + eps) * (kw[d] + eps);
          cSink.push(z);
        }
        for (let s = 0; s < S; s++) {
          let z = 0;
          for (let d = 0; d < D; d++) z += (pk(b, h, s, d) + eps) * (qw[d] + eps);
          cSrcAll[(b * H + h) * S + s] = cl(z);
        }
      } else {
        const kCum = new Array(D).fill(0);
        const qCum = new Array(D).fill(0);
        const kwCum = new Array(D).fill(0);
        const qwCum = new Array(D).fill(0);
        for (let t = 0; t < L; t++) {
          const n = t + 1;
          for (let d = 0; d < D; d++) {
            kCum[d] += pk(b, h, t, d);
            qCum[d] += pq(b, h, t, d);
          }
          let zi = 0;
          let zo = 0;
          for (let d = 0; d < D; d++) {
            zi += (pq(b, h, t, d) + eps) * (kCum[d] + eps);
            zo += (pk(b, h, t, d) + eps) * (qCum[d] + eps);
          }
          inc.push(n / zi);
          outg.push(n / zo);
          for (let d = 0; d < D; d++) {
            kwCum[d] += pk(b, h, t, d) * outg[t]!;
            qwCum[d] += pq(b, h, t, d) * inc[t]!;
          }
          let zs = 0;
          let zc = 0;
          for (let d = 0; d < D; d++) {
            zs += (pq(b, h, t, d) + eps) * (kwCum[d] + eps);
            zc += (pk(b, h, t, d) + eps) * (qwCum[d] + eps);
          }
          cSink.push(zs / n);
          cSrcAll[(b * H + h) * S + t] = cl(zc / n);
        }
      }
      incAll[b]!.push(inc);
      cSinkAll[b]!.push(cSink);
    }
  }
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const inc = incAll[b]![h]!;
      const cSink = cSinkAll[b]![h]!;
      const cSrc = (s: number) => cSrcAll[(b * H + h) * S + s]!;
      // sourceCompetition
      const sc = new Array(S).fill(1);
      if (comp) {
        if (o.causal) {
          let run = 0;
          for (let s = 0; s < S; s++) {
            run += Math.exp(cSrc(s));
            sc[s] = (Math.exp(cSrc(s)) / run) * (s + 1);
          }
        } else if ((o.competitionAxis ?? 'keys') === 'keys') {
          let z = 0;
          for (let s = 0; s < S; s++) z += Math.exp(cSrc(s));
          for (let s = 0; s < S; s++) sc[s] = (Math.exp(cSrc(s)) / z) * S;
        } else {
          for (let s = 0; s < S; s++) {
            let z = 0;
            for (let g = 0; g < H; g++) z += Math.exp(cSrcAll[(b * H + g) * S + s]!);
            sc[s] = (Math.exp(cSrc(s)) / z) * S;
          }
        }
      }
      for (let l = 0; l < L; l++) {
        const a = alloc ? sigmoid(o.causal ? cSink[l]! : cSink[l]! * (L / S)) : 1;
        const scaleQ = o.causal ? inc[l]! / (l + 1) : inc[l]!;
        const sEnd = o.causal ? l + 1 : S;
        for (let m = 0; m < Dv; m++) {
          let acc = 0;
          for (let s = 0; s < sEnd; s++) {
            let w = 0;
            for (let d = 0; d < D; d++) w += pq(b, h, l, d) * pk(b, h, s, d);
            acc += w * v[((b * H + h) * S + s) * Dv + m]! * sc[s]!;
          }
          out[((b * H + h) * L + l) * Dv + m] = a * scaleQ * acc;
        }
      }
    }
  }
  return out;
}

/** ||a - b|| / ||b||. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.sqrt(den);
}

/** Deterministic values in (-scale, scale): the same generator the backend tests use. */
export { randomArray as rand } from './helpers/backend.ts';
