/**
 * Shared test helpers: choose a backend by name, run the same computation on several
 * backends from the same inputs, and compare arrays.
 */
import { expect } from 'vitest';
import { tf } from '../../src/tf.ts';
import { initBackend, shutdownBackend, type BackendName, type BackendInfo } from '../../src/backend/select.ts';

export { initBackend, shutdownBackend };

/** Initialise `name` (idempotent) and return its info. */
export async function useBackend(name: BackendName): Promise<BackendInfo> {
  return initBackend(name);
}

/** Deterministic uniform(-scale, scale) values (mulberry32), so that every backend sees the same inputs. */
export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** Deterministic integers in [lo, hi). */
export function randomInts(n: number, seed: number, lo: number, hi: number): Int32Array {
  const u = randomArray(n, seed, 1);
  return Int32Array.from(u, (v) => lo + Math.min(hi - lo - 1, Math.floor(((v + 1) / 2) * (hi - lo))));
}

/**
 * Run `fn` on `backend` and return its outputs as plain arrays; `fn` builds its tensors from
 * plain arrays, so each backend computes from identical inputs. Checks that nothing leaks.
 */
export async function runOn(
  backend: BackendName,
  fn: () => tf.Tensor | tf.Tensor[],
): Promise<{ values: Float32Array[]; shapes: number[][] }> {
  await initBackend(backend);
  const before = tf.memory().numTensors;
  const idsBefore = tf.backend().numDataIds();
  const outs = tf.tidy(() => {
    const r = fn();
    return Array.isArray(r) ? r : [r];
  });
  const values = outs.map((t) => Float32Array.from(t.dataSync() as ArrayLike<number>));
  const shapes = outs.map((t) => t.shape);
  tf.dispose(outs);
  expect(tf.memory().numTensors, `tensor leak on ${backend}`).toBe(before);
  // kernels that allocate backend buffers behind the engine's back would show here
  expect(tf.backend().numDataIds(), `backend buffer leak on ${backend}`).toBe(idsBefore);
  return { values, shapes };
}

/** max |a-b| / (atol + rtol*|b|) <= 1, with a readable failure message. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what = ''): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const b = expected[i]!;
    const r = Math.abs(a - b) / (atol + rtol * Math.abs(b));
    if (!(r <= worst) || Number.isNaN(r)) {
      worst = Number.isNaN(r) ? Infinity : r;
      at = i;
    }
  }
  if (worst > 1) {
    throw new Error(
      `${what}: not close at index ${at}: got ${actual[at]}, expected ${expected[at]} (rtol ${rtol}, atol ${atol})`,
    );
  }
}
