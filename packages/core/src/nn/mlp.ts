import { tf } from '../tf.ts';
import type { Rng } from '../rng.ts';
import { activation, type ActivationName } from './activations.ts';
import { Dense } from './dense.ts';
import { dropout } from './dropout.ts';
import { denseGeluDropout } from './fused.ts';
import { Module, type ForwardContext } from './module.ts';

export interface MLPArgs {
  inFeatures: number;
  hiddenFeatures: number;
  /** Default `inFeatures`. */
  outFeatures?: number;
  /** Default 'gelu' (exact, erf-based). */
  activation?: ActivationName;
  /** Dropout on the output (after the second Dense). Default 0. */
  dropout?: number;
  /** Dropout after the activation; default `dropout` (LRA's MlpBlock, timm's Mlp). fairseq calls it activation_dropout. */
  activationDropout?: number;
  kernelInit?: (rng: Rng, shape: number[]) => tf.Tensor;
  biasInit?: (rng: Rng, shape: number[]) => tf.Tensor;
}

/**
 * The transformer feed-forward block: Dense -> activation -> dropout -> Dense -> dropout.
 * (A 1x1 Conv1d, as the time-series code writes it, is the same Dense.)
 */
export class MLP extends Module {
  readonly fc1: Dense;
  readonly fc2: Dense;
  private readonly act: (x: tf.Tensor) => tf.Tensor;
  private readonly activationName: ActivationName;
  readonly dropout: number;
  readonly activationDropout: number;

  constructor(rng: Rng, args: MLPArgs) {
    super();
    const init = { kernelInit: args.kernelInit, biasInit: args.biasInit };
    this.fc1 = this.child('fc1', new Dense(rng, { inFeatures: args.inFeatures, outFeatures: args.hiddenFeatures, ...init }));
    this.fc2 = this.child('fc2', new Dense(rng, { inFeatures: args.hiddenFeatures, outFeatures: args.outFeatures ?? args.inFeatures, ...init }));
    this.activationName = args.activation ?? 'gelu';
    this.act = activation(this.activationName);
    this.dropout = args.dropout ?? 0;
    this.activationDropout = args.activationDropout ?? this.dropout;
  }

  /** `x` `[..., in]` -> `[..., out]`. */
  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    return tf.tidy(() => {
      const fused = this.fusedHidden(x, ctx);
      if (fused) return dropout(this.fc2.forward(fused), this.dropout, ctx);
      const a = this.act(this.fc1.forward(x)); // [..., hidden]
      const h = dropout(a, this.activationDropout, ctx);
      // Dropout keeps only its mask: free the activation now, not when the block's scope ends.
      if (h !== a) a.dispose();
      return dropout(this.fc2.forward(h), this.dropout, ctx);
    });
  }

  /**
   * fc1, exact GELU and dropout with the bias, GELU and dropout as one fused kernel
   * (nn/fused.ts) when the backend has it; null otherwise. `[..., in]` -> `[..., hidden]`.
   */
  private fusedHidden(x: tf.Tensor, ctx: ForwardContext): tf.Tensor | null {
    const { kernel, bias, inFeatures, outFeatures } = this.fc1;
    if (this.activationName !== 'gelu' || !bias) return null;
    const y = denseGeluDropout(x.reshape([-1, inFeatures]), kernel, bias, this.activationDropout, ctx); // [N, hidden]
    return y ? y.reshape([...x.shape.slice(0, -1), outFeatures]) : null;
  }
}
