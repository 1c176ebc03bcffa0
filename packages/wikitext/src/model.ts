/**
 * The language model: fairseq's `transformer_lm` as the paper ran it on WikiText-103, with
 * the attention taken from the core's registry (causal Flow-Attention with clamp 5 for
 * Flowformer, softmax for the Transformer), and the GPT-2/nanoGPT variant for the
 * character-level runs.
 *
 *   ids [B,T] -> embed * sqrt(d) (fairseq) -> + positions -> dropout
 *             -> N pre-LN decoder blocks: x += drop(attn(LN(x)));  x += drop(fc2(relu(fc1(LN(x)))))
 *             -> final LN -> logits = x E^T (output projection tied to the embedding)
 *
 * fairseq details kept: sinusoidal positions in its concatenated [sin | cos] layout numbered
 * from padding_idx + 1 = 2, embedding init N(0, d^-1/2) with the `<pad>` row zeroed,
 * dropout 0.1 on embeddings and both residual branches, no activation dropout, no attention
 * dropout, LayerNorm eps 1e-5. Not kept: fairseq's Xavier init of the attention projections
 * (the core's attention layers use PyTorch's default Linear init).
 *
 * Generation uses each attention layer's recurrent `step` (Flow-Attention carries O(1) state
 * per token; softmax a key/value cache), one token at a time.
 */
import { DecoderBlock, dropout, Embedding, init, LayerNorm, LearnedPositions, Module, SinusoidalPositions, tf, type AttentionFactory, type ForwardContext, type RecurrentAttentionLayer, type Rng, type TaskModel } from '@flowformer/core';
import type { LmBatch } from './data/blocks.ts';

export interface TransformerLMArgs {
  vocabSize: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
  /** Hidden width of the feed-forward blocks (fairseq decoder_ffn_embed_dim). */
  ffnDim: number;
  /** Dropout on the embeddings and on both residual branches (fairseq --dropout). */
  dropout: number;
  /** 'relu' (fairseq transformer_lm) or 'gelu' (GPT-2). */
  activation: 'relu' | 'gelu';
  /** 'sinusoidal' (fairseq) or 'learned' (GPT-2). */
  positions: 'sinusoidal' | 'learned';
  /** Longest sequence the position table covers (training windows and generated text). */
  maxPositions: number;
  /** Multiply token embeddings by sqrt(dModel) (fairseq; GPT-2 does not). */
  scaleEmbedding: boolean;
  /** 'fairseq': embeddings N(0, d^-1/2), pad row zero, Linear layers PyTorch default; 'gpt2': N(0, 0.02) embeddings and MLP weights, zero biases. */
  init: 'fairseq' | 'gpt2';
  /** Id whose embedding row starts at zero (fairseq's <pad>); null for none. */
  padId: number | null;
  /** Builds the (causal) attention layer of each block. */
  attention: AttentionFactory;
}

/** The recurrent state of every layer plus the number of tokens consumed. */
export interface LmState {
  layers: unknown[];
  position: number;
}

type Recurrent = RecurrentAttentionLayer<unknown>;

export class TransformerLM extends Module implements TaskModel<LmBatch> {
  readonly args: TransformerLMArgs;
  readonly embed: Embedding;
  readonly positions: SinusoidalPositions | LearnedPositions;
  readonly blocks: DecoderBlock[];
  readonly lnFinal: LayerNorm;
  private readonly embedScale: number;

