/**
 * The ImageNet models of the paper (thuml/Flowformer `Flowformer_CV/flowformer.py`) and the
 * DeiT-S comparison, on NHWC images:
 *
 *   Flowformer (four stages):  [B,S,S,3] -conv 4x4/4-> [B,S/4,S/4,96] + learned positions
 *     -> 3 blocks @96 -conv 2x2/2-> 3 @192 -conv 2x2/2-> 10 @384 -conv 2x2/2-> 3 @768
 *     -> LayerNorm -> mean over tokens -> Linear(768, classes)
 *   DeiT-S:  conv 16x16/16 -> [CLS] + tokens + learned positions -> 12 blocks @384, 6 heads
 *     -> LayerNorm -> CLS -> Linear(384, classes)
 *
 * Blocks are the core's pre-LN `EncoderBlock`: x + dropPath(attn(LN(x))), then
 * x + dropPath(gamma * mlp(LN(x))) with LayerScale gamma (init 1e-5) on the MLP branch only for
 * the Flowformer (its `My_BlockLayerScale`), none for DeiT. LayerNorm eps 1e-6, MLP ratio 4 with
 * exact GELU, stochastic depth rising linearly from 0 over all blocks. The attention is any type
 * of the core registry (flow: non-causal, clamp 1; softmax: the comparison).
 * Init as the original `_init_weights`: every Linear (attention, MLP, head) truncated normal
 * std 0.02 with zero bias, LayerNorms 1/0, convolutions PyTorch's default, positions and CLS
 * truncated normal 0.02 (no weight decay).
 */
import { attentionFactory, crossEntropy, Conv2d, Dense, dropout, EncoderBlock, init, LayerNorm, Module, softTargetCrossEntropy, tf, type AttentionConfig, type ForwardContext, type Rng, type Tap, type TaskModel } from '@flowformer/core';
import type { ImageBatch } from './data/split.ts';

/** What the visualiser needs: the input of one block's attention and the token grid. */
export interface BlockProbe {
  /** `[B, L, C]` tokens entering the block (before its first LayerNorm). */
  tokens: tf.Tensor;
  block: EncoderBlock;
  /** Tokens laid out as a grid of `gridH` x `gridW`, after `prefix` leading tokens (CLS). */
  gridH: number;
  gridW: number;
  prefix: number;
}

export interface ImageClassifier extends TaskModel<ImageBatch> {
  readonly imageSize: number;
  readonly numClasses: number;
  /** `[B, S, S, 3]` -> logits `[B, classes]`. */
  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor;
  /** Runs the network up to block `block` of stage `stage` (DeiT: one stage) and returns its input. Call inside a tidy. */
  probe(x: tf.Tensor, stage: number, block: number): BlockProbe;
  /** Blocks per stage. */
  readonly depths: number[];
}

/** Linear stochastic-depth rates over `n` blocks: torch.linspace(0, rate, n). */
export function dropPathRates(n: number, rate: number): number[] {
  return Array.from({ length: n }, (_, i) => (n === 1 ? 0 : (rate * i) / (n - 1)));
}

/** The original's `self.apply(_init_weights)` for Linear layers: every rank-2 kernel ~ trunc normal(0.02), its bias 0. */
function initLinears(m: Module, rng: Rng): void {
  const params = m.namedParams();
  const names = new Set(params.map((p) => p.name));
  for (const p of params) {
    if (p.name.endsWith('.kernel') && p.variable.rank === 2) {
      const t = init.truncatedNormal(rng, p.variable.shape, 0.02);
      p.variable.assign(t);
      t.dispose();
      const bias = p.name.slice(0, -'kernel'.length) + 'bias';
      if (names.has(bias)) {
        const b = params.find((q) => q.name === bias)!;
        const z = tf.zerosLike(b.variable);
        b.variable.assign(z);
        z.dispose();
      }
    }
  }
}

/** The loss of the recipe: soft-target cross-entropy on Mixup/CutMix targets, else cross-entropy with label smoothing. */
function classifierLoss(logits: tf.Tensor, batch: ImageBatch, labelSmoothing: number): tf.Scalar {
  return batch.targets ? softTargetCrossEntropy(logits, batch.targets) : crossEntropy(logits, batch.labels, { labelSmoothing });
}

function checkImages(x: tf.Tensor, size: number, who: string): void {
  if (x.rank !== 4 || x.shape[1] !== size || x.shape[2] !== size || x.shape[3] !== 3) {
    throw new Error(`${who}: expected images [B, ${size}, ${size}, 3] (NHWC, normalised), got [${x.shape}]; set data.imageSize to the model's model.imageSize`);
  }
}

