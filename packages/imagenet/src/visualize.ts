/**
 * The paper's Figure 2: what Flow-Attention attends to in an image, per head, from the flow
 * quantities of one block of a trained model.
 *
 * For sink (query) i and source (key) j the flow the layer actually moves is
 *   flow_ij = sinkAllocation_i * sinkIncoming_i * (phi(q_i) . phi(k_j)) * sourceCompetition_j,
 * so that out_i = sum_j flow_ij v_j is exactly the attention's output (tested). We draw, for
 * each head, (row 1) flow_i. for a chosen query i: which tokens send their information to it,
 * and (row 2) sourceCompetition_j over the image: which tokens win the competition among
 * sources. For a softmax model the rows are the softmax weights of the query and the mean
 * weight each token receives. Heat-maps (min-max per map) are overlaid on the evaluation view
 * of the image and written as PNG with sharp:
 *
 *   [ image + query marker | head 1 flow to query | head 2 ... ]
 *   [ image                | head 1 competition   | head 2 ... ]
 */
import path from 'node:path';
import sharp from 'sharp';
import { applyFeatureMap, checkpointExists, disposeCheckpoint, flowAttention, FlowAttention, loadCheckpoint, loadConfig, Rng, SoftmaxAttention, tf } from '@flowformer/core';
import { normalizeInto, type RgbImage } from './data/augment.ts';
import { decodeEval } from './data/decode.ts';
import type { ImageClassifier } from './model.ts';
import { buildImageModel, imagenetSchemas, type ImagenetConfig } from './build.ts';

export interface FlowMapOptions {
  /** Stage and block whose attention is drawn (default: the last block of stage 0). */
  stage?: number;
  block?: number;
  /** The query: a grid cell [row, col] (default the centre), or 'cls' for DeiT's class token (DeiT's default). */
  query?: [number, number] | 'cls';
}

export interface FlowMaps {
  kind: 'flow' | 'softmax';
  /** The stage and block drawn (the defaults resolved). */
  stage: number;
  block: number;
  heads: number;
  gridH: number;
  gridW: number;
  /** Token index of the query (including any CLS prefix). */
  queryToken: number;
  /** Leading non-image tokens (1 for DeiT's CLS). */
  prefix: number;
  /** Per head, `[gridH * gridW]`: the flow (or softmax weight) from each image token to the query. */
  toQuery: Float32Array[];
  /** Per head, `[gridH * gridW]`: sourceCompetition (flow) or the mean weight received (softmax). */
  competition: Float32Array[];
  /** For checking: the attention core's output for the query `[H, Dh]`, and sum_j flow_ij v_j computed from the maps' full rows. */
  check: { core: Float32Array; fromFlow: Float32Array };
}

