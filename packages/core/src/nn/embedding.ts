import { tf } from '../tf.ts';
import { addKeepingNothing } from './ops.ts';
import type { Rng } from '../rng.ts';
import { normal, truncatedNormal } from './init.ts';
import { Module } from './module.ts';

export interface EmbeddingArgs {
  numEmbeddings: number;
  dim: number;
  /** Row that is zeroed at initialisation (PyTorch/fairseq `padding_idx`). */
  paddingIdx?: number;
  /** Initialiser of the `[numEmbeddings, dim]` table; default N(0, 1) as PyTorch's `nn.Embedding`. */
  init?: (rng: Rng, shape: number[]) => tf.Tensor;
  /** Receives weight decay. Default true (PyTorch/fairseq do not exempt embeddings). */
  decay?: boolean;
}

/**
 * A lookup table `weight` `[numEmbeddings, dim]` (PyTorch's layout). `forward` gathers rows;
 * `project` multiplies by the transposed table, which is the tied output projection of a
 * language model (fairseq's `share_input_output_embed`).
 */
export class Embedding extends Module {
  readonly weight: tf.Variable; // [V, D]
  readonly numEmbeddings: number;
  readonly dim: number;

  constructor(rng: Rng, args: EmbeddingArgs) {
    super();
    this.numEmbeddings = args.numEmbeddings;
    this.dim = args.dim;
    const shape = [args.numEmbeddings, args.dim];
    let w = (args.init ?? ((r, s) => normal(r, s, 1)))(rng, shape);
    if (args.paddingIdx !== undefined) {
      const p = args.paddingIdx;
      if (p < 0 || p >= args.numEmbeddings) throw new Error(`Embedding: paddingIdx ${p} is outside [0, ${args.numEmbeddings})`);
      const data = (w.dataSync() as Float32Array).slice();
      data.fill(0, p * args.dim, (p + 1) * args.dim);
      w.dispose();
      w = tf.tensor2d(data, [args.numEmbeddings, args.dim]);
    }
    this.weight = this.param('weight', w, { decay: args.decay ?? true });
  }

  /** `ids` int32 `[...]` -> `[..., dim]`. */
  forward(ids: tf.Tensor): tf.Tensor {
    if (ids.dtype !== 'int32') throw new Error(`Embedding: ids must be int32, got ${ids.dtype}`);
    return tf.tidy(() => tf.gather(this.weight, ids.reshape([-1])).reshape([...ids.shape, this.dim]));
  }

  /** Tied output projection: `x` `[..., dim]` -> logits `[..., numEmbeddings]` = x W^T. */
  project(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const y = tf.matMul(x.reshape([-1, this.dim]), this.weight, false, true);
      return y.reshape([...lead, this.numEmbeddings]);
    });
  }
}

/**
 * How the sin and cos channels of a sinusoidal table are laid out.
 * - `interleaved`: pe[p, 2i] = sin(p w_i), pe[p, 2i+1] = cos(p w_i), w_i = 10000^(-2i/d).
 *   "Attention is all you need" as the LRA code (`common_layers.sinusoidal_init`) writes it.
 * - `concat`: pe[p] = [sin(p w_0..w_{h-1}), cos(p w_0..w_{h-1})], h = d/2, w_i = 10000^(-i/(h-1)).
 *   tensor2tensor's `get_timing_signal_1d` and fairseq's `SinusoidalPositionalEmbedding`
 *   (used by fairseq's `transformer_lm`, i.e. the paper's WikiText-103 runs); an odd `d`
 *   gets a zero last column as in fairseq.
 */
export type SinusoidLayout = 'interleaved' | 'concat';

