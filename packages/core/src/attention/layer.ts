/**
 * The paper's attention layer and the softmax baseline on the shared multi-head projections
 * (`MultiHeadAttention`: query, key, value, out, dropout; see attention/multihead.ts). Each writes its
 * core on `[B,H,L,Dh]` queries and `[B,H,S,Dh]` keys/values, and its recurrent `step`.
 */
import { z } from 'zod';
import { tf } from '../tf.ts';
import { MultiHeadAttention, type Projected } from './multihead.ts';
import type { ForwardContext } from '../nn/module.ts';
import type { Rng } from '../rng.ts';
import { flowAttention } from './flow.ts';
import { disposeFlowCausalState, flowCausalInit, flowCausalStep, type FlowCausalState } from './flow-causal.ts';
import { resolveFlowOptions, type FlowOptions, type ResolvedFlowOptions } from './flow-options.ts';
import { softmaxAttention } from './softmax.ts';
import type { AttentionLayerArgs, RecurrentAttentionLayer } from './types.ts';
import { parseOptions } from './options.ts';

/** The layer's sizes and Flow-Attention's knobs (`flowOptionsSchema`, whose defaults apply). */
export type FlowAttentionArgs = AttentionLayerArgs & FlowOptions;

/**
 * Multi-head Flow-Attention (`Flow_Attention` / `Flow_Attention_Causal` of the original).
 * `dropout` (after the output projection) defaults to 0 here; the original class defaults
 * to 0.05, and every experiment sets it in its config.
 */
export class FlowAttention extends MultiHeadAttention implements RecurrentAttentionLayer<FlowCausalState> {
  readonly kind = 'flow';
  /** The core's options (without masks), defaults filled in from `flowOptionsSchema`. */
  readonly flowOptions: ResolvedFlowOptions;

  constructor(rng: Rng, args: FlowAttentionArgs) {
    super(rng, args);
    const { dModel: _d, nHeads: _h, dInput: _i, dOutput: _o, causal: _c, dropout: _p, ...knobs } = args;
    this.flowOptions = resolveFlowOptions({ ...knobs, causal: this.causal });
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

/**
 * The softmax baseline's knobs, declared once (config validation, the layer's types and
 * defaults). `scale` has no constant default: 1/sqrt(head dim).
 */
export const softmaxOptionsSchema = z.object({
  attentionDropout: z.number().min(0).lt(1).default(0).describe('dropout on the attention weights (default 0)'),
  scale: z.number().positive().optional().describe('logit scale (default 1/sqrt(head dim))'),
});

export type SoftmaxAttentionArgs = AttentionLayerArgs & z.input<typeof softmaxOptionsSchema>;

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
    const o = parseOptions(softmaxOptionsSchema, { attentionDropout: args.attentionDropout, scale: args.scale }, 'softmax attention');
    this.attentionDropout = o.attentionDropout;
    this.scale = o.scale;
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
