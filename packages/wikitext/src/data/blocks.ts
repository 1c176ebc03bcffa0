/**
 * Language-model examples cut from one long token stream.
 *
 * fairseq (`TokenBlockDataset`, `--sample-break-mode none`, `include_targets`) cuts the
 * concatenated corpus into contiguous blocks of `tokensPerSample` targets, across line
 * boundaries, the last block possibly shorter; a block's input is its targets shifted right
 * by one, the very first input being `</s>`. Equivalently: prefix the corpus with `</s>` to
 * get a stream `S`, then block `i` predicts `S[s+1..e]` from `S[s..e-1]` with
 * `s = i * tokensPerSample`. Character-level corpora have no such prefix: `S` is the text
 * itself and the first character is never a target (as in nanoGPT).
 */
import { tf, type Batch, type Split } from '@flowformer/core';

/** A corpus seen as the stream `S` (optional one-token prefix, then `tokens`). */
export class TokenStream {
  readonly length: number;
  constructor(
    readonly tokens: Int32Array,
    /** Token placed before the corpus (`</s>` for fairseq word-level data), or null. */
    readonly prefix: number | null,
  ) {
    this.length = tokens.length + (prefix === null ? 0 : 1);
  }

  at(j: number): number {
    if (this.prefix === null) return this.tokens[j]!;
    return j === 0 ? this.prefix : this.tokens[j - 1]!;
  }

  /** `S[from..to)` as a new array. */
  slice(from: number, to: number): Int32Array {
    const out = new Int32Array(Math.max(0, to - from));
    if (out.length === 0) return out;
    if (this.prefix === null) out.set(this.tokens.subarray(from, to));
    else {
      let k = 0;
      let j = from;
      if (j === 0 && to > 0) {
        out[k++] = this.prefix;
        j = 1;
      }
      out.set(this.tokens.subarray(j - 1, to - 1), k);
    }
    return out;
  }

  /** Number of predicted positions: every element of `S` but the first. */
  get numTargets(): number {
    return Math.max(0, this.length - 1);
  }
}

/** A batch of next-token examples. Rows shorter than `T` are right-padded and masked out. */
export interface LmBatch extends Batch {
  /** `[B, T]` int32 input ids. */
  input: tf.Tensor2D;
  /** `[B, T]` int32 target ids (`padId` where masked). */
  target: tf.Tensor2D;
  /** `[B, T]` float32: 1 for a real target, 0 for padding. */
  mask: tf.Tensor2D;
  /** Number of real targets (the loss is their mean). */
  ntokens: number;
  /** Same as `ntokens`: the trainer reports tokens per second from it. */
  tokens: number;
}

/** Builds a padded batch from rows of (input, target) pairs of length <= T. */
export function makeBatch(rows: { input: Int32Array; target: Int32Array }[], padId: number): LmBatch {
  const T = Math.max(1, ...rows.map((r) => r.input.length));
  const B = rows.length;
  const input = new Int32Array(B * T).fill(padId);
  const target = new Int32Array(B * T).fill(padId);
  const mask = new Float32Array(B * T);
  let ntokens = 0;
  rows.forEach((r, b) => {
    input.set(r.input, b * T);
    target.set(r.target, b * T);
    mask.fill(1, b * T, b * T + r.target.length);
    ntokens += r.target.length;
  });
  const t = {
    input: tf.tensor2d(input, [B, T], 'int32'),
    target: tf.tensor2d(target, [B, T], 'int32'),
    mask: tf.tensor2d(mask, [B, T], 'float32'),
  };
  return { ...t, size: B, ntokens, tokens: ntokens, tensors: [t.input, t.target, t.mask] };
}

/**
 * fairseq's `--sample-break-mode none` blocks: example `i` has the targets
 * `S[i*T+1 .. min((i+1)*T, |S|-1)]`. The trainer shuffles their order.
 */
export class BlockSplit implements Split<LmBatch> {
  readonly size: number;
  constructor(
    readonly stream: TokenStream,
    readonly tokensPerSample: number,
    readonly padId: number,
  ) {
    if (!(tokensPerSample >= 1)) throw new Error(`tokensPerSample must be >= 1, got ${tokensPerSample}`);
    this.size = Math.ceil(stream.numTargets / tokensPerSample);
  }

  example(i: number): { input: Int32Array; target: Int32Array } {
    if (i < 0 || i >= this.size) throw new RangeError(`block ${i} out of range [0, ${this.size})`);
    const s = i * this.tokensPerSample;
    const e = Math.min(s + this.tokensPerSample, this.stream.numTargets);
    return { input: this.stream.slice(s, e), target: this.stream.slice(s + 1, e + 1) };
  }

  batch(indices: Int32Array): LmBatch {
    return makeBatch(Array.from(indices, (i) => this.example(i)), this.padId);
  }
}

/**
 * nanoGPT's training examples: a window of `blockSize` inputs starting at any position of
 * the text (`get_batch` draws the starts uniformly; here the trainer's shuffled order does).
 */
export class WindowSplit implements Split<LmBatch> {
  readonly size: number;
  constructor(
    readonly tokens: Int32Array,
    readonly blockSize: number,
  ) {
    this.size = tokens.length - blockSize;
    if (this.size < 1) throw new Error(`the text has ${tokens.length} tokens, too few for windows of ${blockSize} (+1 target)`);
  }

  example(i: number): { input: Int32Array; target: Int32Array } {
    if (i < 0 || i >= this.size) throw new RangeError(`window ${i} out of range [0, ${this.size})`);
    return { input: this.tokens.slice(i, i + this.blockSize), target: this.tokens.slice(i + 1, i + 1 + this.blockSize) };
  }

  batch(indices: Int32Array): LmBatch {
    return makeBatch(Array.from(indices, (i) => this.example(i)), 0);
  }
}