  constructor(rng: Rng, args: TransformerLMArgs) {
    super();
    this.args = args;
    const d = args.dModel;
    const embedStd = args.init === 'fairseq' ? d ** -0.5 : 0.02;
    this.embed = this.child(
      'embed',
      new Embedding(rng, {
        numEmbeddings: args.vocabSize,
        dim: d,
        paddingIdx: args.padId ?? undefined,
        init: (r, s) => init.normal(r, s, embedStd),
      }),
    );
    this.embedScale = args.scaleEmbedding ? Math.sqrt(d) : 1;
    this.positions =
      args.positions === 'sinusoidal'
        ? this.child('positions', new SinusoidalPositions({ dim: d, maxLen: args.maxPositions, layout: 'concat', first: (args.padId ?? -1) + 1 }))
        : this.child('positions', new LearnedPositions(rng, { dim: d, maxLen: args.maxPositions, init: (r, s) => init.normal(r, s, 0.02) }));
    const gpt2 = args.init === 'gpt2';
    this.blocks = [];
    for (let i = 0; i < args.nLayers; i++) {
      this.blocks.push(
        this.child(
          `blocks.${i}`,
          new DecoderBlock(rng, {
            dModel: d,
            attention: args.attention,
            mlpHidden: args.ffnDim,
            activation: args.activation,
            dropout: args.dropout,
            activationDropout: 0, // fairseq --activation-dropout 0, nanoGPT has none
            kernelInit: gpt2 ? (r, s) => init.normal(r, s, 0.02) : undefined,
            biasInit: gpt2 ? (_r, s) => init.zeros(s) : undefined,
          }),
        ),
      );
    }
    this.lnFinal = this.child('lnFinal', new LayerNorm({ dim: d }));
  }

  /** Token and position embeddings of `ids` `[B,T]` placed at positions `start..start+T-1`: `[B,T,d]`. */
  private embedTokens(ids: tf.Tensor, ctx: ForwardContext, start: number): tf.Tensor {
    return tf.tidy(() => {
      let x = this.embed.forward(ids); // [B,T,d]
      if (this.embedScale !== 1) x = tf.mul(x, this.embedScale);
      x = this.positions.forward(x, start);
      return dropout(x, this.args.dropout, ctx);
    });
  }

  /** Final hidden states `[B,T,d]` of `ids` `[B,T]` int32. */
  hidden(ids: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    if (ids.rank !== 2 || ids.dtype !== 'int32') throw new Error(`TransformerLM: ids must be int32 [B, T], got ${ids.dtype} [${ids.shape}]`);
    return tf.tidy(() => {
      let x = this.embedTokens(ids, ctx, 0);
      for (const b of this.blocks) x = b.forward(x, ctx);
      return this.lnFinal.forward(x);
    });
  }

  /** Logits `[B, T - scoreFrom, V]`: position t predicts token t+1; positions before `scoreFrom` are skipped. */
  logits(ids: tf.Tensor, ctx: ForwardContext, scoreFrom = 0): tf.Tensor3D {
    return tf.tidy(() => {
      let h = this.hidden(ids, ctx); // [B,T,d]
      if (scoreFrom > 0) h = tf.slice(h, [0, scoreFrom, 0], [-1, -1, -1]);
      return this.embed.project(h) as tf.Tensor3D; // tied output projection
    });
  }

  /** Mean cross-entropy over the real (unmasked) targets of the batch, in nats. */
  loss(batch: LmBatch, ctx: ForwardContext): tf.Scalar {
    return tf.tidy(() => {
      const h = this.hidden(batch.input, ctx); // [B,T,d]
      const [B, T, d] = h.shape as [number, number, number];
      const V = this.args.vocabSize;
      if (B * T * V >= 2 ** 31) {
        throw new Error(`TransformerLM.loss: ${B} x ${T} x ${V} logits exceed int32 indexing; lower training.batchSize and raise training.gradAccum (same tokens per update)`);
      }
      // The tied output projection (Embedding.project) on the flat rows: logits [B*T, V].
      const logits = tf.matMul(h.reshape([B * T, d]), this.embed.weight, false, true);
      return maskedNll(logits, batch.target.reshape([-1]), batch.mask.reshape([-1]), batch.ntokens);
    });
  }

  // ------------------------------------------------------------------ recurrent generation

