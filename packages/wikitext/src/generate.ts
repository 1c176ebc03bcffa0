/**
 * Sampling text from a trained language model with the recurrent form of its attention:
 * the prompt is fed one token at a time into the per-layer state, then each new token costs
 * one `step` (for Flow-Attention, constant time and memory in the length generated so far).
 */
import { tf, type Rng } from '@flowformer/core';
import type { TransformerLM } from './model.ts';

export interface GenerateArgs {
  /** Number of tokens to generate. */
  tokens: number;
  /** Softmax temperature (> 0); 1 samples from the model. Default 1. */
  temperature?: number;
  /** Sample among the k most likely tokens only; default: all. */
  topK?: number;
  /** Source of the sampling randomness. */
  rng: Rng;
  /** Ids never sampled (e.g. `<pad>`, `<s>` of a fairseq dictionary). */
  forbidden?: number[];
  /** Called with each new token. */
  onToken?: (id: number) => void;
}

/** Draws one id from `logits` (a JS array) with temperature and top-k, by inverse CDF on `rng`. */
export function sampleLogits(logits: Float32Array, temperature: number, topK: number | undefined, rng: Rng, forbidden: number[] = []): number {
  if (!(temperature > 0)) throw new Error(`temperature must be > 0, got ${temperature}`);
  const z = Float64Array.from(logits, (v) => v / temperature);
  for (const f of forbidden) if (f >= 0 && f < z.length) z[f] = -Infinity;
  if (topK !== undefined && topK < z.length) {
    if (!(topK >= 1)) throw new Error(`topK must be >= 1, got ${topK}`);
    const kth = Float64Array.from(z).sort().reverse()[topK - 1]!;
    for (let i = 0; i < z.length; i++) if (z[i]! < kth) z[i] = -Infinity;
  }
  let m = -Infinity;
  for (const v of z) if (v > m) m = v;
  let total = 0;
  for (let i = 0; i < z.length; i++) total += z[i] = Math.exp(z[i]! - m);
  let u = rng.next() * total;
  for (let i = 0; i < z.length; i++) {
    u -= z[i]!;
    if (u < 0) return i;
  }
  // Rounding left a sliver: return the last possible id.
  for (let i = z.length - 1; i >= 0; i--) if (z[i]! > 0) return i;
  return 0;
}

/** Continues `prompt` (ids, at least one) by `args.tokens` sampled ids; returns only the new ids. */
export function generate(model: TransformerLM, prompt: ArrayLike<number>, args: GenerateArgs): Int32Array {
  if (prompt.length < 1) throw new Error('generate: the prompt needs at least one token (use the end-of-sentence id to start from nothing)');
  const out = new Int32Array(args.tokens);
  let state = model.initState(1);
  let logits: tf.Tensor2D | null = null;
  try {
    const feed = (id: number) => {
      const ids = tf.tensor1d([id], 'int32');
      const r = model.step(ids, state);
      ids.dispose();
      logits?.dispose();
      logits = r.logits;
      state = r.state;
    };
    for (let i = 0; i < prompt.length; i++) feed(prompt[i]!);
    for (let n = 0; n < args.tokens; n++) {
      const id = sampleLogits(logits!.dataSync() as Float32Array, args.temperature ?? 1, args.topK, args.rng, args.forbidden);
      out[n] = id;
      args.onToken?.(id);
      if (n + 1 < args.tokens) feed(id);
    }
  } finally {
    (logits as tf.Tensor2D | null)?.dispose();
    model.disposeState(state);
  }
  return out;
}
