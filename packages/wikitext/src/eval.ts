/**
 * Perplexity as `fairseq-eval-lm --tokens-per-sample N --context-window C` computes it.
 *
 * fairseq lowers tokens-per-sample to N - C, cuts the stream into blocks of that many targets
 * (`--sample-break-mode none`), and `LMContextWindowDataset` prepends to every block the last
 * C input tokens that came before it (fewer at the start of the corpus). The model reads at
 * most N tokens, and only the block's own N - C targets are scored, so every target but the
 * first few sees between C and N - 1 tokens of context. Perplexity is exp of the mean negative
 * log-likelihood over every target, `</s>` included (fairseq prints it as 2^(loss in bits)).
 * With C = 0 this is plain block-by-block scoring (fairseq's validation during training).
 */
import { tf } from '@flowformer/core';
import type { TokenStream } from './data/blocks.ts';

/**
 * A language model for scoring: int32 ids `[B, T]` -> logits `[B, T, V]` (position t predicts
 * token t+1). A model may use `scoreFrom` to skip the output projection of the positions
 * before it and return `[B, T - scoreFrom, V]` (for a 267k vocabulary the full `[B, T, V]` is
 * half a gigabyte per row); returning all T positions is always accepted.
 */
export type LogitsFn = (tokens: tf.Tensor2D, scoreFrom?: number) => tf.Tensor3D;

/** One model call of the evaluation: it reads `S[start..end)` and scores targets `S[scoreStart+1..end]`. */
export interface ScoreWindow {
  start: number;
  /** First input position whose next token is scored (`start + context`). */
  scoreStart: number;
  end: number;
}

export interface PerplexityArgs {
  /** Longest model input N (fairseq `--tokens-per-sample`, 512 for WikiText-103). */
  tokensPerSample: number;
  /** C (fairseq `--context-window`, 400); 0 for plain blocks. Must be < tokensPerSample. */
  contextWindow: number;
  /** Windows per model call. Default 1. */
  batchSize?: number;
  /** Id used to right-pad short windows (their padded positions are never scored). */
  padId: number;
  /** Called after every batch with (targets done, total targets). */
  onProgress?: (done: number, total: number) => void;
}

export interface PerplexityResult {
  /** Mean negative log-likelihood per target token, in nats. */
  nll: number;
  /** exp(nll). */
  ppl: number;
  /** The same loss in bits (what fairseq prints as "Loss (base 2)"). */
  bits: number;
  /** Number of scored targets (every token of the split, `</s>` included). */
  tokens: number;
}

/** The windows fairseq's context-window evaluation feeds the model, in order. */
export function scoreWindows(numTargets: number, tokensPerSample: number, contextWindow: number): ScoreWindow[] {
  if (!(contextWindow >= 0 && contextWindow < tokensPerSample)) {
    throw new Error(`contextWindow must be in [0, tokensPerSample) = [0, ${tokensPerSample}), got ${contextWindow}`);
  }
  const block = tokensPerSample - contextWindow;
  const out: ScoreWindow[] = [];
  for (let s = 0; s < numTargets; s += block) {
    const end = Math.min(s + block, numTargets);
    out.push({ start: Math.max(0, s - contextWindow), scoreStart: s, end });
  }
  return out;
}

/** Sum of -log p(target) over the scored positions of a batch of windows (float64 accumulation in JS). */
function scoreBatch(model: LogitsFn, stream: TokenStream, windows: ScoreWindow[], padId: number): number {
  const B = windows.length;
  const T = Math.max(...windows.map((w) => w.end - w.start));
  // Positions before the earliest scored one are never needed: let the model skip them.
  const from = Math.min(...windows.map((w) => w.scoreStart - w.start));
  const Ts = T - from;
  const input = new Int32Array(B * T).fill(padId);
  const target = new Int32Array(B * Ts);
  const mask = new Float32Array(B * Ts);
  windows.forEach((w, b) => {
    input.set(stream.slice(w.start, w.end), b * T);
    const tg = stream.slice(w.scoreStart + 1, w.end + 1); // targets of input positions scoreStart..end-1
    const off = b * Ts + (w.scoreStart - w.start - from);
    target.set(tg, off);
    mask.fill(1, off, off + tg.length);
  });
  const sum = tf.tidy(() => {
    const logits = model(tf.tensor2d(input, [B, T], 'int32'), from);
    if (logits.rank !== 3 || logits.shape[0] !== B || (logits.shape[1] !== T && logits.shape[1] !== Ts)) {
      throw new Error(`the model returned logits of shape [${logits.shape}] for input [${B}, ${T}] scored from ${from}; expected [${B}, ${T}, V] or [${B}, ${Ts}, V]`);
    }
    const scored = logits.shape[1] === T && from > 0 ? tf.slice(logits, [0, from, 0], [B, Ts, -1]) : logits; // [B,Ts,V]
    const V = scored.shape[2]!;
    if (B * Ts * V >= 2 ** 31) throw new Error(`evaluatePerplexity: ${B} x ${Ts} x ${V} logits exceed int32 indexing; lower the evaluation batch size (evaluation.batchSize)`);
    const flatLogits = scored.reshape([B * Ts, V]);
    // -log p(y) = logsumexp(logits) - logits[y]; the logit of y is gathered from the flat table
    // (cheaper than a full log-softmax or a one-hot as large as the logits).
    const lse = tf.logSumExp(flatLogits, -1); // [B*Ts]
    const flat = Int32Array.from(target, (t, i) => i * V + t);
    const picked = tf.gather(flatLogits.reshape([-1]), tf.tensor1d(flat, 'int32')); // [B*Ts]
    return tf.sum(tf.mul(tf.sub(lse, picked), tf.tensor1d(mask)));
  });
  const v = sum.dataSync()[0]!;
  sum.dispose();
  return v;
}

/** Perplexity of `model` on `stream` (every target of the stream is scored exactly once). */
export function evaluatePerplexity(model: LogitsFn, stream: TokenStream, args: PerplexityArgs): PerplexityResult {
  const windows = scoreWindows(stream.numTargets, args.tokensPerSample, args.contextWindow);
  const bs = args.batchSize ?? 1;
  let total = 0;
  let done = 0;
  for (let i = 0; i < windows.length; i += bs) {
    const group = windows.slice(i, i + bs);
    total += scoreBatch(model, stream, group, args.padId);
    done += group.reduce((n, w) => n + w.end - w.scoreStart, 0);
    args.onProgress?.(done, stream.numTargets);
  }
  const n = stream.numTargets;
  const nll = n > 0 ? total / n : 0;
  return { nll, ppl: Math.exp(nll), bits: nll / Math.LN2, tokens: n };
}
