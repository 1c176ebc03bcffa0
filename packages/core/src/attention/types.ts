/**
 * The contract every attention layer of the project implements (Flow-Attention, the
 * softmax Transformer baseline, and the other linear baselines), so that encoder and
 * decoder blocks can take any of them from the registry without knowing which it is.
 *
 * Shapes: `x` `[B, L, dInput]`, `context` `[B, S, dInput]`, output `[B, L, dOutput]`.
 */
import type { tf } from '../tf.ts';
import type { ForwardContext, Module } from '../nn/module.ts';

/** Arguments shared by every attention layer's constructor. */
export interface AttentionLayerArgs {
  /** Width of the query/key/value projections (all heads together); a multiple of `nHeads`. */
  dModel: number;
  nHeads: number;
  /** Width of the inputs `x` and `context`. Default `dModel`. */
  dInput?: number;
  /** Width of the output projection. Default `dModel`. */
  dOutput?: number;
  /** Causal (autoregressive) attention: output t sees only positions <= t. Default false. */
  causal?: boolean;
  /** Dropout rate applied after the output projection. */
  dropout?: number;
}

/** Per-call inputs besides `x`. */
export interface AttentionCallOptions {
  /** Keys/values come from here (cross-attention, `[B, S, dInput]`); default: `x` itself (self-attention). */
  context?: tf.Tensor;
  /** `[B, S]`, 1 = real key, 0 = padding. A padded position is neither a source nor a sink. */
  keyPaddingMask?: tf.Tensor;
  /**
   * `[B, L]`, 1 = real query. For self-attention it defaults to `keyPaddingMask` (one sequence,
   * one mask). Outputs at padded query positions are zero.
   */
  queryPaddingMask?: tf.Tensor;
}

/** What an attention layer does; implementations are also `Module`s (see `AttentionModule`). */
export interface AttentionLayer {
  /** Registry name of the mechanism, e.g. 'flow' or 'softmax'. */
  readonly kind: string;
  readonly causal: boolean;
  readonly dModel: number;
  readonly nHeads: number;
  readonly dInput: number;
  readonly dOutput: number;
  /** `x` `[B, L, dInput]` -> `[B, L, dOutput]`. Causal layers accept only self-attention. */
  forward(x: tf.Tensor, ctx: ForwardContext, opts?: AttentionCallOptions): tf.Tensor;
}

/** An attention layer with parameters (the usual case). */
export type AttentionModule = Module & AttentionLayer;

/**
 * Causal layers that can generate one token at a time. `State` holds tensors owned by the
 * caller: `step` returns a new state and never disposes the old one (call `disposeState`).
 */
export interface RecurrentAttentionLayer<State> extends AttentionLayer {
  initState(batch: number): State;
  /** `xT` `[B, dInput]` (the newest token) -> `output` `[B, dOutput]`. */
  step(xT: tf.Tensor, state: State, ctx: ForwardContext): { output: tf.Tensor; state: State };
  disposeState(state: State): void;
}
