import { tf } from '../tf.ts';
import { ones, zeros } from './init.ts';
import { Module } from './module.ts';

export interface LayerNormArgs {
  /** Size of the normalised (last) axis. */
  dim: number;
  /** Added to the variance before the square root. PyTorch/fairseq default 1e-5; the vision code uses 1e-6. */
  eps?: number;
  /** Learn a per-feature scale `weight` and shift `bias` (PyTorch's elementwise_affine). Default true. */
  affine?: boolean;
}

/**
 * Layer normalisation over the last axis, as PyTorch's `nn.LayerNorm`:
 * y = (x - mean) / sqrt(var + eps) * weight + bias, with the biased variance.
 * Parameters are named `weight` and `bias` as in PyTorch state dicts and receive no weight decay.
 */
export class LayerNorm extends Module {
  readonly dim: number;
  readonly eps: number;
  readonly weight: tf.Variable | null; // [dim]
  readonly bias: tf.Variable | null; // [dim]

  constructor(args: LayerNormArgs) {
    super();
    this.dim = args.dim;
    this.eps = args.eps ?? 1e-5;
    if (args.affine ?? true) {
      this.weight = this.param('weight', ones([this.dim]), { decay: false });
      this.bias = this.param('bias', zeros([this.dim]), { decay: false });
    } else {
      this.weight = null;
      this.bias = null;
    }
  }

  /** `x` `[..., dim]` -> `[..., dim]`. */
  forward(x: tf.Tensor): tf.Tensor {
    const d = x.shape[x.rank - 1];
    if (d !== this.dim) throw new Error(`LayerNorm: input's last axis is ${d}, expected ${this.dim} (shape [${x.shape}])`);
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps)));
      if (this.weight && this.bias) y = tf.add(tf.mul(y, this.weight), this.bias);
      return y;
    });
  }
}
