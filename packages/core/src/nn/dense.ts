import { tf } from '../tf.ts';
import type { Rng } from '../rng.ts';
import { torchDefault, zeros } from './init.ts';
import { Module } from './module.ts';

export interface DenseArgs {
  inFeatures: number;
  outFeatures: number;
  /** Default true. */
  bias?: boolean;
  /** Kernel initialiser; default PyTorch's `nn.Linear` (U(+-1/sqrt(in))). */
  kernelInit?: (rng: Rng, shape: number[]) => tf.Tensor;
  /** Bias initialiser; default PyTorch's `nn.Linear`. Use `zeros` for timm/fairseq-style inits. */
  biasInit?: (rng: Rng, shape: number[]) => tf.Tensor;
}

/**
 * y = x W + b with W stored as `[in, out]` (the usual dense layout; PyTorch's `weight`
 * transposed). Inputs of any rank `[..., in]` are flattened to one 2-D matmul, which is
 * the fast path on every backend (on wasm it is the only XNNPACK path).
 */
export class Dense extends Module {
  readonly kernel: tf.Variable; // [in, out]
  readonly bias: tf.Variable | null; // [out]
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(rng: Rng, args: DenseArgs) {
    super();
    const { inFeatures, outFeatures } = args;
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const kInit = args.kernelInit ?? ((r, s) => torchDefault(r, s, inFeatures));
    this.kernel = this.param('kernel', kInit(rng, [inFeatures, outFeatures]));
    if (args.bias ?? true) {
      const bInit = args.biasInit ?? ((r, s) => torchDefault(r, s, inFeatures));
      this.bias = this.param('bias', bInit(rng, [outFeatures]), { decay: false });
    } else {
      this.bias = null;
    }
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const x2 = x.reshape([-1, this.inFeatures]);
      let y = tf.matMul(x2, this.kernel);
      if (this.bias) y = tf.add(y, this.bias);
      return y.reshape([...lead, this.outFeatures]);
    });
  }
}

export { zeros };
