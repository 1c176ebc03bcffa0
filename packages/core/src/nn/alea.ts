/**
 * The alea generator (seedrandom's, which tfjs's `randomUniform` and so `tf.dropout` draw from),
 * made faster without changing a single number it gives.
 *
 * alea is a multiply-with-carry generator of lag 3: with x in units of 2^-32 (its state s0, s1,
 * s2) and carry c,
 *
 *     t = a * x[n-3] + c[n-1],   x[n] = t mod 2^32,   c[n] = floor(t / 2^32),   a = 2091639,
 *
 * and seedrandom computes exactly that in float64 (a * x < 2^53). Drawing one number after
 * another is one long chain of dependent float operations (about 7 ns per draw here), and the
 * dropout mask of the softmax Transformer's attention weights needs 205 M draws per step at
 * SelfRegulationSCP1's batch of 16.
 *
 * A lag-r multiply-with-carry generator is a linear congruential generator in disguise (the
 * classical equivalence, e.g. Couture & L'Ecuyer 1997): the integer
 *
 *     Z[n] = x[n-2] + x[n-1] * 2^32 + x[n] * 2^64 + c[n] * 2^96
 *
 * satisfies Z[n+1] = (a * 2^64) * Z[n] mod m with m = a * 2^96 - 1 (because 2^32 * a * 2^64 = 1
 * mod m). So the state k draws ahead is one modular power away (`aleaJump`, BigInt), and a long
 * stream can be cut into pieces whose independent chains the CPU runs side by side
 * (`fillDropoutMultiplier`): the same numbers in the same places, several times faster.
 */
import seedrandom from 'seedrandom';

/** alea's state as seedrandom stores it: s0, s1, s2 in [0, 1) (multiples of 2^-32), carry c (an integer). */
export interface AleaState {
  s0: number;
  s1: number;
  s2: number;
  c: number;
}

const A = 2091639;
const TWO_POW_32 = 4294967296;
const TWO_POW_MINUS_32 = 2.3283064365386963e-10;
const M = BigInt(A) * (1n << 96n) - 1n;
/** Z[n+1] = STEP * Z[n] mod M. */
const STEP = (BigInt(A) << 64n) % M;

/** The state of `seedrandom.alea(seed)` before its first draw. */
export function aleaState(seed: string): AleaState {
  const { s0, s1, s2, c } = (seedrandom.alea(seed, { state: true }) as unknown as { state(): AleaState }).state();
  return { s0, s1, s2, c };
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let r = 1n;
  let b = base % mod;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % mod;
    b = (b * b) % mod;
  }
  return r;
}

/** The state after `k` draws from `st`, without drawing them. */
export function aleaJump(st: AleaState, k: number): AleaState {
  if (!Number.isSafeInteger(k) || k < 0) throw new Error(`aleaJump: k must be a non-negative integer, got ${k}`);
  const z = BigInt(st.s0 * TWO_POW_32) + (BigInt(st.s1 * TWO_POW_32) << 32n) + (BigInt(st.s2 * TWO_POW_32) << 64n) + (BigInt(st.c) << 96n);
  const zk = (modPow(STEP, BigInt(k), M) * z) % M;
  const word = (v: bigint) => Number(v & 0xffffffffn);
  return { s0: word(zk) * TWO_POW_MINUS_32, s1: word(zk >> 32n) * TWO_POW_MINUS_32, s2: word(zk >> 64n) * TWO_POW_MINUS_32, c: Number(zk >> 96n) };
}

/** Below this many draws one chain is as fast (the jumps cost a few BigInt products each). */
const MIN_SPLIT = 4096;

/**
 * `out[i] = scale` (1 for a keep mask in a Uint8Array) where draw i of the alea stream from `st` keeps its element, as tfjs's
 * dropout decides it (`floor(u + keep)` in float32 with u rounded to float32: 1 keeps), and
 * `out[i]` is left as it is (0 in a fresh array) where it drops. Four equal pieces of the stream,
 * each started at its own jumped-to state, advance together; the last one then runs on over the
 * n mod 4 draws left.
 */
export function fillDropoutMultiplier(out: Float32Array | Uint8Array, st: AleaState, keep: number, scale: number): void {
  const n = out.length;
  if (n < MIN_SPLIT) {
    fillSerial(out, 0, n, st, keep, scale);
    return;
  }
  const len = Math.floor(n / 4);
  const j1 = aleaJump(st, len), j2 = aleaJump(st, 2 * len), j3 = aleaJump(st, 3 * len);
  let a0 = st.s0, a1 = st.s1, a2 = st.s2, ac = st.c;
  let b0 = j1.s0, b1 = j1.s1, b2 = j1.s2, bc = j1.c;
  let c0 = j2.s0, c1 = j2.s1, c2 = j2.s2, cc = j2.c;
  let d0 = j3.s0, d1 = j3.s1, d2 = j3.s2, dc = j3.c;
  let t: number;
  for (let i = 0; i < len; i++) {
    t = A * a0 + ac * TWO_POW_MINUS_32; a0 = a1; a1 = a2; ac = t | 0; a2 = t - ac;
    t = A * b0 + bc * TWO_POW_MINUS_32; b0 = b1; b1 = b2; bc = t | 0; b2 = t - bc;
    t = A * c0 + cc * TWO_POW_MINUS_32; c0 = c1; c1 = c2; cc = t | 0; c2 = t - cc;
    t = A * d0 + dc * TWO_POW_MINUS_32; d0 = d1; d1 = d2; dc = t | 0; d2 = t - dc;
    if (Math.fround(Math.fround(a2) + keep) >= 1) out[i] = scale;
    if (Math.fround(Math.fround(b2) + keep) >= 1) out[len + i] = scale;
    if (Math.fround(Math.fround(c2) + keep) >= 1) out[2 * len + i] = scale;
    if (Math.fround(Math.fround(d2) + keep) >= 1) out[3 * len + i] = scale;
  }
  fillSerial(out, 4 * len, n, { s0: d0, s1: d1, s2: d2, c: dc }, keep, scale);
}

/** fillDropoutMultiplier's decision for draws `from` to `to` of one chain, one after another. */
function fillSerial(out: Float32Array | Uint8Array, from: number, to: number, st: AleaState, keep: number, scale: number): void {
  let s0 = st.s0, s1 = st.s1, s2 = st.s2, c = st.c;
  for (let i = from; i < to; i++) {
    const t = A * s0 + c * TWO_POW_MINUS_32;
    s0 = s1;
    s1 = s2;
    c = t | 0;
    s2 = t - c;
    if (Math.fround(Math.fround(s2) + keep) >= 1) out[i] = scale;
  }
}