/** Computes the maps of one image `x` `[1, S, S, 3]` (normalised). */
export function flowMaps(model: ImageClassifier, x: tf.Tensor, opts: FlowMapOptions = {}): FlowMaps {
  const stage = opts.stage ?? 0;
  if (!(Number.isInteger(stage) && stage >= 0 && stage < model.depths.length)) {
    throw new Error(`visualize: no stage ${stage}: the model has ${model.depths.length} stage(s) (depths [${model.depths}]), numbered from 0`);
  }
  const block = opts.block ?? model.depths[stage]! - 1;
  const res = tf.tidy(() => {
    const p = model.probe(x, stage, block);
    const attn = p.block.attn;
    if (!(attn instanceof FlowAttention) && !(attn instanceof SoftmaxAttention)) {
      throw new Error(`visualize: the model's attention is '${attn.kind}'; maps are drawn for 'flow' and 'softmax' models`);
    }
    const qi = opts.query === 'cls' || (opts.query === undefined && p.prefix > 0) ? 0 : p.prefix + (opts.query ? opts.query[0] * p.gridW + opts.query[1] : Math.floor(p.gridH / 2) * p.gridW + Math.floor(p.gridW / 2));
    if (opts.query === 'cls' && p.prefix === 0) throw new Error('visualize: this model has no CLS token; give the query as [row, col]');
    if (opts.query && opts.query !== 'cls' && !(opts.query[0] >= 0 && opts.query[0] < p.gridH && opts.query[1] >= 0 && opts.query[1] < p.gridW)) {
      throw new Error(`visualize: query [${opts.query}] is outside the ${p.gridH}x${p.gridW} token grid of stage ${stage}`);
    }
    const h = p.block.ln1.forward(p.tokens); // [1, L, C]
    const L = h.shape[1]!;
    const H = attn.nHeads;
    const Dh = attn.headDim;
    const heads = (t: tf.Tensor) => t.reshape([L, H, Dh]).transpose([1, 0, 2]); // [H, L, Dh]
    const q = heads(attn.query.forward(h));
    const k = heads((attn.key ?? attn.query).forward(h)); // no key projection: queries are keys (shared QK)
    const v = heads(attn.value.forward(h));
    let weights: tf.Tensor; // [H, L(query i), L(source j)] restricted to the query row: [H, L]
    let competition: tf.Tensor; // [H, L]
    let core: tf.Tensor; // [H, Dh] the layer's core output for the query
    if (attn instanceof FlowAttention) {
      const o = attn.flowOptions;
      const eps = o.eps ?? 1e-6;
      const phiQ = applyFeatureMap(q, o.featureMap ?? 'sigmoid'); // [H, L, Dh]
      const phiK = applyFeatureMap(k, o.featureMap ?? 'sigmoid');
      const dot = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(a, b), -1); // rows of a . b -> [H, n]
      const phiQe = tf.add(phiQ, eps);
      const phiKe = tf.add(phiK, eps);
      const outer = o.outerEps ?? 0; // the vision code's extra +eps after each contraction
      const sinkIncoming = tf.div(1, tf.add(dot(phiQe, tf.add(tf.sum(phiK, 1, true), eps)), outer)); // [H, L]
      const sourceOutgoing = tf.div(1, tf.add(dot(phiKe, tf.add(tf.sum(phiQ, 1, true), eps)), outer)); // [H, S]
      const conservedSink = tf.add(dot(phiQe, tf.add(tf.sum(tf.mul(phiK, sourceOutgoing.expandDims(-1)), 1, true), eps)), outer); // [H, L]
      let conservedSource = tf.add(dot(phiKe, tf.add(tf.sum(tf.mul(phiQ, sinkIncoming.expandDims(-1)), 1, true), eps)), outer); // [H, S]
      const clamp = o.clamp === undefined ? 1 : o.clamp;
      if (clamp !== null) conservedSource = tf.clipByValue(conservedSource, -clamp, clamp);
      const sourceCompetition = o.competition === false ? tf.onesLike(conservedSource) : tf.mul(tf.softmax(conservedSource, -1), L); // [H, S]
      const sinkAllocation = o.allocation === false ? tf.onesLike(conservedSink) : tf.sigmoid(conservedSink); // L / S = 1 for self-attention
      const phiQi = tf.slice(phiQ, [0, qi, 0], [-1, 1, -1]); // [H, 1, Dh]
      const capacity = tf.matMul(phiQi, phiK, false, true).reshape([H, L]); // phi(q_i) . phi(k_j)
      const scaleI = tf.mul(tf.slice(sinkAllocation, [0, qi], [-1, 1]), tf.slice(sinkIncoming, [0, qi], [-1, 1])); // [H, 1]
      weights = tf.mul(tf.mul(capacity, sourceCompetition), scaleI); // flow_ij [H, S]
      competition = sourceCompetition;
      core = tf.squeeze(tf.slice(attnCore(attn, q, k, v), [0, qi, 0], [-1, 1, -1]), [1]);
    } else {
      const scale = attn.scale ?? 1 / Math.sqrt(Dh);
      const a = tf.softmax(tf.mul(tf.matMul(q, k, false, true), scale), -1); // [H, L, S]
      weights = tf.squeeze(tf.slice(a, [0, qi, 0], [-1, 1, -1]), [1]);
      competition = tf.mean(a, 1);
      core = tf.squeeze(tf.slice(tf.matMul(a, v), [0, qi, 0], [-1, 1, -1]), [1]);
    }
    const fromFlow = tf.squeeze(tf.matMul(weights.expandDims(1), v), [1]); // sum_j w_ij v_j [H, Dh]
    const cut = (t: tf.Tensor) => tf.slice(t, [0, p.prefix], [-1, p.gridH * p.gridW]);
    return { kind: attn.kind as 'flow' | 'softmax', H, qi, prefix: p.prefix, grid: [p.gridH, p.gridW], w: cut(weights), c: cut(competition), core, fromFlow };
  });
  const rows = (t: tf.Tensor) => {
    const d = t.dataSync() as Float32Array;
    const n = t.shape[1]!;
    return Array.from({ length: t.shape[0]! }, (_, i) => d.slice(i * n, (i + 1) * n));
  };
  const out: FlowMaps = {
    kind: res.kind,
    stage,
    block,
    heads: res.H,
    gridH: res.grid[0]!,
    gridW: res.grid[1]!,
    queryToken: res.qi,
    prefix: res.prefix,
    toQuery: rows(res.w),
    competition: rows(res.c),
    check: { core: res.core.dataSync() as Float32Array, fromFlow: res.fromFlow.dataSync() as Float32Array },
  };
  tf.dispose([res.w, res.c, res.core, res.fromFlow]);
  return out;
}

