/**
 * The alea generator (seedrandom's, which tfjs's `randomUniform` and so `tf.dropout` draw from),
 * made faster without changing a single number it gives.
 *
 * alea is a multiply-with-carry generator of lag 3: with x in units of 2^-32 (its state s0, s1,
 * s2) and carry c,
 *
 *     t = a * x[n-3] + c[n-1],   x[n] = t mod 2^32,   c[n] = floor(t / 2^32),   a = 2091639,
 *
 * and seedrandom computes exactly that in float64 (a * x < 2^53). In float64 each draw waits for
 * the one before through a multiply, an add and a truncation (about 15 ns a draw here; 8 ns with
 * four pieces of the stream side by side), and the dropout masks of one UEA training step at the
 * paper's size need 95 M draws. In 64-bit integers a draw waits for one add and one shift:
 * alea.wat, a WebAssembly loop of 1.1 ns a draw, gives the same x[n], and whether tfjs's dropout
 * keeps draw n is whether x[n] reaches a threshold (`keepThreshold`).
 */
import seedrandom from 'seedrandom';
import { ALEA_WASM } from './alea-wasm.ts';

/** alea's state as seedrandom stores it: s0, s1, s2 in [0, 1) (multiples of 2^-32), carry c (an integer). */
export interface AleaState {
  s0: number;
  s1: number;
  s2: number;
  c: number;
}

const TWO_POW_32 = 4294967296;
const TWO_POW_MINUS_32 = 2.3283064365386963e-10;

/** The state of `seedrandom.alea(seed)` before its first draw. */
export function aleaState(seed: string): AleaState {
  const { s0, s1, s2, c } = (seedrandom.alea(seed, { state: true }) as unknown as { state(): AleaState }).state();
  return { s0, s1, s2, c };
}

/**
 * The least x in [0, 2^32] for which tfjs's dropout keeps a draw of x * 2^-32: it keeps draw u
 * when `floor(u + keep)` is 1 in float32, with u rounded to float32, i.e. when
 * fround(fround(u) + keep) >= 1. Both roundings are monotonic in u, so the kept draws are exactly
 * those from a threshold on; the search runs the very float32 test at every step.
 */
export function keepThreshold(keep: number): number {
  const kept = (x: number) => Math.fround(Math.fround(x * TWO_POW_MINUS_32) + keep) >= 1;
  let lo = 0;
  let hi = TWO_POW_32; // kept(2^32): u = 1 is always kept
  if (kept(lo)) return 0;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (kept(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The part of the WebAssembly API used here (the compiler's lib has no WebAssembly types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: object };
}

interface AleaWasm {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  fillKeepMask(out: number, n: number, threshold: bigint, state: number): void;
}

/** Draws per call into the module: its memory stays at 4 MiB whatever the mask's size. */
const CHUNK = 1 << 22;
const STATE_AT = 0;
const MASK_AT = 64;
let wasm: AleaWasm | undefined;

function aleaWasm(): AleaWasm {
  if (!wasm) {
    const { Module, Instance } = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const instance = new Instance(new Module(Buffer.from(ALEA_WASM, 'base64')));
    wasm = instance.exports as unknown as AleaWasm;
    wasm.memory.grow(Math.ceil((MASK_AT + CHUNK) / 65536) - wasm.memory.buffer.byteLength / 65536);
  }
  return wasm;
}

/**
 * `out[i]` = 1 where draw i of the alea stream from `st` keeps its element as tfjs's dropout with
 * keep probability `keep` (a float32) decides it, 0 where it drops.
 */
export function fillKeepMask(out: Uint8Array, st: AleaState, keep: number): void {
  const w = aleaWasm();
  const threshold = BigInt(keepThreshold(keep));
  const state = new BigUint64Array(w.memory.buffer, STATE_AT, 4);
  state.set([BigInt(st.s0 * TWO_POW_32), BigInt(st.s1 * TWO_POW_32), BigInt(st.s2 * TWO_POW_32), BigInt(st.c)]);
  for (let from = 0; from < out.length; from += CHUNK) {
    const n = Math.min(CHUNK, out.length - from);
    w.fillKeepMask(MASK_AT, n, threshold, STATE_AT);
    out.set(new Uint8Array(w.memory.buffer, MASK_AT, n), from);
  }
}
