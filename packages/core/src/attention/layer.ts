/**
 * The paper's attention layer and the softmax baseline on the shared multi-head projections
 * (`MultiHeadAttention`: query, key, value, out, dropout; see nn/multihead.ts). Each writes its
 * core on `[B,H,L,Dh]` queries and `[B,H,S,Dh]` keys/values, and its recurrent `step`.
 */
import { tf } from '../tf.ts';
import { MultiHeadAttention, type Projected } from '../nn/multihead.ts';
import type { ForwardContext } from '../nn/module.ts';
import type { Rng } from '../train/rng.ts';
import { flowAttention } from './flow.ts';
import { disposeFlowCausalState, flowCausalInit, flowCausalStep, type FlowCausalState } from './flow-causal.ts';
import type { CausalImpl, CompetitionAxis, FeatureMap, FlowAttentionOptions } from './flow-options.ts';
import { softmaxAttention } from './softmax.ts';
import type { AttentionLayerArgs, RecurrentAttentionLayer } from './types.ts';

export interface FlowAttentionArgs extends AttentionLayerArgs {
  /** Default 1e-6. */
  eps?: number;
  /** Default 0; 1e-6 = the vision code's extra +eps after each flow contraction. */
  outerEps?: number;
  /** Default 'sigmoid'. */
  featureMap?: FeatureMap;
  /** Default 1 (core code); null = no clamp. */
  clamp?: number | null;
  /** Default true; false = "w/o competition" ablation. */
  competition?: boolean;
  /** Default true; false = "w/o allocation" ablation. */
  allocation?: boolean;
  /** Default 'keys'; 'heads' = the LRA code. */
  competitionAxis?: CompetitionAxis;
  /** Default 'auto' ('fused' for L <= chunkSize without padding, else 'chunked'). */
  causalImpl?: CausalImpl;
  /** Default 128 (`DEFAULT_CHUNK_SIZE`). */
  chunkSize?: number;
}

/**
 * Multi-head Flow-Attention (`Flow_Attention` / `Flow_Attention_Causal` of the original).
 * `dropout` (after the output projection) defaults to 0 here; the original class defaults
 * to 0.05, and every experiment sets it in its config.
 */
export class FlowAttention extends MultiHeadAttention implements RecurrentAttentionLayer<FlowCausalState> {
  readonly kind = 'flow';
  /** The core's options (without masks), as resolved from the args. */
  readonly flowOptions: FlowAttentionOptions;

  constructor(rng: Rng, args: FlowAttentionArgs) {
    super(rng, args);
    this.flowOptions = {
      causal: this.causal,
      eps: args.eps,
      outerEps: args.outerEps,
      featureMap: args.featureMap,
      clamp: args.clamp,
      competition: args.competition,
      allocation: args.allocation,
      competitionAxis: args.competitionAxis,
      causalImpl: args.causalImpl,
      chunkSize: args.chunkSize,
    };
  }

  protected core(p: Projected): tf.Tensor {
    return flowAttention(p.q, p.k, p.v, { ...this.flowOptions, keyPaddingMask: p.keyMask ?? undefined, queryPaddingMask: p.queryMask });
  }

  initState(batch: number): FlowCausalState {
    if (!this.causal) throw new Error('FlowAttention.initState: only a causal layer (causal: true) generates step by step');
    return flowCausalInit(batch, this.nHeads, this.headDim, this.headDim);
  }

  /** `xT` `[B,dInput]` -> `[B,dOutput]`; O(Dh * Dh) per head and token. */
  step(xT: tf.Tensor, state: FlowCausalState, ctx: ForwardContext): { output: tf.Tensor; state: FlowCausalState } {
    let next: FlowCausalState | null = null;
    const output = tf.tidy(() => {
      const { q, k, v } = this.projectStep(xT, 'FlowAttention.step'); // [B,H,1,Dh]
      const r = flowCausalStep(q.squeeze([2]), k.squeeze([2]), v.squeeze([2]), state, this.flowOptions);
      next = r.state;
      for (const t of Object.values(r.state)) tf.keep(t as tf.Tensor);
      return this.finishStep(r.output, ctx);
    });
    return { output, state: next! };
  }

  disposeState(state: FlowCausalState): void {
    disposeFlowCausalState(state);
  }
}

export interface SoftmaxAttentionArgs extends AttentionLayerArgs {
  /** Dropout on the attention weights (the vanilla Transformer's attention dropout). Default 0. */
  attentionDropout?: number;
  /** Logit scale; default 1/sqrt(headDim). */
  scale?: number;
}

/** Key/value cache of a causal softmax layer: `[B,H,t,Dh]` each (null before the first token). */
export interface SoftmaxCacheState {
  keys: tf.Tensor | null;
  values: tf.Tensor | null;
}

/** Multi-head softmax attention (the vanilla Transformer baseline), same interface as `FlowAttention`. */
export class SoftmaxAttention extends MultiHeadAttention implements RecurrentAttentionLayer<SoftmaxCacheState> {
  readonly kind = 'softmax';
  readonly attentionDropout: number;
  readonly scale: number | undefined;

  constructor(rng: Rng, args: SoftmaxAttentionArgs) {
    super(rng, args);
    this.attentionDropout = args.attentionDropout ?? 0;
    this.scale = args.scale;
  }

  protected core(p: Projected, ctx: ForwardContext): tf.Tensor {
    return softmaxAttention(p.q, p.k, p.v, {
      causal: this.causal,
      keyPaddingMask: p.keyMask ?? undefined,
      scale: this.scale,
      attentionDropout: this.attentionDropout > 0 ? { rate: this.attentionDropout, ctx } : undefined,
    });
  }

  initState(_batch: number): SoftmaxCacheState {
    if (!this.causal) throw new Error('SoftmaxAttention.initState: only a causal layer (causal: true) generates step by step');
    return { keys: null, values: null };
  }

  /** `xT` `[B,dInput]` -> `[B,dOutput]`; attends over the cache, O(t) per token. */
  step(xT: tf.Tensor, state: SoftmaxCacheState, ctx: ForwardContext): { output: tf.Tensor; state: SoftmaxCacheState } {
    let next: SoftmaxCacheState | null = null;
    const output = tf.tidy(() => {
      const { q, k, v } = this.projectStep(xT, 'SoftmaxAttention.step'); // [B,H,1,Dh]
      const keys = state.keys ? tf.concat([state.keys, k], 2) : k; // [B,H,t,Dh]
      const values = state.values ? tf.concat([state.values, v], 2) : v;
      tf.keep(keys);
      tf.keep(values);
      next = { keys, values };
      return this.finishStep(softmaxAttention(q, keys, values, { scale: this.scale }), ctx); // [B,H,1,Dh] -> [B,dOutput]
    });
    return { output, state: next! };
  }

  disposeState(state: SoftmaxCacheState): void {
    state.keys?.dispose();
    state.values?.dispose();
  }
}
