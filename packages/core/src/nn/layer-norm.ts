import { tf } from '../tf.ts';
import { ones, zeros } from './init.ts';
import { Module } from './module.ts';
import { consume } from './ops.ts';
import { fusedOr, xlaKernel } from '../backend/xla-kernels.ts';

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
    return tf.tidy('LayerNorm', () => (this.weight && this.bias ? layerNormAffine(x, this.weight, this.bias, this.eps) : layerNormPlain(x, this.eps)));
  }
}

/** `(x - mean) / sqrt(var + eps)` over the last axis, with `rstd` `[..., 1]` beside it. */
function normalise(x: tf.Tensor, eps: number): { xhat: tf.Tensor; rstd: tf.Tensor } {
  // tf.moments' kernels, with x - mean computed once and each temporary freed once used
  const centred = consume(tf.mean(x, -1, true), (mean) => tf.sub(x, mean));
  const rstd = consume(consume(consume(tf.square(centred), (t) => tf.mean(t, -1, true)), (variance) => tf.add(variance, eps)), tf.rsqrt);
  return { xhat: consume(centred, (c) => tf.mul(c, rstd)), rstd };
}

/**
 * d loss / d x of the normalisation, from `g` = d loss / d xhat:
 * rstd (g - mean(g) - xhat mean(g xhat)), means over the last axis.
 */
function normaliseGrad(g: tf.Tensor, xhat: tf.Tensor, rstd: tf.Tensor): tf.Tensor {
  const meanG = tf.mean(g, -1, true);
  const meanGx = tf.mean(tf.mul(g, xhat), -1, true);
  return tf.mul(tf.sub(tf.sub(g, meanG), tf.mul(xhat, meanGx)), rstd);
}

/**
 * LayerNorm with its own gradient, as PyTorch's: the composite form keeps about seven tensors
 * the size of `x` for the backward pass (x, x - mean twice, its square, the normalised x, ...);
 * this keeps the normalised `xhat` and `rstd` `[..., 1]` only. The forward runs the same kernels
 * as the composite form, so its output is bit-identical; gradients agree to float32 rounding.
 */
function layerNormAffine(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  const fused = x.dtype === 'float32' ? layerNormFused(x, weight, bias, eps) : null;
  if (fused) return fused;
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, w, b] = args as [tf.Tensor, tf.Tensor, tf.Tensor];
    const save = args[3] as tf.GradSaveFunc;
    const { xhat, rstd } = normalise(input, eps);
    save([xhat, rstd, w]);
    return {
      value: consume(tf.mul(xhat, w), (t) => tf.add(t, b)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, rs, ws] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const lead = Array.from({ length: dy.rank - 1 }, (_, i) => i); // every axis but the features
        return [normaliseGrad(tf.mul(dy, ws), xh, rs), tf.sum(tf.mul(dy, xh), lead), tf.sum(dy, lead)];
      },
    };
  });
  return f(x, weight, bias);
}

/**
 * layerNormAffine as two fused XLA kernels on the tensorflow backend (nine elementwise and
 * reduction passes forward and about fifteen backward, each one loop); null when they are off.
 * Keeps `x` (as `[N, dim]`) and `rstd` instead of `xhat` and `rstd`: the same memory, and the
 * backward kernel recomputes xhat in its loop.
 */
function layerNormFused(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor | null {
  const forward = xlaKernel('layer_norm');
  const backward = xlaKernel('layer_norm_grad');
  if (!forward || !backward) return null;
  const dim = weight.shape[0]!;
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, w, b] = args as [tf.Tensor, tf.Tensor, tf.Tensor];
    const save = args[3] as tf.GradSaveFunc;
    const x2 = input.reshape([-1, dim]); // [N, dim]
    const { y, rstd } = fusedOr(
      () => forward({ x: x2, weight: w, bias: b, eps: tf.scalar(eps) }) as { y: tf.Tensor; rstd: tf.Tensor },
      () => {
        const n = normalise(x2, eps);
        return { y: consume(consume(n.xhat, (t) => tf.mul(t, w)), (t) => tf.add(t, b)), rstd: n.rstd };
      },
    );
    save([x2, rstd, w]);
    return {
      value: y.reshape(input.shape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, rs, ws] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const dy2 = dy.reshape([-1, dim]);
        const g = fusedOr(
          () => backward({ dy: dy2, x: xs, rstd: rs, weight: ws }) as { dx: tf.Tensor; dweight: tf.Tensor; dbias: tf.Tensor },
          () => {
            const xhat = tf.mul(tf.sub(xs, tf.mean(xs, -1, true)), rs);
            return { dx: normaliseGrad(tf.mul(dy2, ws), xhat, rs), dweight: tf.sum(tf.mul(dy2, xhat), 0), dbias: tf.sum(dy2, 0) };
          },
        );
        return [g.dx.reshape(dy.shape), g.dweight, g.dbias];
      },
    };
  });
  return f(x, weight, bias);
}

function layerNormPlain(x: tf.Tensor, eps: number): tf.Tensor {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const { xhat, rstd } = normalise(input, eps);
    save([xhat, rstd]);
    return {
      value: xhat,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [normaliseGrad(dy, saved[0]!, saved[1]!)],
    };
  });
  return f(x);
}
