/**
 * In-memory LRA splits: every example is a token sequence (or a pair, for Retrieval) kept
 * compactly as bytes and turned into an int32 `[B, L]` batch, padded with 0, on demand.
 */
import { tf, type Batch, type BatchContext, type Split } from '@flowformer/core';

export interface LraBatch extends Batch {
  /** int32 `[B, L]` token ids (0 = padding). */
  ids: tf.Tensor2D;
  /** int32 `[B, L]` second document (Retrieval only). */
  ids2?: tf.Tensor2D;
  /** int32 `[B]` class labels. */
  labels: tf.Tensor1D;
}

/** How stored bytes become token ids: ListOps ids and pixels as they are, text bytes + 1. */
export type TokenOffset = 0 | 1;

export interface SequenceStore {
  /** One byte array per example (already cut to at most `maxLength`), or one flat array of fixed-length rows. */
  seqs: Uint8Array[] | { flat: Uint8Array; rowLength: number };
  offset: TokenOffset;
}

function rowOf(store: SequenceStore, i: number): Uint8Array {
  const s = store.seqs;
  return Array.isArray(s) ? s[i]! : s.flat.subarray(i * s.rowLength, (i + 1) * s.rowLength);
}

function fill(store: SequenceStore, idx: Int32Array, L: number): Int32Array {
  const out = new Int32Array(idx.length * L); // zeros = padding
  for (let b = 0; b < idx.length; b++) {
    const row = rowOf(store, idx[b]!);
    const n = Math.min(L, row.length);
    const o = b * L;
    if (store.offset === 0) for (let t = 0; t < n; t++) out[o + t] = row[t]!;
    else for (let t = 0; t < n; t++) out[o + t] = row[t]! + 1;
  }
  return out;
}

export class LraSplit implements Split<LraBatch> {
  readonly size: number;

  constructor(
    readonly first: SequenceStore,
    readonly labels: Int32Array,
    readonly maxLength: number,
    readonly second?: SequenceStore,
  ) {
    this.size = labels.length;
  }

  batch(indices: Int32Array, _ctx?: BatchContext): LraBatch {
    const B = indices.length;
    const L = this.maxLength;
    const ids = tf.tensor2d(fill(this.first, indices, L), [B, L], 'int32');
    const ids2 = this.second ? tf.tensor2d(fill(this.second, indices, L), [B, L], 'int32') : undefined;
    const y = new Int32Array(B);
    for (let b = 0; b < B; b++) y[b] = this.labels[indices[b]!]!;
    const labels = tf.tensor1d(y, 'int32');
    return { size: B, ids, ids2, labels, tensors: ids2 ? [ids, ids2, labels] : [ids, labels] };
  }

  /** The first `n` examples (or all). */
  head(n: number | undefined): LraSplit {
    if (n === undefined || n >= this.size) return this;
    const cut = (s: SequenceStore): SequenceStore =>
      Array.isArray(s.seqs)
        ? { seqs: s.seqs.slice(0, n), offset: s.offset }
        : { seqs: { flat: s.seqs.flat.subarray(0, n * s.seqs.rowLength), rowLength: s.seqs.rowLength }, offset: s.offset };
    return new LraSplit(cut(this.first), this.labels.slice(0, n), this.maxLength, this.second ? cut(this.second) : undefined);
  }
}

/** Class counts of a label array. */
export function classCounts(labels: Int32Array, numClasses: number): number[] {
  const c = new Array<number>(numClasses).fill(0);
  for (const l of labels) c[l]!++;
  return c;
}
