/**
 * The LRA classifiers of the Flowformer code (`Flowformer_LRA/.../flowformer.py`), built from
 * core layers:
 *
 *   ids [B, L] -> Embedding (N(0,1)) -> [prepend a learned CLS vector (zeros) if pool = cls]
 *     -> + positions (sinusoidal, interleaved sin/cos from position 0; or learned N(0, 0.02))
 *     -> dropout -> nLayers x pre-LN block (attention; GELU MLP) -> LayerNorm
 *     -> pool (CLS state or mean over positions) -> Dense(mlp) -> ReLU -> Dense(classes)
 *
 * Retrieval is a dual encoder: both documents go through the same encoder (without a CLS
 * token, as in the LRA code), each is pooled by its first token, and the head is
 * Dense(mlp) -> ReLU -> Dense(mlp / 2) -> ReLU -> Dense(2) on the concatenation.
 *
 * Differences to the JAX code that remain: the attention projections have biases and
 * PyTorch's default initialisation (LRA: no bias, Xavier-uniform kernels); the head's Dense
 * layers use PyTorch's default initialisation (Flax: LeCun-normal kernels, zero biases).
 */
import { crossEntropy, Dense, dropout, EncoderBlock, Embedding, init, LayerNorm, LearnedPositions, Module, SinusoidalPositions, tf, type AttentionModule, type ForwardContext, type Rng, type TaskModel } from '@flowformer/core';
import type { LraBatch } from './data/splits.ts';

export interface LraClassifierArgs {
  vocabSize: number;
  /** Longest input the model accepts (tokens per sequence, without the CLS token). */
  maxLength: number;
  numClasses: number;
  embDim: number;
  nLayers: number;
  mlpDim: number;
  dropout: number;
  pool: 'cls' | 'mean';
  positions: 'sinusoidal' | 'learned';
  /** Mask token id 0 as padding in the attention. */
  maskPadding: boolean;
  /** Two documents through one encoder, concat-MLP head (Retrieval). */
  dual: boolean;
  /** Builds one attention layer mapping embDim -> embDim (qkv width and heads inside). */
  attention: (rng: Rng) => AttentionModule;
}

const LN_EPS = 1e-6; // Flax's LayerNorm default, used throughout the LRA code

export class LraClassifier extends Module implements TaskModel<LraBatch> {
  readonly args: LraClassifierArgs;
  readonly embed: Embedding;
  readonly cls: tf.Variable | null; // [1, 1, embDim]
  readonly positions: SinusoidalPositions | LearnedPositions;
  readonly blocks: EncoderBlock[];
  readonly norm: LayerNorm;
  readonly head: Dense[];
  /** The most frequent training class (set by the task), for the majority-class rate in evaluations. */
  majorityClass: number | undefined = undefined;

  constructor(rng: Rng, args: LraClassifierArgs) {
    super();
    this.args = args;
    const { embDim, mlpDim } = args;
    this.embed = this.child('embed', new Embedding(rng, { numEmbeddings: args.vocabSize, dim: embDim, init: (r, s) => init.normal(r, s, 1) }));
    // The CLS token exists only for single-sequence CLS pooling (the dual encoder pools the first token).
    const useCls = args.pool === 'cls' && !args.dual;
    this.cls = useCls ? this.param('cls', tf.zeros([1, 1, embDim]), { decay: true }) : null;
    const maxLen = args.maxLength + (useCls ? 1 : 0);
    this.positions =
      args.positions === 'learned'
        ? this.child('positions', new LearnedPositions(rng, { dim: embDim, maxLen, init: (r, s) => init.normal(r, s, 0.02) }))
        : this.child('positions', new SinusoidalPositions({ dim: embDim, maxLen, layout: 'interleaved' }));
    this.blocks = [];
    for (let i = 0; i < args.nLayers; i++) {
      this.blocks.push(
        this.child(
          `blocks.${i}`,
          new EncoderBlock(rng, {
            norm: 'pre',
            dModel: embDim,
            attention: args.attention,
            mlpHidden: mlpDim,
            activation: 'gelu',
            dropout: args.dropout,
            normEps: LN_EPS,
            // LRA's MlpBlock: Xavier-uniform kernels, N(0, 1e-6) biases.
            kernelInit: (r, s) => init.xavierUniform(r, s, s[0]!, s[1]!),
            biasInit: (r, s) => init.normal(r, s, 1e-6),
          }),
        ),
      );
    }
    this.norm = this.child('norm', new LayerNorm({ dim: embDim, eps: LN_EPS }));
    const pooled = args.dual ? 2 * embDim : embDim;
    const widths = args.dual ? [pooled, mlpDim, Math.floor(mlpDim / 2), args.numClasses] : [pooled, mlpDim, args.numClasses];
    this.head = [];
    for (let i = 0; i + 1 < widths.length; i++) {
      this.head.push(this.child(`head.${i}`, new Dense(rng, { inFeatures: widths[i]!, outFeatures: widths[i + 1]! })));
    }
  }

  /** `ids` int32 `[B, L]` -> pooled features `[B, embDim]`. */
  encode(ids: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    return tf.tidy(() => {
      const [B, L] = ids.shape as [number, number];
      if (L > this.args.maxLength) throw new Error(`LraClassifier: sequences of ${L} tokens but the model was built for at most ${this.args.maxLength}`);
      let x = this.embed.forward(ids); // [B, L, E]
      let mask: tf.Tensor | undefined = this.args.maskPadding ? tf.cast(tf.greater(ids, 0), 'float32') : undefined; // [B, L]
      if (this.cls) {
        x = tf.concat([tf.tile(this.cls, [B, 1, 1]), x], 1); // [B, 1 + L, E]
        if (mask) mask = tf.concat([tf.ones([B, 1]), mask], 1);
      }
      x = dropout(this.positions.forward(x), this.args.dropout, ctx);
      for (const blk of this.blocks) x = blk.forward(x, ctx, mask ? { keyPaddingMask: mask } : {});
      x = this.norm.forward(x); // [B, L', E]
      if (this.args.pool === 'cls') return tf.squeeze(tf.slice(x, [0, 0, 0], [B, 1, -1]), [1]); // CLS or first token
      return tf.mean(x, 1); // the LRA code averages over every position, padding included
    });
  }

  /** Logits `[B, numClasses]`. */
  forward(batch: LraBatch, ctx: ForwardContext): tf.Tensor {
    return tf.tidy(() => {
      let h: tf.Tensor;
      if (this.args.dual) {
        if (!batch.ids2) throw new Error('LraClassifier: the dual (Retrieval) model needs batch.ids2');
        h = tf.concat([this.encode(batch.ids, ctx), this.encode(batch.ids2, ctx)], 1); // [B, 2E]
      } else {
        h = this.encode(batch.ids, ctx); // [B, E]
      }
      for (let i = 0; i < this.head.length; i++) {
        h = this.head[i]!.forward(h);
        if (i + 1 < this.head.length) h = tf.relu(h);
      }
      return h;
    });
  }

  loss(batch: LraBatch, ctx: ForwardContext): tf.Scalar {
    return tf.tidy(() => crossEntropy(this.forward(batch, ctx), batch.labels));
  }
}
