import { tf } from '../tf.ts';
import { constant } from './init.ts';
import { Module } from './module.ts';

export interface LayerScaleArgs {
  dim: number;
  /** Initial value of every scale (CaiT/DeiT-III; the Flowformer vision code uses 1e-5). */
  init: number;
}

/**
 * LayerScale (Touvron et al., CaiT 2021): a learnable per-channel scale on a residual
 * branch, initialised small so a deep network starts close to the identity.
 * Like timm we give this 1-D parameter no weight decay.
 */
export class LayerScale extends Module {
  readonly gamma: tf.Variable; // [dim]
  constructor(args: LayerScaleArgs) {
    super();
    this.gamma = this.param('gamma', constant([args.dim], args.init), { decay: false });
  }
  /** `x` `[..., dim]` -> `[..., dim]`. */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.mul(x, this.gamma);
  }
}
