/**
 * The projections every multi-head attention layer shares (Flow-Attention, softmax and the
 * baselines), so that each mechanism only writes its core, as the original `Flow_Attention`
 * module:
 *
 *   x [B,L,dInput] -> query  -> [B,L,H,Dh] -> [B,H,L,Dh] \
 *   context [B,S,dInput] -> key, value -> [B,H,S,Dh]       > core -> [B,H,L,Dh] -> [B,L,dModel] -> out -> dropout
 *
 * Heads split `dModel` into contiguous column slices: a reshape `[B, L, H, dModel/H]`, exactly
 * as the original PyTorch code's `.view(B, L, H, -1)`, so weights load directly from its
 * `nn.Linear`s (transposed). Parameter names: `query.kernel` `[dInput,dModel]`, `query.bias`,
 * `key.*`, `value.*`, `out.kernel` `[dModel,dOutput]`, `out.bias` (PyTorch's default init).
 */
import { tf } from '../tf.ts';
import type { Rng } from '../rng.ts';
import type { AttentionCallOptions, AttentionLayer, AttentionLayerArgs } from './types.ts';
import { Dense } from '../nn/dense.ts';
import { dropout } from '../nn/dropout.ts';
import { Module, type ForwardContext } from '../nn/module.ts';

/**
 * `[B, L, H*D]` -> `[B, H, L, D]`. Its gradient is the inverse transpose and reshape and needs
 * no tensor: as a composite, `Reshape` would keep its input (the projection's `[B, L, H*D]`
 * output, a buffer of its own beside the transposed copy) until the backward pass.
 */
export function splitHeads(x: tf.Tensor, nHeads: number): tf.Tensor {
  const [B, L, C] = x.shape as [number, number, number];
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
    value: (args[0] as tf.Tensor).reshape([B, L, nHeads, C / nHeads]).transpose([0, 2, 1, 3]),
    gradFunc: (dy: tf.Tensor) => [dy.transpose([0, 2, 1, 3]).reshape([B, L, C])],
  }));
  return tf.tidy('SplitHeads', () => f(x));
}

/** `[B, H, L, D]` -> `[B, L, H*D]`; like `splitHeads`, keeps nothing for the backward pass. */
export function mergeHeads(x: tf.Tensor): tf.Tensor {
  const [B, H, L, D] = x.shape as [number, number, number, number];
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
    value: (args[0] as tf.Tensor).transpose([0, 2, 1, 3]).reshape([B, L, H * D]),
    gradFunc: (dy: tf.Tensor) => [dy.reshape([B, L, H, D]).transpose([0, 2, 1, 3])],
  }));
  return tf.tidy('MergeHeads', () => f(x));
}

/** The per-call tensors a core receives. Masks are float32 with 1 = real, 0 = padding. */
export interface Projected {
  q: tf.Tensor; // [B, H, L, D]
  k: tf.Tensor; // [B, H, S, D]
  v: tf.Tensor; // [B, H, S, D]
  keyMask: tf.Tensor | null; // [B, S]
  queryMask: tf.Tensor | null; // [B, L]
  selfAttention: boolean;
}

export interface MultiHeadOptions {
  /** One projection serves as both query and key (Reformer's shared-QK attention). */
  sharedQK?: boolean;
  /** Only self-attention is defined (Mobile-Attention, Reformer). */
  selfOnly?: boolean;
}

export abstract class MultiHeadAttention extends Module implements AttentionLayer {
  abstract readonly kind: string;
  readonly causal: boolean;
  readonly dModel: number;
  readonly nHeads: number;
  readonly dInput: number;
  readonly dOutput: number;
  /** Size of one head, dModel / nHeads. */
  readonly headDim: number;
  /** Dropout after the output projection. */
  readonly dropoutRate: number;
  readonly query: Dense;
  /** null when queries and keys share one projection (`sharedQK`). */
  readonly key: Dense | null;
  readonly value: Dense;
  readonly out: Dense;
  private readonly selfOnly: boolean;

  constructor(rng: Rng, args: AttentionLayerArgs, opts: MultiHeadOptions = {}) {
    super();
    const who = new.target.name;
    const { dModel, nHeads } = args;
    if (!Number.isInteger(nHeads) || nHeads < 1 || !Number.isInteger(dModel) || dModel % nHeads !== 0) {
      throw new Error(`${who}: dModel (${dModel}) must be a positive multiple of nHeads (${nHeads})`);
    }
    this.dModel = dModel;
    this.nHeads = nHeads;
    this.headDim = dModel / nHeads;
    this.dInput = args.dInput ?? dModel;
    this.dOutput = args.dOutput ?? dModel;
    this.causal = args.causal ?? false;
    this.dropoutRate = args.dropout ?? 0;
    if (!(this.dropoutRate >= 0 && this.dropoutRate < 1)) throw new Error(`${who}: dropout must be in [0, 1), got ${this.dropoutRate}`);
    this.selfOnly = (opts.selfOnly ?? false) || (opts.sharedQK ?? false);
    this.query = this.child('query', new Dense(rng, { inFeatures: this.dInput, outFeatures: dModel }));
    this.key = opts.sharedQK ? null : this.child('key', new Dense(rng, { inFeatures: this.dInput, outFeatures: dModel }));
    this.value = this.child('value', new Dense(rng, { inFeatures: this.dInput, outFeatures: dModel }));
    this.out = this.child('out', new Dense(rng, { inFeatures: dModel, outFeatures: this.dOutput }));
  }

