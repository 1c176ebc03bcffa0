/**
 * The Decision Transformer of the paper's offline-RL code (thuml/Flowformer `Flowformer_RL`,
 * `decision_transformer.py` + `trajectory_gpt2.py`), built from core layers:
 *
 *   timestep t [B, K] -> Embedding(1000, H)                          (N(0, 1), PyTorch default)
 *   return-to-go [B, K, 1], state [B, K, S], action [B, K, A] -> Dense -> [B, K, H] each, + time
 *   interleave (R_1, s_1, a_1, R_2, ...) -> [B, 3K, H] -> LayerNorm -> dropout (GPT-2 embd_pdrop)
 *   -> nLayers x pre-LN GPT-2 block (causal attention; MLP H -> 4H -> H, ReLU) -> LayerNorm (ln_f)
 *   -> the state tokens [B, K, H] -> Dense(A) -> tanh = the predicted actions [B, K, A]
 *
 * Dropout follows GPT-2: after the embeddings, after the attention's output projection and
 * after the MLP's output projection (none after the MLP activation). Flow-Attention's own
 * dropout of the original sits right after its output projection, so it is the block's
 * attention-branch dropout here. Initialisation follows HF GPT-2's `_init_weights` inside the
 * transformer (every Dense kernel N(0, 0.02), biases 0, LayerNorms 1/0) and PyTorch's defaults
 * for the DT's own embeddings and head. The causal attention is unmasked: windows are
 * right-padded, so padding comes after every real token and cannot reach it.
 */
import { attentionFactory, DecoderBlock, Dense, dropout, Embedding, init, LayerNorm, maskedMse, Module, tf, type AttentionConfig, type ForwardContext, type Rng, type Tap, type TaskModel } from '@flowformer/core';
import type { WindowBatch } from './data/windows.ts';

export interface DecisionTransformerArgs {
  stateDim: number;
  actDim: number;
  /** Width of every token (DT `embed_dim`; the paper's Flowformer: 256). */
  hiddenSize: number;
  nLayers: number;
  nHeads: number;
  /** Residual, embedding and attention-output dropout (DT `dropout`). */
  dropout: number;
  /** Rows of the timestep embedding (the episode length, 1000). */
  maxEpisodeLength: number;
  /** MLP activation; the paper's DT uses ReLU. */
  activation: 'relu' | 'gelu';
  attention: AttentionConfig;
  /**
   * Also build the original's `predict_state` and `predict_return` heads (from the action
   * tokens). No loss reads them, so they change nothing else; they exist to load every weight
   * of the original and compare its outputs. Default false.
   */
  stateReturnHeads?: boolean;
}

/** Everything the model predicts: actions from the state tokens; states and returns from the action tokens (with `stateReturnHeads`). */
export interface DecisionTransformerOutputs {
  actions: tf.Tensor; // [B, K, A]
  states: tf.Tensor | null; // [B, K, S]
  returns: tf.Tensor | null; // [B, K, 1]
}

export class DecisionTransformer extends Module implements TaskModel<WindowBatch> {
  readonly args: DecisionTransformerArgs;
  readonly embedTimestep: Embedding;
  readonly embedReturn: Dense;
  readonly embedState: Dense;
  readonly embedAction: Dense;
  readonly embedLn: LayerNorm;
  readonly blocks: DecoderBlock[];
  readonly lnF: LayerNorm;
  readonly predictAction: Dense;
  readonly predictState: Dense | null;
  readonly predictReturn: Dense | null;

  constructor(rng: Rng, args: DecisionTransformerArgs) {
    super();
    this.args = args;
    const H = args.hiddenSize;
    this.embedTimestep = this.child('embedTimestep', new Embedding(rng, { numEmbeddings: args.maxEpisodeLength, dim: H }));
    this.embedReturn = this.child('embedReturn', new Dense(rng, { inFeatures: 1, outFeatures: H }));
    this.embedState = this.child('embedState', new Dense(rng, { inFeatures: args.stateDim, outFeatures: H }));
    this.embedAction = this.child('embedAction', new Dense(rng, { inFeatures: args.actDim, outFeatures: H }));
    this.embedLn = this.child('embedLn', new LayerNorm({ dim: H }));
    // the attention's own output dropout is 0: the block's residual dropout is that dropout
    const attention = attentionFactory({ dModel: H, nHeads: args.nHeads, causal: true, dropout: 0 }, args.attention);
    this.blocks = [];
    for (let i = 0; i < args.nLayers; i++) {
      const block = new DecoderBlock(rng, { dModel: H, attention, mlpHidden: 4 * H, activation: args.activation, dropout: args.dropout, activationDropout: 0 });
      this.blocks.push(this.child(`blocks.${i}`, block));
    }
    this.lnF = this.child('lnF', new LayerNorm({ dim: H }));
    this.predictAction = this.child('predictAction', new Dense(rng, { inFeatures: H, outFeatures: args.actDim }));
    this.gpt2Init(rng);
    // Built last, so that they draw from the generator after everything else, GPT-2's init included (a model without them initialises the same).
    this.predictState = args.stateReturnHeads ? this.child('predictState', new Dense(rng, { inFeatures: H, outFeatures: args.stateDim })) : null;
    this.predictReturn = args.stateReturnHeads ? this.child('predictReturn', new Dense(rng, { inFeatures: H, outFeatures: 1 })) : null;
  }