export interface FlowformerArgs {
  imageSize: number;
  numClasses: number;
  patchSize: number;
  /** Widths of the four stages, e.g. [96, 192, 384, 768]. */
  dims: number[];
  /** Blocks per stage, e.g. [3, 3, 10, 3]. */
  depths: number[];
  /** Attention heads per stage (the original: 12 everywhere). */
  heads: number[];
  mlpRatio: number;
  /** Stochastic depth of the last block (0.2). */
  dropPath: number;
  /** LayerScale init on the MLP branch (1e-5). */
  layerScale: number;
  /** Dropout after the positions, in the MLPs and on the head's input (0 in the recipe). */
  dropout: number;
  attention: AttentionConfig;
  labelSmoothing: number;
  /**
   * With a 'flow' attention: the vision code's extra +eps after each flow contraction
   * (`outerEps`; config `model.flowOuterEps`, 1e-6 in the original). Default 0 here.
   */
  flowOuterEps?: number;
}

/** The paper's four-stage Flowformer for ImageNet (`Flowformer` of `Flowformer_CV/flowformer.py`). */
export class HierarchicalFlowformer extends Module implements ImageClassifier {
  readonly imageSize: number;
  readonly numClasses: number;
  readonly depths: number[];
  readonly args: FlowformerArgs;
  readonly patchEmbed: Conv2d;
  readonly posEmbed: tf.Variable; // [1, N0, dims[0]]
  readonly downs: Conv2d[];
  readonly stages: EncoderBlock[][];
  readonly norm: LayerNorm;
  readonly head: Dense;
  /** Token grid side of each stage: S/patch, then halved. */
  readonly grids: number[];

  constructor(rng: Rng, args: FlowformerArgs) {
    super();
    const { dims, depths, heads } = args;
    if (dims.length !== depths.length || dims.length !== heads.length) throw new Error(`Flowformer: model.dims, model.depths and model.heads must have one entry per stage (got ${dims.length}, ${depths.length}, ${heads.length})`);
    this.args = args;
    this.imageSize = args.imageSize;
    this.numClasses = args.numClasses;
    this.depths = depths;
    const g0 = Math.floor(args.imageSize / args.patchSize);
    this.grids = dims.map((_, i) => Math.floor(g0 / 2 ** i));
    if (g0 % 2 ** (dims.length - 1) !== 0) {
      throw new Error(`Flowformer: imageSize ${args.imageSize} / patchSize ${args.patchSize} = ${g0} tokens per side must halve exactly ${dims.length - 1} times (224 / 4 = 56 -> 28 -> 14 -> 7)`);
    }
    this.patchEmbed = this.child('patchEmbed', new Conv2d(rng, { inChannels: 3, outChannels: dims[0]!, kernelSize: args.patchSize, stride: args.patchSize }));
    this.posEmbed = this.param('posEmbed', init.truncatedNormal(rng, [1, g0 * g0, dims[0]!], 0.02), { decay: false });
    this.downs = [];
    for (let i = 0; i + 1 < dims.length; i++) {
      this.downs.push(this.child(`down${i}`, new Conv2d(rng, { inChannels: dims[i]!, outChannels: dims[i + 1]!, kernelSize: 2, stride: 2 })));
    }
    const rates = dropPathRates(depths.reduce((a, b) => a + b, 0), args.dropPath);
    // An outerEps the attention section sets itself wins over the model's.
    const attention: AttentionConfig =
      args.attention.type === 'flow' && (args.flowOuterEps ?? 0) > 0 && (args.attention as { outerEps?: number }).outerEps === undefined
        ? { ...args.attention, outerEps: args.flowOuterEps }
        : args.attention;
    let k = 0;
    this.stages = dims.map((d, i) =>
      Array.from({ length: depths[i]! }, (_, j) =>
        this.child(
          `stage${i}.${j}`,
          new EncoderBlock(rng, {
            norm: 'pre',
            dModel: d,
            attention: attentionFactory({ dModel: d, nHeads: heads[i]! }, attention),
            mlpHidden: Math.round(d * args.mlpRatio),
            activation: 'gelu',
            dropout: args.dropout,
            normEps: 1e-6,
            layerScale: args.layerScale > 0 ? { init: args.layerScale, branches: 'mlp' } : undefined,
            dropPath: rates[k++]!,
          }),
        ),
      ),
    );
    this.norm = this.child('norm', new LayerNorm({ dim: dims[dims.length - 1]!, eps: 1e-6 }));
    this.head = this.child('head', new Dense(rng, { inFeatures: dims[dims.length - 1]!, outFeatures: args.numClasses }));
    initLinears(this, rng);
  }

