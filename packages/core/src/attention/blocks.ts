/**
 * Transformer blocks that take any attention layer of the registry through a factory, so
 * one model definition runs Flow-Attention and every baseline.
 *
 *   post-LN encoder (original Transformer; the time-series code):
 *       x = LN1(x + drop(attn(x)));  x = LN2(x + mlp(x))
 *   pre-LN encoder (LRA, vision):
 *       x = x + dropPath(ls1 * drop(attn(LN1(x))));  x = x + dropPath(ls2 * mlp(LN2(x)))
 *   pre-LN causal decoder (GPT-2, fairseq transformer_lm with --decoder-normalize-before):
 *       the pre-LN block with a causal attention and no padding masks.
 *
 * `dropout` is the residual dropout: on the attention branch here and on the MLP output
 * inside the MLP. An attention layer's own `dropout` (after its output projection) is
 * separate and set through the factory. `activationDropout` (after the MLP activation)
 * defaults to `dropout`, as in the LRA MlpBlock and the time-series code; GPT-2 (the
 * Decision Transformer) has none (set 0), fairseq sets it with --activation-dropout.
 */
import { tf } from '../tf.ts';
import type { Rng } from '../rng.ts';
import type { AttentionCallOptions, AttentionModule, RecurrentAttentionLayer } from './types.ts';
import type { ActivationName } from '../nn/activations.ts';
import { dropout, dropPath } from '../nn/dropout.ts';
import { LayerNorm } from '../nn/layer-norm.ts';
import { LayerScale } from '../nn/layer-scale.ts';
import { MLP } from '../nn/mlp.ts';
import { Module, type ForwardContext } from '../nn/module.ts';
import { addKeepingNothing } from '../nn/ops.ts';
import { recomputed } from '../nn/recompute.ts';

/** Builds the block's attention layer (e.g. from `attention/registry.ts`). */
export type AttentionFactory = (rng: Rng) => AttentionModule;

export interface BlockArgs {
  dModel: number;
  attention: AttentionFactory;
  /** Hidden width of the MLP (e.g. 4 * dModel). */
  mlpHidden: number;
  /** MLP activation. Default 'gelu'. */
  activation?: ActivationName;
  /** Residual dropout on both branches (the MLP applies it to its output). Default 0. */
  dropout?: number;
  /** Dropout after the MLP activation. Default `dropout`. */
  activationDropout?: number;
  /** LayerNorm epsilon. Default 1e-5 (PyTorch); the vision code uses 1e-6. */
  normEps?: number;
  /** LayerScale init value (e.g. 1e-5) on the given branches; none when absent. Pre-LN only. */
  layerScale?: { init: number; branches: 'mlp' | 'both' };
  /** Stochastic-depth rate of this block (drops whole residual branches per sample). Pre-LN only. */
  dropPath?: number;
  /** Optional initialisers of the MLP's Dense layers (e.g. truncated normal 0.02 for timm models). */
  kernelInit?: (rng: Rng, shape: number[]) => tf.Tensor;
  biasInit?: (rng: Rng, shape: number[]) => tf.Tensor;
  /** Keep only the block's input for the backward pass and run its forward again there (nn/recompute.ts; config training.recompute). Default false. */
  recompute?: boolean;
}

export type BlockNorm = 'pre' | 'post';

export interface EncoderBlockArgs extends BlockArgs {
  /** Where the LayerNorms sit. */
  norm: BlockNorm;
}

function checkAttention(attn: AttentionModule, dModel: number): void {
  if (attn.dInput !== dModel || attn.dOutput !== dModel) {
    throw new Error(`block: the attention layer maps ${attn.dInput} -> ${attn.dOutput} features but the block's dModel is ${dModel}`);
  }
}

/** A transformer encoder block (pre- or post-LN), self-attention with an optional key padding mask. */
export class EncoderBlock extends Module {
  readonly norm: BlockNorm;
  readonly attn: AttentionModule;
  readonly mlp: MLP;
  readonly ln1: LayerNorm;
  readonly ln2: LayerNorm;
  readonly ls1: LayerScale | null;
  readonly ls2: LayerScale | null;
  readonly dropout: number;
  readonly dropPath: number;
  readonly recompute: boolean;

  constructor(rng: Rng, args: EncoderBlockArgs) {
    super();
    const { dModel } = args;
    this.norm = args.norm;
    this.recompute = args.recompute ?? false;
    this.dropout = args.dropout ?? 0;
    this.dropPath = args.dropPath ?? 0;
    if (this.norm === 'post' && (args.layerScale || this.dropPath > 0)) {
      throw new Error('EncoderBlock: layerScale and dropPath are supported by pre-LN blocks only (norm: "pre")');
    }
    this.ln1 = this.child('ln1', new LayerNorm({ dim: dModel, eps: args.normEps }));
    this.attn = this.child('attn', args.attention(rng));
    checkAttention(this.attn, dModel);
    this.ln2 = this.child('ln2', new LayerNorm({ dim: dModel, eps: args.normEps }));
    this.mlp = this.child(
      'mlp',
      new MLP(rng, {
        inFeatures: dModel,
        hiddenFeatures: args.mlpHidden,
        activation: args.activation,
        dropout: this.dropout,
        activationDropout: args.activationDropout,
        kernelInit: args.kernelInit,
        biasInit: args.biasInit,
      }),
    );
    const ls = args.layerScale;
    this.ls1 = ls && ls.branches === 'both' ? this.child('ls1', new LayerScale({ dim: dModel, init: ls.init })) : null;
    this.ls2 = ls ? this.child('ls2', new LayerScale({ dim: dModel, init: ls.init })) : null;
  }