  private recurrent(i: number): Recurrent {
    const attn = this.blocks[i]!.attn as unknown as Partial<Recurrent>;
    if (typeof attn.step !== 'function' || typeof attn.initState !== 'function') {
      throw new Error(`TransformerLM: the '${this.blocks[i]!.attn.kind}' attention has no recurrent step(); generate with an attention that has one (flow, softmax)`);
    }
    return attn as Recurrent;
  }

  /** The state before any token, for `batch` sequences. */
  initState(batch: number): LmState {
    return { layers: this.blocks.map((_, i) => this.recurrent(i).initState(batch)), position: 0 };
  }

  disposeState(state: LmState): void {
    state.layers.forEach((s, i) => this.recurrent(i).disposeState(s));
  }

  /**
   * Feeds one token per sequence (`ids` int32 `[B]`) and returns the logits `[B, V]` for the
   * next one, and the new state (the old one is disposed). Cost per token does not grow with
   * the position for Flow-Attention.
   */
  step(ids: tf.Tensor, state: LmState): { logits: tf.Tensor2D; state: LmState } {
    if (state.position >= this.args.maxPositions) {
      throw new Error(`TransformerLM.step: position ${state.position} is beyond the position table (model.maxPositions = ${this.args.maxPositions})`);
    }
    const ctx: ForwardContext = { training: false };
    const next: unknown[] = [];
    const logits = tf.tidy(() => {
      let x = this.embedTokens(ids.reshape([-1, 1]), ctx, state.position).reshape([-1, this.args.dModel]); // [B,d]
      this.blocks.forEach((b, i) => {
        const r = this.recurrent(i).step(b.ln1.forward(x), state.layers[i], ctx);
        for (const t of Object.values(r.state as Record<string, tf.Tensor | null>)) if (t) tf.keep(t);
        next.push(r.state);
        x = tf.add(x, r.output);
        x = tf.add(x, b.mlp.forward(b.ln2.forward(x), ctx));
      });
      return this.embed.project(this.lnFinal.forward(x)) as tf.Tensor2D; // [B,V]
    });
    this.disposeState(state);
    return { logits, state: { layers: next, position: state.position + 1 } };
  }
}

/**
 * sum_i mask_i (logsumexp(logits_i) - logits_i[target_i]) / max(1, ntokens) for `logits` `[N, V]`,
 * int32 `target` `[N]` and float `mask` `[N]`, with its gradient written out:
 * d logits_i = (softmax(logits_i) - onehot(target_i)) mask_i / ntokens. tfjs's autodiff of the
 * same forward ops (log-sum-exp, the flat gather and its scatter) launches about 60 kernels for
 * the backward pass where this launches 7; the forward ops, and so the loss, are unchanged.
 */
function maskedNll(logits: tf.Tensor, target: tf.Tensor, mask: tf.Tensor, ntokens: number): tf.Scalar {
  const [N, V] = logits.shape as [number, number];
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const x = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    // target and mask too: the trainer's forward scope frees its tensors (these reshapes) once it returns.
    save([x, target, mask]);
    const value = tf.tidy(() => {
      const lse = tf.logSumExp(x, -1); // [N]
      // Each target's logit from the flat table.
      const idx = tf.add(tf.mul(tf.range(0, N, 1, 'int32'), tf.scalar(V, 'int32')), target);
      const picked = tf.gather(x.reshape([-1]), idx); // [N]
      const nll = tf.mul(tf.sub(lse, picked), mask);
      return tf.div(tf.sum(nll), Math.max(1, ntokens)) as tf.Scalar;
    });
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [xs, ts, ms] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
          const w = tf.mul(ms, tf.div(dy, Math.max(1, ntokens))).reshape([N, 1]); // [N,1]
          return [tf.mul(tf.sub(tf.softmax(xs), tf.oneHot(ts, V)), w)];
        }),
    };
  });
  return f(logits) as tf.Scalar;
}
