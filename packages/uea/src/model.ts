/**
 * The paper's time-series classifier (thuml/Flowformer `Flowformer_TimeSeries`,
 * `FlowformerClassiregressor`), built from core layers:
 *
 *   x [B,L,D] -> Dense(D, dModel) * sqrt(dModel) -> + positions -> dropout
 *     -> nLayers x post-LN encoder block (attention; 1x1-conv MLP = Dense, GELU, dropout)
 *     -> LayerNorm (the encoder's final norm)
 *     -> GELU -> dropout -> zero the padded steps -> flatten [B, L*dModel] -> Dense(L*dModel, C)
 *
 * As in the original, the padding mask only zeroes padded steps before the head: the
 * attention sees every step, padded ones included (`maskAttention: false`, the default).
 * `maskAttention: true` passes the mask to the attention instead (padded steps are then
 * neither sources nor sinks), which is cleaner but not what the paper ran.
 */
import { crossEntropy, dropout, Dense, EncoderBlock, gelu, init, LayerNorm, LearnedPositions, Module, mulByConstant, scaleBy, SinusoidalPositions, tf, type AttentionFactory, type ForwardContext, type Rng, type Tap, type TaskModel } from '@flowformer/core';
import type { UeaBatch } from './data/split.ts';
import type { UeaModelConfig } from './schema.ts';

export type PositionEncoding = 'learnable' | 'fixed';

export interface UeaClassifierArgs {
  /** Input dimensions D. */
  numDims: number;
  /** Padded length L (the TRAIN maximum); the head's width depends on it. */
  maxLen: number;
  numClasses: number;
  dModel: number;
  nHeads: number;
  nLayers: number;
  /** Hidden width of the feed-forward (the original's 1x1 convolutions). */
  dFF: number;
  dropout: number;
  activation: 'gelu' | 'relu';
  posEncoding: PositionEncoding;
  maskAttention: boolean;
  /** Builds one attention layer (dModel -> dModel, nHeads heads, non-causal). */
  attention: AttentionFactory;
  /** Recompute each block's activations in the backward pass (config training.recompute). Default false. */
  recompute?: boolean;
}

/** The classifier a config's `model` section describes, for data of these sizes, with this attention. */
export function ueaClassifierOf(
  rng: Rng,
  m: UeaModelConfig,
  sizes: { numDims: number; maxLen: number; numClasses: number },
  attention: AttentionFactory,
  opts: { recompute?: boolean } = {},
): UeaClassifier {
  const { dModel, nHeads, nLayers, dFF, dropout, activation, posEncoding, maskAttention } = m;
  return new UeaClassifier(rng, { ...sizes, dModel, nHeads, nLayers, dFF, dropout, activation, posEncoding, maskAttention, attention, recompute: opts.recompute });
}

export class UeaClassifier extends Module implements TaskModel<UeaBatch> {
  readonly args: UeaClassifierArgs;
  readonly inputProjection: Dense;
  readonly positions: LearnedPositions | SinusoidalPositions;
  readonly blocks: EncoderBlock[];
  readonly norm: LayerNorm;
  readonly head: Dense;

  constructor(rng: Rng, args: UeaClassifierArgs) {
    super();
    this.args = args;
    const { numDims, maxLen, dModel } = args;
    this.inputProjection = this.child('inputProjection', new Dense(rng, { inFeatures: numDims, outFeatures: dModel }));
    this.positions =
      args.posEncoding === 'learnable'
        ? // The original's LearnablePositionalEncoding: U(-0.02, 0.02).
          this.child('positions', new LearnedPositions(rng, { dim: dModel, maxLen, init: (r, s) => init.uniform(r, s, -0.02, 0.02) }))
        : // FixedPositionalEncoding: sin on even, cos on odd features, from position 0.
          this.child('positions', new SinusoidalPositions({ dim: dModel, maxLen, layout: 'interleaved' }));
    this.blocks = [];
    for (let i = 0; i < args.nLayers; i++) {
      this.blocks.push(
        this.child(
          `blocks.${i}`,
          new EncoderBlock(rng, {
            norm: 'post',
            dModel,
            attention: args.attention,
            mlpHidden: args.dFF,
            activation: args.activation,
            dropout: args.dropout,
            recompute: args.recompute,
          }),
        ),
      );
    }
    this.norm = this.child('norm', new LayerNorm({ dim: dModel }));
    this.head = this.child('head', new Dense(rng, { inFeatures: dModel * maxLen, outFeatures: args.numClasses }));
  }

  /**
   * `x` `[B, L, D]`, `mask` `[B, L]` (1 = real step) -> logits `[B, C]`. `tap` receives the
   * activations the original's reference cases record, under their names (`flowformer check original`).
   */
  forward(x: tf.Tensor, mask: tf.Tensor, ctx: ForwardContext, tap?: Tap): tf.Tensor {
    const { dModel, maxLen, dropout: p } = this.args;
    if (x.rank !== 3 || x.shape[1] !== maxLen || x.shape[2] !== this.args.numDims) {
      throw new Error(`UeaClassifier: x must be [B, L=${maxLen}, D=${this.args.numDims}], got [${x.shape}]`);
    }
    return tf.tidy(() => {
      const B = x.shape[0]!;
      // scaleBy and mulByConstant: as tf.mul, but the backward pass keeps no [B,L,dModel] copy for them.
      let h = scaleBy(this.inputProjection.forward(x), Math.sqrt(dModel)); // [B,L,dModel]
      h = this.positions.forward(h);
      tap?.('embedding', h);
      h = dropout(h, p, ctx);
      const attnOpts = this.args.maskAttention ? { keyPaddingMask: mask } : {};
      for (const [i, block] of this.blocks.entries()) {
        h = block.forward(h, ctx, attnOpts);
        tap?.(`encoder.attn_layers.${i}`, h);
      }
      h = this.norm.forward(h);
      tap?.('encoder', h);
      // The encoder's output has no non-linearity of its own; the original adds one here.
      h = this.args.activation === 'gelu' ? gelu(h) : tf.relu(h);
      h = dropout(h, p, ctx);
      h = mulByConstant(h, tf.expandDims(mask, -1)); // zero the padded steps
      return this.head.forward(h.reshape([B, maxLen * dModel])); // [B,C]
    });
  }

  loss(batch: UeaBatch, ctx: ForwardContext): tf.Scalar {
    return tf.tidy(() => crossEntropy(this.forward(batch.x, batch.mask, ctx), batch.y));
  }
}