/** The `[numPositions, dim]` table for positions `first, first+1, ...` (float64 maths, then float32). */
export function sinusoidalTable(numPositions: number, dim: number, layout: SinusoidLayout, first = 0): Float32Array {
  const out = new Float32Array(numPositions * dim);
  for (let r = 0; r < numPositions; r++) {
    const p = first + r;
    const row = r * dim;
    if (layout === 'interleaved') {
      for (let i = 0; 2 * i < dim; i++) {
        const w = Math.exp(-(2 * i) * (Math.log(10000) / dim));
        out[row + 2 * i] = Math.sin(p * w);
        if (2 * i + 1 < dim) out[row + 2 * i + 1] = Math.cos(p * w);
      }
    } else {
      const half = Math.floor(dim / 2);
      const step = Math.log(10000) / Math.max(half - 1, 1);
      for (let i = 0; i < half; i++) {
        const w = Math.exp(-i * step);
        out[row + i] = Math.sin(p * w);
        out[row + half + i] = Math.cos(p * w);
      }
    }
  }
  return out;
}

export interface SinusoidalPositionsArgs {
  dim: number;
  /** Longest sequence (table rows). */
  maxLen: number;
  layout: SinusoidLayout;
  /**
   * Position number of the first token. 0 for LRA and tensor2tensor; fairseq numbers
   * positions from `padding_idx + 1` = 2 (its `make_positions`), so use 2 to match it.
   */
  first?: number;
}

/** Fixed (non-learned) sinusoidal positions added to `[B, L, dim]` inputs. No parameters. */
export class SinusoidalPositions extends Module {
  readonly dim: number;
  readonly maxLen: number;
  private readonly table: tf.Tensor; // [maxLen, dim]

  constructor(args: SinusoidalPositionsArgs) {
    super();
    this.dim = args.dim;
    this.maxLen = args.maxLen;
    this.table = tf.keep(tf.tensor2d(sinusoidalTable(args.maxLen, args.dim, args.layout, args.first ?? 0), [args.maxLen, args.dim]));
  }

  /** Rows `[start, start + length)` of the table: `[length, dim]`. */
  positions(length: number, start = 0): tf.Tensor {
    if (start + length > this.maxLen) {
      throw new Error(`SinusoidalPositions: positions up to ${start + length} requested but maxLen is ${this.maxLen}; raise maxLen in the model config`);
    }
    return tf.slice(this.table, [start, 0], [length, this.dim]);
  }

  /** `x` `[B, L, dim]` -> `x + pe[start : start + L]`. */
  forward(x: tf.Tensor, start = 0): tf.Tensor {
    return tf.tidy(() => addKeepingNothing(x, this.positions(x.shape[1]!, start)));
  }

  override dispose(): void {
    this.table.dispose();
    super.dispose();
  }
}

export interface LearnedPositionsArgs {
  dim: number;
  maxLen: number;
  /** Default truncated normal with std 0.02 (timm/DeiT and the Flowformer vision code). */
  init?: (rng: Rng, shape: number[]) => tf.Tensor;
}

/** Learned absolute positions `weight` `[maxLen, dim]`, added to `[B, L, dim]` inputs; no weight decay. */
export class LearnedPositions extends Module {
  readonly weight: tf.Variable; // [maxLen, dim]
  readonly dim: number;
  readonly maxLen: number;

  constructor(rng: Rng, args: LearnedPositionsArgs) {
    super();
    this.dim = args.dim;
    this.maxLen = args.maxLen;
    const init = args.init ?? ((r, s) => truncatedNormal(r, s, 0.02));
    this.weight = this.param('weight', init(rng, [args.maxLen, args.dim]), { decay: false });
  }

  /** `x` `[B, L, dim]` -> `x + weight[start : start + L]`. */
  forward(x: tf.Tensor, start = 0): tf.Tensor {
    const L = x.shape[1]!;
    if (start + L > this.maxLen) {
      throw new Error(`LearnedPositions: sequence needs ${start + L} positions but maxLen is ${this.maxLen}; raise maxLen in the model config`);
    }
    // The whole table when the sequence fills it (a training window): no slice, and no pad in its gradient.
    if (start === 0 && L === this.maxLen) return addKeepingNothing(x, this.weight);
    return tf.tidy(() => addKeepingNothing(x, tf.slice(this.weight, [start, 0], [L, this.dim])));
  }
}
