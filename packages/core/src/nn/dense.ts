import { tf } from '../tf.ts';
import type { Rng } from '../rng.ts';
import { torchDefault, zeros } from './init.ts';
import { Module } from './module.ts';
import { consume } from './ops.ts';

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
    return tf.tidy('Dense', () => (this.bias ? denseWithBias(x, this.kernel, this.bias) : tf.matMul(x.reshape([-1, this.inFeatures]), this.kernel).reshape([...x.shape.slice(0, -1), this.outFeatures])));
  }
}

/**
 * `x W + b` (`x` `[..., in]`, `W` `[in, out]`, `b` `[out]`) with its own gradient. tfjs's `Add`
 * keeps both of its inputs for the backward pass although its gradient needs only their shapes,
 * and each `Reshape` keeps its input, so the composite form keeps the `[N, out]` product (and on
 * tfjs-node, handles of the same buffer under other shapes) until the backward pass; here only
 * `x` as `[N, in]` and `W` are kept, as PyTorch's `nn.Linear` does. Same kernels forward and
 * backward as the composite form (dx = dy W^T, dW = x^T dy, db = sum of dy over rows): the
 * values are bit-identical.
 */
function denseWithBias(x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  const lead = x.shape.slice(0, -1);
  const [inF, outF] = kernel.shape as [number, number];
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, w, b] = args as [tf.Tensor, tf.Tensor, tf.Tensor];
    const save = args[3] as tf.GradSaveFunc;
    const x2 = input.reshape([-1, inF]); // [N, in]
    save([x2, w]);
    return {
      value: consume(tf.matMul(x2, w), (t) => tf.add(t, b)).reshape([...lead, outF]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor, tf.Tensor];
        const dy2 = dy.reshape([-1, outF]); // [N, out]
        return [tf.matMul(dy2, ws, false, true).reshape([...lead, inF]), tf.matMul(xs, dy2, true, false), tf.sum(dy2, 0)];
      },
    };
  });
  return f(x, kernel, bias);
}