  /** Runs stages up to (not including) block `block` of stage `stopStage`; returns `[B, L, C]` tokens. */
  private run(x: tf.Tensor, ctx: ForwardContext, stopStage = Infinity, stopBlock = 0, tap?: Tap): tf.Tensor {
    checkImages(x, this.imageSize, 'Flowformer');
    const B = x.shape[0]!;
    let t: tf.Tensor = this.patchEmbed.forward(x); // [B, g0, g0, C0]
    for (let i = 0; i < this.stages.length; i++) {
      const g = this.grids[i]!;
      if (i > 0) t = this.downs[i - 1]!.forward(t.reshape([B, this.grids[i - 1]!, this.grids[i - 1]!, -1])); // [B, g, g, Ci]
      t = t.reshape([B, g * g, -1]); // [B, L, Ci]
      tap?.(`patch_embed.${i}`, t);
      if (i === 0) {
        t = tf.add(t, this.posEmbed);
        t = dropout(t, this.args.dropout, ctx);
      }
      for (let j = 0; j < this.stages[i]!.length; j++) {
        if (i === stopStage && j === stopBlock) return t;
        t = this.stages[i]![j]!.forward(t, ctx);
      }
      tap?.(`blocks.${i}`, t);
    }
    return t;
  }

  /** `x` `[B, S, S, 3]` -> logits; `tap` receives the activations the original's reference cases record, under their names. */
  forward(x: tf.Tensor, ctx: ForwardContext, tap?: Tap): tf.Tensor {
    return tf.tidy(() => {
      let f = tf.mean(this.norm.forward(this.run(x, ctx, Infinity, 0, tap)), 1); // [B, C]
      tap?.('head_input', f);
      f = dropout(f, this.args.dropout, ctx);
      return this.head.forward(f);
    });
  }

  probe(x: tf.Tensor, stage: number, block: number): BlockProbe {
    if (!(stage >= 0 && stage < this.stages.length && block >= 0 && block < this.stages[stage]!.length)) {
      throw new Error(`Flowformer: no block ${block} in stage ${stage} (depths [${this.depths}])`);
    }
    const tokens = this.run(x, { training: false }, stage, block);
    return { tokens, block: this.stages[stage]![block]!, gridH: this.grids[stage]!, gridW: this.grids[stage]!, prefix: 0 };
  }

  loss(batch: ImageBatch, ctx: ForwardContext): tf.Scalar {
    return tf.tidy(() => classifierLoss(this.forward(batch.x, ctx), batch, this.args.labelSmoothing));
  }
}

export interface DeitArgs {
  imageSize: number;
  numClasses: number;
  patchSize: number;
  dim: number;
  depth: number;
  heads: number;
  mlpRatio: number;
  dropPath: number;
  dropout: number;
  attention: AttentionConfig;
  labelSmoothing: number;
}

/** DeiT (timm `VisionTransformer`, DeiT-S: patch 16, width 384, depth 12, 6 heads) with any registry attention. */
export class DeiT extends Module implements ImageClassifier {
  readonly imageSize: number;
  readonly numClasses: number;
  readonly depths: number[];
  readonly args: DeitArgs;
  readonly grid: number;
  readonly patchEmbed: Conv2d;
  readonly clsToken: tf.Variable; // [1, 1, dim]
  readonly posEmbed: tf.Variable; // [1, 1 + N, dim]
  readonly blocks: EncoderBlock[];
  readonly norm: LayerNorm;
  readonly head: Dense;