  /** `x` `[B, L, dModel]` -> `[B, L, dModel]`; `opts.keyPaddingMask` `[B, L]` (1 = real) goes to the attention. */
  forward(x: tf.Tensor, ctx: ForwardContext, opts: Pick<AttentionCallOptions, 'keyPaddingMask'> = {}): tf.Tensor {
    const attnOpts: AttentionCallOptions = opts.keyPaddingMask ? { keyPaddingMask: opts.keyPaddingMask } : {};
    // (the padding mask must then live until the backward pass: the caller's batch does)
    if (this.recompute && ctx.training) return recomputed((input, c) => this.body(input, c, attnOpts), x, this.trainableVariables(), ctx);
    return this.body(x, ctx, attnOpts);
  }

  private body(x: tf.Tensor, ctx: ForwardContext, attnOpts: AttentionCallOptions): tf.Tensor {
    return tf.tidy(() => {
      // Residual sums keep nothing for the backward pass (addKeepingNothing): tf.add would keep each branch's output.
      if (this.norm === 'post') {
        const h = this.ln1.forward(addKeepingNothing(x, dropout(this.attn.forward(x, ctx, attnOpts), this.dropout, ctx)));
        return this.ln2.forward(addKeepingNothing(h, this.mlp.forward(h, ctx)));
      }
      let a = dropout(this.attn.forward(this.ln1.forward(x), ctx, attnOpts), this.dropout, ctx);
      if (this.ls1) a = this.ls1.forward(a);
      const h = addKeepingNothing(x, dropPath(a, this.dropPath, ctx));
      let m = this.mlp.forward(this.ln2.forward(h), ctx);
      if (this.ls2) m = this.ls2.forward(m);
      return addKeepingNothing(h, dropPath(m, this.dropPath, ctx));
    });
  }
}

/**
 * A pre-LN causal decoder block (GPT-2; fairseq's `transformer_lm` decoder layer without
 * encoder attention). The factory must build a causal attention layer.
 */
export class DecoderBlock extends EncoderBlock {
  constructor(rng: Rng, args: BlockArgs) {
    super(rng, { ...args, norm: 'pre' });
    if (!this.attn.causal) {
      throw new Error(`DecoderBlock: the attention factory built a non-causal '${this.attn.kind}' layer; build it with causal: true`);
    }
  }

  /** `x` `[B, L, dModel]` -> `[B, L, dModel]`; position t sees positions <= t only. */
  override forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    return super.forward(x, ctx);
  }

  private recurrent(who: string): RecurrentAttentionLayer<unknown> {
    const a = this.attn as unknown as Partial<RecurrentAttentionLayer<unknown>>;
    if (typeof a.step !== 'function' || typeof a.initState !== 'function' || typeof a.disposeState !== 'function') {
      throw new Error(`DecoderBlock.${who}: the '${this.attn.kind}' attention has no recurrent step; generate with 'flow', 'softmax' or 'linear', or re-run forward on the prefix`);
    }
    return a as RecurrentAttentionLayer<unknown>;
  }

  /** The attention's recurrent state for a batch of `batch` sequences (owned by the caller). */
  initState(batch: number): unknown {
    return this.recurrent('initState').initState(batch);
  }

  disposeState(state: unknown): void {
    this.recurrent('disposeState').disposeState(state);
  }

  /**
   * One token of generation: `xT` `[B, dModel]` (the newest position) -> `[B, dModel]`, the
   * same as row t of `forward` on the whole prefix. LayerNorm and the MLP act per token;
   * the attention carries the past in `state` (a new state is returned; the old one is
   * not disposed).
   */
  step(xT: tf.Tensor, state: unknown, ctx: ForwardContext): { output: tf.Tensor; state: unknown } {
    const attn = this.recurrent('step');
    let next: unknown = null;
    const output = tf.tidy(() => {
      const r = attn.step(this.ln1.forward(xT), state, ctx);
      next = r.state;
      let a = dropout(r.output, this.dropout, ctx);
      if (this.ls1) a = this.ls1.forward(a);
      const h = tf.add(xT, a);
      let m = this.mlp.forward(this.ln2.forward(h), ctx);
      if (this.ls2) m = this.ls2.forward(m);
      return tf.add(h, m);
    });
    return { output, state: next };
  }
}
