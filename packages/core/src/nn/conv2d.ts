import { tf } from '../tf.ts';
import type { Rng } from '../rng.ts';
import { torchDefault } from './init.ts';
import { Module } from './module.ts';

export interface Conv2dArgs {
  inChannels: number;
  outChannels: number;
  /** Square kernel size, or [kh, kw]. */
  kernelSize: number | [number, number];
  /** Default 1. */
  stride?: number | [number, number];
  /** Zero padding on each side (PyTorch's `padding`); default 0. */
  padding?: number;
  /** Default true. */
  bias?: boolean;
  /** Kernel initialiser for `[kh, kw, in, out]`; default PyTorch's `nn.Conv2d` (U(+-1/sqrt(in*kh*kw))). */
  kernelInit?: (rng: Rng, shape: number[]) => tf.Tensor;
  biasInit?: (rng: Rng, shape: number[]) => tf.Tensor;
}

const pair = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? v : [v, v]);

/**
 * 2-D convolution on NHWC tensors, kernel `[kh, kw, in, out]` (TensorFlow's layout; a
 * PyTorch weight `[out, in, kh, kw]` maps to it by a transpose [2, 3, 1, 0]).
 *
 * When the kernel equals the stride and there is no padding (the patch embedding of a
 * vision transformer and the 2x2 stride-2 down-sampling between stages) the windows do
 * not overlap, so the convolution is exactly a reshape to patches and one 2-D matmul. We
 * take that path: it is the fast path on every backend and its gradient needs no
 * convolution-backprop kernels (which the wasm backend lacks). Trailing rows/columns that
 * do not fill a window are dropped, as PyTorch does.
 */
export class Conv2d extends Module {
  readonly kernel: tf.Variable; // [kh, kw, in, out]
  readonly bias: tf.Variable | null; // [out]
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: number;
  readonly inChannels: number;
  readonly outChannels: number;

  constructor(rng: Rng, args: Conv2dArgs) {
    super();
    this.inChannels = args.inChannels;
    this.outChannels = args.outChannels;
    this.kernelSize = pair(args.kernelSize);
    this.stride = pair(args.stride ?? 1);
    this.padding = args.padding ?? 0;
    const [kh, kw] = this.kernelSize;
    const fanIn = args.inChannels * kh * kw;
    const kInit = args.kernelInit ?? ((r, s) => torchDefault(r, s, fanIn));
    this.kernel = this.param('kernel', kInit(rng, [kh, kw, args.inChannels, args.outChannels]));
    if (args.bias ?? true) {
      const bInit = args.biasInit ?? ((r, s) => torchDefault(r, s, fanIn));
      this.bias = this.param('bias', bInit(rng, [args.outChannels]), { decay: false });
    } else {
      this.bias = null;
    }
  }

  /** `x` `[B, H, W, inChannels]` -> `[B, H', W', outChannels]`. */
  forward(x: tf.Tensor): tf.Tensor {
    if (x.rank !== 4 || x.shape[3] !== this.inChannels) {
      throw new Error(`Conv2d: expected NHWC input [B, H, W, ${this.inChannels}], got [${x.shape}]`);
    }
    const [kh, kw] = this.kernelSize;
    const [sh, sw] = this.stride;
    return tf.tidy(() => {
      let y: tf.Tensor;
      if (kh === sh && kw === sw && this.padding === 0) {
        const [B, H, W, C] = x.shape as [number, number, number, number];
        const Ho = Math.floor(H / kh);
        const Wo = Math.floor(W / kw);
        if (Ho === 0 || Wo === 0) throw new Error(`Conv2d: input ${H}x${W} is smaller than the ${kh}x${kw} kernel`);
        const xc = Ho * kh === H && Wo * kw === W ? x : tf.slice(x, [0, 0, 0, 0], [B, Ho * kh, Wo * kw, C]);
        // [B, Ho, kh, Wo, kw, C] -> [B, Ho, Wo, kh, kw, C]: each row is one patch in the kernel's (kh, kw, in) order.
        const patches = xc.reshape([B, Ho, kh, Wo, kw, C]).transpose([0, 1, 3, 2, 4, 5]).reshape([B * Ho * Wo, kh * kw * C]);
        y = tf.matMul(patches, this.kernel.reshape([kh * kw * C, this.outChannels])).reshape([B, Ho, Wo, this.outChannels]);
      } else {
        const p = this.padding;
        const xp = p > 0 ? tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]) : x;
        y = tf.conv2d(xp as tf.Tensor4D, this.kernel as tf.Tensor4D, [sh, sw], 'valid');
      }
      if (this.bias) y = tf.add(y, this.bias);
      return y;
    });
  }
}