  constructor(rng: Rng, args: DeitArgs) {
    super();
    this.args = args;
    this.imageSize = args.imageSize;
    this.numClasses = args.numClasses;
    this.depths = [args.depth];
    this.grid = Math.floor(args.imageSize / args.patchSize);
    if (this.grid < 1) throw new Error(`DeiT: imageSize ${args.imageSize} is smaller than patchSize ${args.patchSize}`);
    this.patchEmbed = this.child('patchEmbed', new Conv2d(rng, { inChannels: 3, outChannels: args.dim, kernelSize: args.patchSize, stride: args.patchSize }));
    this.clsToken = this.param('clsToken', init.truncatedNormal(rng, [1, 1, args.dim], 0.02), { decay: false });
    this.posEmbed = this.param('posEmbed', init.truncatedNormal(rng, [1, 1 + this.grid * this.grid, args.dim], 0.02), { decay: false });
    const rates = dropPathRates(args.depth, args.dropPath);
    this.blocks = rates.map((r, j) =>
      this.child(
        `blocks.${j}`,
        new EncoderBlock(rng, {
          norm: 'pre',
          dModel: args.dim,
          attention: attentionFactory({ dModel: args.dim, nHeads: args.heads }, args.attention),
          mlpHidden: Math.round(args.dim * args.mlpRatio),
          activation: 'gelu',
          dropout: args.dropout,
          normEps: 1e-6,
          dropPath: r,
        }),
      ),
    );
    this.norm = this.child('norm', new LayerNorm({ dim: args.dim, eps: 1e-6 }));
    this.head = this.child('head', new Dense(rng, { inFeatures: args.dim, outFeatures: args.numClasses }));
    initLinears(this, rng);
  }

  private run(x: tf.Tensor, ctx: ForwardContext, stopBlock = Infinity): tf.Tensor {
    checkImages(x, this.imageSize, 'DeiT');
    const B = x.shape[0]!;
    const patches = this.patchEmbed.forward(x).reshape([B, this.grid * this.grid, this.args.dim]); // [B, N, dim]
    let t = tf.add(tf.concat([tf.tile(this.clsToken, [B, 1, 1]), patches], 1), this.posEmbed); // [B, 1+N, dim]
    t = dropout(t, this.args.dropout, ctx);
    for (let j = 0; j < this.blocks.length; j++) {
      if (j === stopBlock) return t;
      t = this.blocks[j]!.forward(t, ctx);
    }
    return t;
  }

  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    return tf.tidy(() => {
      const t = this.norm.forward(this.run(x, ctx)); // [B, 1+N, dim]
      const cls = tf.squeeze(tf.slice(t, [0, 0, 0], [-1, 1, -1]), [1]); // [B, dim]
      return this.head.forward(cls);
    });
  }

  probe(x: tf.Tensor, stage: number, block: number): BlockProbe {
    if (stage !== 0 || !(block >= 0 && block < this.blocks.length)) throw new Error(`DeiT: no block ${block} in stage ${stage} (one stage of ${this.blocks.length} blocks)`);
    return { tokens: this.run(x, { training: false }, block), block: this.blocks[block]!, gridH: this.grid, gridW: this.grid, prefix: 1 };
  }

  loss(batch: ImageBatch, ctx: ForwardContext): tf.Scalar {
    return tf.tidy(() => classifierLoss(this.forward(batch.x, ctx), batch, this.args.labelSmoothing));
  }
}

/** Parameters of one pre-LN block of width d, MLP ratio r: attention 4d^2 + 4d, MLP 2rd^2 + rd + d, two LayerNorms 4d, LayerScale d. */
const blockParams = (d: number, r: number, layerScale: boolean) => 4 * d * d + 4 * d + 2 * Math.round(d * r) * d + Math.round(d * r) + d + 4 * d + (layerScale ? d : 0);

/**
 * The parameter count of a model without building it (a 224-pixel Flowformer takes a minute to
 * initialise in JS). Tested against `numParams()` of built models; with registry attentions
 * whose layers have the q/k/v/out projections only (flow, softmax).
 */
export function countParams(kind: 'flowformer', a: Omit<FlowformerArgs, 'attention' | 'labelSmoothing' | 'dropout' | 'dropPath'>): number;
export function countParams(kind: 'deit', a: Omit<DeitArgs, 'attention' | 'labelSmoothing' | 'dropout' | 'dropPath'>): number;
export function countParams(kind: 'flowformer' | 'deit', a: any): number {
  if (kind === 'deit') {
    const g = Math.floor(a.imageSize / a.patchSize);
    const d = a.dim;
    return 3 * a.patchSize * a.patchSize * d + d + d + (1 + g * g) * d + a.depth * blockParams(d, a.mlpRatio, false) + 2 * d + d * a.numClasses + a.numClasses;
  }
  const dims: number[] = a.dims;
  const g0 = Math.floor(a.imageSize / a.patchSize);
  let n = 3 * a.patchSize * a.patchSize * dims[0]! + dims[0]! + g0 * g0 * dims[0]!;
  dims.forEach((d, i) => {
    if (i > 0) n += 4 * dims[i - 1]! * d + d;
    n += a.depths[i] * blockParams(d, a.mlpRatio, a.layerScale > 0);
  });
  const last = dims[dims.length - 1]!;
  return n + 2 * last + last * a.numClasses + a.numClasses;
}
