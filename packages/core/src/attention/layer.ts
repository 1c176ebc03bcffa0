/**
 * Attention layers: query/key/value projections, a multi-head attention core, the output
 * projection and dropout, as the original `Flow_Attention` module:
 *
 *   x [B,L,dInput] -> query  -> [B,L,H,Dh] -> [B,H,L,Dh] \
 *   context [B,S,dInput] -> key, value -> [B,H,S,Dh]       > core -> [B,H,L,Dh] -> [B,L,dModel] -> out -> dropout
 *
 * Head h takes the contiguous columns h*Dh .. (h+1)*Dh - 1 of a projection (a reshape to
 * `[B,L,H,Dh]`), so weights load directly from the original's `nn.Linear`s (transposed).
 * Parameter names: `query.kernel` `[dInput,dModel]`, `query.bias`, `key.*`, `value.*`,
 * `out.kernel` `[dModel,dOutput]`, `out.bias`.
 */
import { tf } from '../tf.ts';
import { Dense } from '../nn/dense.ts';
import { dropout } from '../nn/dropout.ts';
import { Module, type ForwardContext } from '../nn/module.ts';
import type { Rng } from '../train/rng.ts';
import { flowAttention } from './flow.ts';
import { disposeFlowCausalState, flowCausalInit, flowCausalStep, type FlowCausalState } from './flow-causal.ts';
import type { CausalImpl, CompetitionAxis, FeatureMap, FlowAttentionOptions } from './flow-options.ts';
import { softmaxAttention } from './softmax.ts';
import type { AttentionCallOptions, AttentionLayerArgs, RecurrentAttentionLayer } from './types.ts';

/** The projections and head bookkeeping every multi-head layer here shares. */
export abstract class ProjectedAttention extends Module {
  abstract readonly kind: string;
  readonly causal: boolean;
  readonly dModel: number;
  readonly nHeads: number;
  readonly dInput: number;
  readonly dOutput: number;
  /** Size of one head, dModel / nHeads. */
  readonly headDim: number;
  readonly dropoutRate: number;
  readonly query: Dense;
  readonly key: Dense;
  readonly value: Dense;
  readonly out: Dense;

  constructor(rng: Rng, args: AttentionLayerArgs, who: string) {
    super();
    const { dModel, nHeads } = args;
    if (!Number.isInteger(nHeads) || nHeads < 1 || !Number.isInteger(dModel) || dModel % nHeads !== 0) {
      throw new Error(`${who}: dModel (${dModel}) must be a positive multiple of nHeads (${nHeads})`);
    }
    this.causal = args.causal ?? false;
    this.dModel = dModel;
    this.nHeads = nHeads;
    this.dInput = args.dInput ?? dModel;
    this.dOutput = args.dOutput ?? dModel;
    this.headDim = dModel / nHeads;
    this.dropoutRate = args.dropout ?? 0;
    if (!(this.dropoutRate >= 0 && this.dropoutRate < 1)) throw new Error(`${who}: dropout must be in [0, 1), got ${this.dropoutRate}`);
    this.query = this.child('query', new Dense(rng, { inFeatures: this.dInput, outFeatures: dModel }));
    this.key = this.child('key', new Dense(rng, { inFeatures: this.dInput, outFeatures: dModel }));
    this.value = this.child('value', new Dense(rng, { inFeatures: this.dInput, outFeatures: dModel }));
    this.out = this.child('out', new Dense(rng, { inFeatures: dModel, outFeatures: this.dOutput }));
  }

  /** `[B,n,dModel]` -> `[B,H,n,Dh]` (head h = contiguous columns). */
  protected splitHeads(x: tf.Tensor): tf.Tensor {
    const [B, n] = x.shape as [number, number, number];
    return tf.transpose(x.reshape([B, n, this.nHeads, this.headDim]), [0, 2, 1, 3]);
  }

  /** `[B,H,n,Dh]` -> `[B,n,dModel]`. */
  protected mergeHeads(x: tf.Tensor): tf.Tensor {
    const [B, , n] = x.shape as [number, number, number, number];
    return tf.transpose(x, [0, 2, 1, 3]).reshape([B, n, this.dModel]);
  }

  protected checkCall(x: tf.Tensor, opts: AttentionCallOptions, who: string): tf.Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.dInput) {
      throw new Error(`${who}: x must be [B, L, dInput=${this.dInput}], got [${x.shape}]`);
    }
    const context = opts.context ?? x;
    if (context.rank !== 3 || context.shape[0] !== x.shape[0] || context.shape[2] !== this.dInput) {
      throw new Error(`${who}: context must be [B=${x.shape[0]}, S, dInput=${this.dInput}], got [${context.shape}]`);
    }
    if (this.causal && opts.context && opts.context !== x) {
      throw new Error(`${who}: a causal layer is self-attention only; do not pass a context (build the cross-attention layer with causal: false)`);
    }
    return context;
  }

  /** Projects, runs `core` on `[B,H,L,Dh]`, `[B,H,S,Dh]`, `[B,H,S,Dh]`, merges, projects out, drops out. */
  protected project(x: tf.Tensor, context: tf.Tensor, ctx: ForwardContext, core: (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const q = this.splitHeads(this.query.forward(x)); // [B,H,L,Dh]
      const k = this.splitHeads(this.key.forward(context)); // [B,H,S,Dh]
      const v = this.splitHeads(this.value.forward(context)); // [B,H,S,Dh]
      const y = this.out.forward(this.mergeHeads(core(q, k, v))); // [B,L,dOutput]
      return dropout(y, this.dropoutRate, ctx);
    });
  }

  /** The mask of the queries: explicit, or the key mask for self-attention. */
  protected queryMask(opts: AttentionCallOptions): tf.Tensor | undefined {
    return opts.queryPaddingMask ?? (opts.context ? undefined : opts.keyPaddingMask);
  }
}

