/**
 * The projections every multi-head attention layer shares (query, key, value, output with
 * bias; PyTorch's default init), so that the baseline attentions only write their core.
 * Heads split `dModel` into contiguous column slices: a reshape `[B, L, H, dModel/H]`,
 * exactly as the original PyTorch code's `.view(B, L, H, -1)`.
 */
import { tf } from '../tf.ts';
import type { Rng } from '../train/rng.ts';
import type { AttentionCallOptions, AttentionLayer, AttentionLayerArgs } from '../attention/types.ts';
import { Dense } from './dense.ts';
import { dropout } from './dropout.ts';
import { Module, type ForwardContext } from './module.ts';

/** `[B, L, H*D]` -> `[B, H, L, D]`. */
export function splitHeads(x: tf.Tensor, nHeads: number): tf.Tensor {
  const [B, L, C] = x.shape as [number, number, number];
  return x.reshape([B, L, nHeads, C / nHeads]).transpose([0, 2, 1, 3]);
}

/** `[B, H, L, D]` -> `[B, L, H*D]`. */
export function mergeHeads(x: tf.Tensor): tf.Tensor {
  const [B, H, L, D] = x.shape as [number, number, number, number];
  return x.transpose([0, 2, 1, 3]).reshape([B, L, H * D]);
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
  readonly headDim: number;
  readonly dropout: number;
  readonly query: Dense;
  readonly key: Dense | null;
  readonly value: Dense;
  readonly out: Dense;
  private readonly selfOnly: boolean;

  constructor(rng: Rng, args: AttentionLayerArgs, opts: MultiHeadOptions = {}) {
    super();
    const { dModel, nHeads } = args;
    if (!(nHeads > 0) || dModel % nHeads !== 0) throw new Error(`attention: dModel ${dModel} is not a multiple of nHeads ${nHeads}`);
    this.dModel = dModel;
    this.nHeads = nHeads;
    this.headDim = dModel / nHeads;
    this.dInput = args.dInput ?? dModel;
    this.dOutput = args.dOutput ?? dModel;
    this.causal = args.causal ?? false;
    this.dropout = args.dropout ?? 0;
    this.selfOnly = (opts.selfOnly ?? false) || (opts.sharedQK ?? false);
    this.query = this.child('query', new Dense(rng, { inFeatures: this.dInput, outFeatures: dModel }));
    this.key = opts.sharedQK ? null : this.child('key', new Dense(rng, { inFeatures: this.dInput, outFeatures: dModel }));
    this.value = this.child('value', new Dense(rng, { inFeatures: this.dInput, outFeatures: dModel }));
    this.out = this.child('out', new Dense(rng, { inFeatures: dModel, outFeatures: this.dOutput }));
  }

  /** Projects and splits heads; validates the call. Call inside a tidy. */
  protected project(x: tf.Tensor, opts: AttentionCallOptions): Projected {
    if (x.rank !== 3 || x.shape[2] !== this.dInput) throw new Error(`${this.kind} attention: expected x [B, L, ${this.dInput}], got [${x.shape}]`);
    const selfAttention = opts.context === undefined || opts.context === x;
    if (!selfAttention && (this.causal || this.selfOnly)) {
      throw new Error(`${this.kind} attention: ${this.causal ? 'a causal layer' : 'this mechanism'} supports self-attention only; do not pass 'context'`);
    }
    const ctxIn = selfAttention ? x : opts.context!;
    const [B, L] = x.shape as [number, number];
    const S = ctxIn.shape[1]!;
    const maskOf = (m: tf.Tensor | undefined, n: number, what: string) => {
      if (!m) return null;
      if (m.rank !== 2 || m.shape[0] !== B || m.shape[1] !== n) throw new Error(`${this.kind} attention: ${what} must be [${B}, ${n}], got [${m.shape}]`);
      return m.toFloat();
    };
    const keyMask = maskOf(opts.keyPaddingMask, S, 'keyPaddingMask');
    const queryMask = maskOf(opts.queryPaddingMask, L, 'queryPaddingMask') ?? (selfAttention ? keyMask : null);
    const q = splitHeads(this.query.forward(x), this.nHeads);
    const k = this.key ? splitHeads(this.key.forward(ctxIn), this.nHeads) : q;
    const v = splitHeads(this.value.forward(ctxIn), this.nHeads);
    return { q, k, v, keyMask, queryMask, selfAttention };
  }

  /** Merges heads, applies the output projection and dropout, zeroes padded queries. */
  protected finish(o: tf.Tensor, p: Projected, ctx: ForwardContext): tf.Tensor {
    let y = dropout(this.out.forward(mergeHeads(o)), this.dropout, ctx);
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
}