/** The layer's own core (`flowAttention`, as in its forward) on `[H, L, Dh]` projections, for the consistency check. */
function attnCore(attn: FlowAttention, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): tf.Tensor {
  return tf.squeeze(flowAttention(q.expandDims(0), k.expandDims(0), v.expandDims(0), attn.flowOptions), [0]);
}

/** A blue-cyan-yellow-red ramp (jet-like) for t in [0, 1]. */
function colormap(t: number): [number, number, number] {
  const c = (x: number) => Math.max(0, Math.min(1, x));
  return [255 * c(1.5 - Math.abs(4 * t - 3)), 255 * c(1.5 - Math.abs(4 * t - 2)), 255 * c(1.5 - Math.abs(4 * t - 1))];
}

/** `map` on a gh x gw grid, min-max normalised, bilinearly up-sampled to T x T, 50% over `base` (T x T). */
function overlay(base: RgbImage, map: Float32Array, gh: number, gw: number): RgbImage {
  const T = base.width;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of map) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const span = hi - lo || 1;
  const out: RgbImage = { width: T, height: T, data: new Uint8ClampedArray(base.data) };
  for (let y = 0; y < T; y++) {
    const gy = Math.max(0, Math.min(gh - 1, ((y + 0.5) * gh) / T - 0.5));
    const y0 = Math.floor(gy);
    const y1 = Math.min(gh - 1, y0 + 1);
    const fy = gy - y0;
    for (let x = 0; x < T; x++) {
      const gx = Math.max(0, Math.min(gw - 1, ((x + 0.5) * gw) / T - 0.5));
      const x0 = Math.floor(gx);
      const x1 = Math.min(gw - 1, x0 + 1);
      const fx = gx - x0;
      const m = (r: number, cc: number) => map[r * gw + cc]!;
      const v = (1 - fy) * ((1 - fx) * m(y0, x0) + fx * m(y0, x1)) + fy * ((1 - fx) * m(y1, x0) + fx * m(y1, x1));
      const col = colormap((v - lo) / span);
      const o = (y * T + x) * 3;
      for (let ch = 0; ch < 3; ch++) out.data[o + ch] = 0.5 * base.data[o + ch]! + 0.5 * col[ch]!;
    }
  }
  return out;
}

export interface VisualizeOptions extends FlowMapOptions {
  /** Which checkpoint of the run (default 'best', falling back to 'last'). */
  checkpoint?: 'best' | 'last';
  /** Side of each tile in pixels (default 160). */
  tile?: number;
}

export interface VisualizeResult {
  out: string;
  kind: 'flow' | 'softmax';
  stage: number;
  block: number;
  /** Leading non-image tokens (1 for DeiT's CLS): queryToken < prefix means the CLS query. */
  prefix: number;
  heads: number;
  grid: [number, number];
  queryToken: number;
  /** Top-1 class index and its probability for the image. */
  predicted: { index: number; probability: number };
  width: number;
  height: number;
}