export interface FlowAttentionArgs extends AttentionLayerArgs {
  /** Default 1e-6. */
  eps?: number;
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
export class FlowAttention extends ProjectedAttention implements RecurrentAttentionLayer<FlowCausalState> {
  readonly kind = 'flow';
  /** The core's options (without masks), as resolved from the args. */
  readonly flowOptions: FlowAttentionOptions;

  constructor(rng: Rng, args: FlowAttentionArgs) {
    super(rng, args, 'FlowAttention');
    this.flowOptions = {
      causal: this.causal,
      eps: args.eps,
      featureMap: args.featureMap,
      clamp: args.clamp,
      competition: args.competition,
      allocation: args.allocation,
      competitionAxis: args.competitionAxis,
      causalImpl: args.causalImpl,
      chunkSize: args.chunkSize,
    };
  }

  forward(x: tf.Tensor, ctx: ForwardContext, opts: AttentionCallOptions = {}): tf.Tensor {
    const context = this.checkCall(x, opts, 'FlowAttention');
    const queryPaddingMask = this.queryMask(opts) ?? null;
    return this.project(x, context, ctx, (q, k, v) =>
      flowAttention(q, k, v, { ...this.flowOptions, keyPaddingMask: opts.keyPaddingMask, queryPaddingMask }),
    );
  }

  initState(batch: number): FlowCausalState {
    if (!this.causal) throw new Error('FlowAttention.initState: only a causal layer (causal: true) generates step by step');
    return flowCausalInit(batch, this.nHeads, this.headDim, this.headDim);
  }

  /** `xT` `[B,dInput]` -> `[B,dOutput]`; O(Dh * Dh) per head and token. */
  step(xT: tf.Tensor, state: FlowCausalState, ctx: ForwardContext): { output: tf.Tensor; state: FlowCausalState } {
    if (!this.causal) throw new Error('FlowAttention.step: only a causal layer (causal: true) generates step by step');
    if (xT.rank !== 2 || xT.shape[1] !== this.dInput) throw new Error(`FlowAttention.step: xT must be [B, dInput=${this.dInput}], got [${xT.shape}]`);
    const B = xT.shape[0]!;
    const heads = (d: Dense) => d.forward(xT).reshape([B, this.nHeads, this.headDim]); // [B,H,Dh]
    let next: FlowCausalState | null = null;
    const output = tf.tidy(() => {
      const r = flowCausalStep(heads(this.query), heads(this.key), heads(this.value), state, this.flowOptions);
      next = r.state;
      for (const t of Object.values(r.state)) tf.keep(t as tf.Tensor);
      const y = this.out.forward(r.output.reshape([B, this.dModel])); // [B,dOutput]
      return dropout(y, this.dropoutRate, ctx);
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
export class SoftmaxAttention extends ProjectedAttention implements RecurrentAttentionLayer<SoftmaxCacheState> {
  readonly kind = 'softmax';
  readonly attentionDropout: number;
  readonly scale: number | undefined;

  constructor(rng: Rng, args: SoftmaxAttentionArgs) {
    super(rng, args, 'SoftmaxAttention');
    this.attentionDropout = args.attentionDropout ?? 0;
    this.scale = args.scale;
  }

  forward(x: tf.Tensor, ctx: ForwardContext, opts: AttentionCallOptions = {}): tf.Tensor {
    const context = this.checkCall(x, opts, 'SoftmaxAttention');
    const qMask = this.queryMask(opts);
    return tf.tidy(() => {
      let y = this.project(x, context, ctx, (q, k, v) =>
        softmaxAttention(q, k, v, {
          causal: this.causal,
          keyPaddingMask: opts.keyPaddingMask,
          scale: this.scale,
          attentionDropout: this.attentionDropout > 0 ? { rate: this.attentionDropout, ctx } : undefined,
        }),
      );
      // Same convention as Flow-Attention: outputs at padded query positions are zero.
      if (qMask) y = tf.mul(y, tf.cast(qMask, 'float32').expandDims(2));
      return y;
    });
  }

  initState(_batch: number): SoftmaxCacheState {
    if (!this.causal) throw new Error('SoftmaxAttention.initState: only a causal layer (causal: true) generates step by step');
    return { keys: null, values: null };
  }

  /** `xT` `[B,dInput]` -> `[B,dOutput]`; attends over the cache, O(t) per token. */
  step(xT: tf.Tensor, state: SoftmaxCacheState, ctx: ForwardContext): { output: tf.Tensor; state: SoftmaxCacheState } {
    if (!this.causal) throw new Error('SoftmaxAttention.step: only a causal layer (causal: true) generates step by step');
    const B = xT.shape[0]!;
    const heads = (d: Dense) => d.forward(xT).reshape([B, this.nHeads, 1, this.headDim]); // [B,H,1,Dh]
    let next: SoftmaxCacheState | null = null;
    const output = tf.tidy(() => {
      const kT = heads(this.key);
      const vT = heads(this.value);
      const keys = state.keys ? tf.concat([state.keys, kT], 2) : kT; // [B,H,t,Dh]
      const values = state.values ? tf.concat([state.values, vT], 2) : vT;
      tf.keep(keys);
      tf.keep(values);
      next = { keys, values };
      const o = softmaxAttention(heads(this.query), keys, values, { scale: this.scale }); // [B,H,1,Dh]
      const y = this.out.forward(o.reshape([B, this.dModel]));
      return dropout(y, this.dropoutRate, ctx);
    });
    return { output, state: next! };
  }

  disposeState(state: SoftmaxCacheState): void {
    state.keys?.dispose();
    state.values?.dispose();
  }
}