  /** HF GPT-2 `_init_weights` on the transformer: Dense kernels N(0, 0.02), Dense biases 0. */
  private gpt2Init(rng: Rng): void {
    for (const [i, block] of this.blocks.entries()) {
      const params = block.namedParams(`blocks.${i}.`);
      const kernels = new Set(params.filter((p) => p.name.endsWith('.kernel')).map((p) => p.name.slice(0, -'.kernel'.length)));
      for (const p of params) {
        const owner = p.name.slice(0, p.name.lastIndexOf('.'));
        if (p.name.endsWith('.kernel')) {
          const v = init.normal(rng, p.variable.shape, 0.02);
          p.variable.assign(v);
          v.dispose();
        } else if (p.name.endsWith('.bias') && kernels.has(owner)) {
          const v = init.zeros(p.variable.shape);
          p.variable.assign(v);
          v.dispose();
        }
      }
    }
  }

  /**
   * states [B, K, S] (normalised), actions [B, K, A], returnsToGo [B, K, 1] (scaled),
   * timesteps [B, K] int32 -> predicted actions [B, K, A] (from each state token).
   */
  forward(states: tf.Tensor, actions: tf.Tensor, returnsToGo: tf.Tensor, timesteps: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    return tf.tidy(() => this.predict(states, actions, returnsToGo, timesteps, ctx).actions);
  }

  /**
   * Every prediction of the model (see `DecisionTransformerOutputs`); `tap` receives the
   * activations the original's reference cases record, under their names.
   */
  predict(states: tf.Tensor, actions: tf.Tensor, returnsToGo: tf.Tensor, timesteps: tf.Tensor, ctx: ForwardContext, tap?: Tap): DecisionTransformerOutputs {
    const [B, K] = states.shape as [number, number, number];
    const H = this.args.hiddenSize;
    const out = tf.tidy(() => {
      const time = this.embedTimestep.forward(timesteps); // [B, K, H]
      const r = tf.add(this.embedReturn.forward(returnsToGo), time);
      const s = tf.add(this.embedState.forward(states), time);
      const a = tf.add(this.embedAction.forward(actions), time);
      // (R_1, s_1, a_1, R_2, s_2, a_2, ...): [B, K, 3, H] -> [B, 3K, H]
      let x = tf.stack([r, s, a], 2).reshape([B, 3 * K, H]);
      x = this.embedLn.forward(x);
      tap?.('embed_ln', x);
      x = dropout(x, this.args.dropout, ctx);
      for (const [i, block] of this.blocks.entries()) {
        x = block.forward(x, ctx);
        tap?.(`transformer.h.${i}`, x);
      }
      x = this.lnF.forward(x);
      tap?.('transformer.ln_f', x);
      const tokens = x.reshape([B, K, 3, H]);
      // x[:, 1::3]: the state tokens, which predict the action taken in that state
      const stateTokens = tf.slice(tokens, [0, 0, 1, 0], [B, K, 1, H]).reshape([B, K, H]);
      // x[:, 2::3]: the action tokens, which predict the next state and return
      const actionTokens = tf.slice(tokens, [0, 0, 2, 0], [B, K, 1, H]).reshape([B, K, H]);
      const o: Record<string, tf.Tensor> = { actions: tf.tanh(this.predictAction.forward(stateTokens)) };
      if (this.predictState) o.states = this.predictState.forward(actionTokens);
      if (this.predictReturn) o.returns = this.predictReturn.forward(actionTokens);
      return o;
    });
    return { actions: out.actions!, states: out.states ?? null, returns: out.returns ?? null };
  }

  /** MSE between predicted and dataset actions on the real (mask 1) steps. */
  loss(batch: WindowBatch, ctx: ForwardContext): tf.Scalar {
    return tf.tidy(() => {
      const K = batch.states.shape[1]!;
      // the trainer feeds returns-to-go [:, :-1] (the K+1-th is only for bookkeeping)
      const rtg = tf.slice(batch.returnsToGo, [0, 0, 0], [batch.size, K, 1]);
      const pred = this.forward(batch.states, batch.actions, rtg, batch.timesteps, ctx);
      return maskedMse(pred, batch.actions, batch.mask);
    });
  }
}