/** `flowformer visualize --run RUN_DIR --image FILE --out FILE.png`. */
export async function visualize(runDir: string, image: string, out: string, opts: VisualizeOptions = {}): Promise<VisualizeResult> {
  const { config } = loadConfig<ImagenetConfig>(path.join(runDir, 'config.yaml'), { task: { name: 'imagenet', schema: imagenetSchemas } });
  let which = opts.checkpoint ?? 'best';
  if (!checkpointExists(path.join(runDir, 'ckpt', which))) {
    if (opts.checkpoint) throw new Error(`visualize: ${runDir} has no ckpt/${which}`);
    which = 'last';
    if (!checkpointExists(path.join(runDir, 'ckpt', which))) throw new Error(`visualize: ${runDir} has no ckpt/best or ckpt/last; train the run first`);
  }
  const ck = loadCheckpoint(path.join(runDir, 'ckpt', which));
  const headBias = ck.weights['head.bias'];
  if (!headBias) {
    disposeCheckpoint(ck);
    throw new Error(`visualize: ${runDir}/ckpt/${which} has no 'head.bias'; is it an imagenet run?`);
  }
  const model = buildImageModel(config, headBias.shape[0]!, new Rng(0));
  try {
    model.loadState(ck.weights);
  } finally {
    disposeCheckpoint(ck);
  }
  try {
    const S = model.imageSize;
    const view = await decodeEval(image, S, config.data.evalCropPct);
    const xa = new Float32Array(S * S * 3);
    normalizeInto(view, xa, 0);
    const x = tf.tensor4d(xa, [1, S, S, 3]);
    const probs = tf.tidy(() => tf.softmax(model.forward(x, { training: false })));
    const pd = probs.dataSync();
    probs.dispose();
    let best = 0;
    for (let i = 1; i < pd.length; i++) if (pd[i]! > pd[best]!) best = i;
    const maps = flowMaps(model, x, opts);
    x.dispose();

    const T = opts.tile ?? 160;
    const up = await sharp(Buffer.from(view.data.buffer, view.data.byteOffset, view.data.byteLength), { raw: { width: S, height: S, channels: 3 } })
      .resize(T, T, { kernel: 'cubic', fit: 'fill' })
      .raw()
      .toBuffer();
    const base: RgbImage = { width: T, height: T, data: new Uint8ClampedArray(up) };
    const cols = maps.heads + 1;
    const W = cols * T;
    const Hpx = 2 * T;
    const canvas = new Uint8ClampedArray(W * Hpx * 3);
    const put = (tile: RgbImage, col: number, row: number) => {
      for (let y = 0; y < T; y++) canvas.set(tile.data.subarray(y * T * 3, (y + 1) * T * 3), ((row * T + y) * W + col * T) * 3);
    };
    // The query marker: a white square over the query's cell (none for CLS).
    const marked: RgbImage = { width: T, height: T, data: new Uint8ClampedArray(base.data) };
    if (maps.queryToken >= maps.prefix) {
      const cell = maps.queryToken - maps.prefix;
      const r = Math.floor(cell / maps.gridW);
      const c = cell % maps.gridW;
      const y0 = Math.floor((r * T) / maps.gridH);
      const y1 = Math.floor(((r + 1) * T) / maps.gridH) - 1;
      const x0 = Math.floor((c * T) / maps.gridW);
      const x1 = Math.floor(((c + 1) * T) / maps.gridW) - 1;
      for (let y = y0; y <= y1; y++) {
        for (let xx = x0; xx <= x1; xx++) {
          if (y === y0 || y === y1 || xx === x0 || xx === x1) marked.data.fill(255, (y * T + xx) * 3, (y * T + xx) * 3 + 3);
        }
      }
    }
    put(marked, 0, 0);
    put(base, 0, 1);
    for (let hh = 0; hh < maps.heads; hh++) {
      put(overlay(base, maps.toQuery[hh]!, maps.gridH, maps.gridW), hh + 1, 0);
      put(overlay(base, maps.competition[hh]!, maps.gridH, maps.gridW), hh + 1, 1);
    }
    await sharp(Buffer.from(canvas.buffer), { raw: { width: W, height: Hpx, channels: 3 } }).png().toFile(out);
    return {
      out,
      kind: maps.kind,
      stage: maps.stage,
      block: maps.block,
      prefix: maps.prefix,
      heads: maps.heads,
      grid: [maps.gridH, maps.gridW],
      queryToken: maps.queryToken,
      predicted: { index: best, probability: pd[best]! },
      width: W,
      height: Hpx,
    };
  } finally {
    model.dispose();
  }
}
