/**
 * A preprocessed UEA split as the trainer sees it: random access by case index, each batch a
 * fresh set of tensors (the trainer disposes them after the step).
 */
import { tf, type Batch, type Split } from '@flowformer/core';
import type { UeaArrays } from './preprocess.ts';

export interface UeaBatch extends Batch {
  /** `[B, L, D]` standardised series, zero at padded steps. */
  x: tf.Tensor3D;
  /** `[B, L]` float, 1 = real step, 0 = padding. */
  mask: tf.Tensor2D;
  /** `[B]` int32 class indices. */
  y: tf.Tensor1D;
}

export class UeaSplit implements Split<UeaBatch> {
  constructor(
    readonly arrays: UeaArrays,
    /** Padded length L. */
    readonly maxLen: number,
    /** Dimensions D. */
    readonly numDims: number,
  ) {}

  get size(): number {
    return this.arrays.size;
  }

  batch(indices: Int32Array): UeaBatch {
    const { x, mask, y } = this.arrays;
    const B = indices.length;
    const L = this.maxLen;
    const D = this.numDims;
    const bx = new Float32Array(B * L * D);
    const bm = new Float32Array(B * L);
    const by = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const i = indices[b]!;
      if (!(i >= 0 && i < this.arrays.size)) throw new Error(`UeaSplit.batch: index ${i} out of range [0, ${this.arrays.size})`);
      bx.set(x.subarray(i * L * D, (i + 1) * L * D), b * L * D);
      bm.set(mask.subarray(i * L, (i + 1) * L), b * L);
      by[b] = y[i]!;
    }
    const tx = tf.tensor3d(bx, [B, L, D]);
    const tm = tf.tensor2d(bm, [B, L]);
    const ty = tf.tensor1d(by, 'int32');
    return { size: B, x: tx, mask: tm, y: ty, tensors: [tx, tm, ty] };
  }
}