  /** Projects and splits heads; validates the call. Call inside a tidy. */
  protected project(x: tf.Tensor, opts: AttentionCallOptions): Projected {
    if (x.rank !== 3 || x.shape[2] !== this.dInput) throw new Error(`${this.kind} attention: x must be [B, L, dInput=${this.dInput}], got [${x.shape}]`);
    const selfAttention = opts.context === undefined || opts.context === x;
    if (!selfAttention && (this.causal || this.selfOnly)) {
      throw new Error(`${this.kind} attention: ${this.causal ? 'a causal layer' : 'this mechanism'} supports self-attention only; do not pass 'context'`);
    }
    const ctxIn = selfAttention ? x : opts.context!;
    const [B, L] = x.shape as [number, number];
    if (ctxIn.rank !== 3 || ctxIn.shape[0] !== B || ctxIn.shape[2] !== this.dInput) {
      throw new Error(`${this.kind} attention: context must be [B=${B}, S, dInput=${this.dInput}], got [${ctxIn.shape}]`);
    }
    const S = ctxIn.shape[1]!;
    const maskOf = (m: tf.Tensor | undefined, n: number, what: string) => {
      if (!m) return null;
      if (m.rank !== 2 || m.shape[0] !== B || m.shape[1] !== n) throw new Error(`${this.kind} attention: ${what} must be [${B}, ${n}], got [${m.shape}]`);
      return m.toFloat();
    };
    const keyMask = maskOf(opts.keyPaddingMask, S, 'keyPaddingMask');
    // Self-attention: one sequence, one mask, passed on as the same tensor (the causal cores require it).
    const qm = opts.queryPaddingMask;
    const queryMask = qm === undefined ? (selfAttention ? keyMask : null) : qm === opts.keyPaddingMask && L === S ? keyMask : maskOf(qm, L, 'queryPaddingMask');
    // Each projection's [B, L, dModel] output is needed only until its heads are split (a copy).
    const heads = (dense: Dense, input: tf.Tensor) => {
      const projected = dense.forward(input);
      const split = splitHeads(projected, this.nHeads);
      projected.dispose();
      return split;
    };
    const q = heads(this.query, x);
    const k = this.key ? heads(this.key, ctxIn) : q;
    const v = heads(this.value, ctxIn);
    return { q, k, v, keyMask, queryMask, selfAttention };
  }

  /** Merges heads, applies the output projection and dropout, zeroes padded queries. */
  protected finish(o: tf.Tensor, p: Projected, ctx: ForwardContext): tf.Tensor {
    let y = dropout(this.out.forward(mergeHeads(o)), this.dropoutRate, ctx);
    if (p.queryMask) y = tf.mul(y, p.queryMask.expandDims(-1));
    return y;
  }

  /** The mechanism: `[B, H, L, D]` queries, `[B, H, S, D]` keys/values -> `[B, H, L, D]`. */
  protected abstract core(p: Projected, ctx: ForwardContext): tf.Tensor;

  forward(x: tf.Tensor, ctx: ForwardContext, opts: AttentionCallOptions = {}): tf.Tensor {
    return tf.tidy(() => {
      const p = this.project(x, opts);
      return this.finish(this.core(p, ctx), p, ctx);
    });
  }

  /**
   * One generation step's projections: `xT` `[B, dInput]` (the newest token) -> q, k, v
   * `[B, H, 1, Dh]`. For the recurrent (`step`) form of causal layers; call inside a tidy.
   */
  protected projectStep(xT: tf.Tensor, who: string): { q: tf.Tensor; k: tf.Tensor; v: tf.Tensor } {
    if (!this.causal) throw new Error(`${who}: only a causal layer (causal: true) generates step by step`);
    if (xT.rank !== 2 || xT.shape[1] !== this.dInput) throw new Error(`${who}: xT must be [B, dInput=${this.dInput}], got [${xT.shape}]`);
    const heads = (t: tf.Tensor) => t.reshape([xT.shape[0]!, this.nHeads, 1, this.headDim]);
    const q = heads(this.query.forward(xT));
    return { q, k: this.key ? heads(this.key.forward(xT)) : q, v: heads(this.value.forward(xT)) };
  }

  /** A step's `[B, H, 1, Dh]` output -> `[B, dOutput]`: output projection and dropout. */
  protected finishStep(o: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    return dropout(this.out.forward(o.reshape([o.shape[0]!, this.dModel])), this.dropoutRate, ctx);
  }
}
