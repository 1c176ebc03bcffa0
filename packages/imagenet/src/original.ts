/**
 * The original vision model (thuml/Flowformer `Flowformer_CV/flowformer.py`, `Flowformer`)
 * and ours (`HierarchicalFlowformer`): its constructor arguments as our config, its parameter
 * names and layouts as ours, and one forward and backward pass on a reference case's inputs
 * (fixtures/golden/models/README.md, "imagenet").
 *
 * What the original computes and ours with the paper config: twelve heads in every stage,
 * Flow-Attention with an extra +1e-6 after each contraction (`model.flowOuterEps`) and the
 * clamp of the conserved source to [-1, 1], LayerScale on the MLP branch only, LayerNorm eps
 * 1e-6, position embedding in stage 0 only, final LayerNorm before the token mean.
 */
import { metaNumber, caseInput, crossEntropy, exportMapped, gradsOf, importMapped, moduleTensors, permute, tapInto, tf, type Dense64, type OriginalCase, type OriginalCaseMeta, type OriginalHooks, type OriginalRun, type ParamMapping, type Rng, type TaskModel } from '@flowformer/core';
import { HierarchicalFlowformer } from './model.ts';

/** Our parameter names -> the original's, for stage widths `dims` and depths `depths`. */
export function imagenetMapping(dims: number[], depths: number[]): ParamMapping[] {
  const m: ParamMapping[] = [
    { ours: 'patchEmbed.kernel', theirs: 'patch_embed.0.proj.weight', layout: 'conv2d' },
    { ours: 'patchEmbed.bias', theirs: 'patch_embed.0.proj.bias', layout: 'same' },
    { ours: 'posEmbed', theirs: 'pos_embed', layout: 'same' },
  ];
  for (let i = 1; i < dims.length; i++) {
    m.push({ ours: `down${i - 1}.kernel`, theirs: `patch_embed.${i}.proj.weight`, layout: 'conv2d' });
    m.push({ ours: `down${i - 1}.bias`, theirs: `patch_embed.${i}.proj.bias`, layout: 'same' });
  }
  for (const [s, C] of dims.entries()) {
    for (let j = 0; j < depths[s]!; j++) {
      const o = `stage${s}.${j}.`;
      const t = `blocks.${s}.${j}.`;
      for (const [ours, theirs] of [['ln1', 'norm1'], ['ln2', 'norm2']] as const) {
        m.push({ ours: `${o}${ours}.weight`, theirs: `${t}${theirs}.weight`, layout: 'same' });
        m.push({ ours: `${o}${ours}.bias`, theirs: `${t}${theirs}.bias`, layout: 'same' });
      }
      // qkv is one Linear(C, 3C): output rows [0, C) are the queries, [C, 2C) the keys, [2C, 3C) the values.
      for (const [w, name] of ['query', 'key', 'value'].entries()) {
        m.push({ ours: `${o}attn.${name}.kernel`, theirs: `${t}attn.qkv.weight`, layout: 'linear', rows: [w * C, (w + 1) * C] });
        m.push({ ours: `${o}attn.${name}.bias`, theirs: `${t}attn.qkv.bias`, layout: 'same', rows: [w * C, (w + 1) * C] });
      }
      m.push({ ours: `${o}attn.out.kernel`, theirs: `${t}attn.proj.weight`, layout: 'linear' });
      m.push({ ours: `${o}attn.out.bias`, theirs: `${t}attn.proj.bias`, layout: 'same' });
      m.push({ ours: `${o}ls2.gamma`, theirs: `${t}gamma`, layout: 'same' }); // LayerScale: MLP branch only
      for (const fc of ['fc1', 'fc2']) {
        m.push({ ours: `${o}mlp.${fc}.kernel`, theirs: `${t}mlp.${fc}.weight`, layout: 'linear' });
        m.push({ ours: `${o}mlp.${fc}.bias`, theirs: `${t}mlp.${fc}.bias`, layout: 'same' });
      }
    }
  }
  m.push({ ours: 'norm.weight', theirs: 'norm.weight', layout: 'same' }, { ours: 'norm.bias', theirs: 'norm.bias', layout: 'same' });
  m.push({ ours: 'head.kernel', theirs: 'head.weight', layout: 'linear' }, { ours: 'head.bias', theirs: 'head.bias', layout: 'same' });
  return m;
}

function asFlowformer(model: TaskModel): HierarchicalFlowformer {
  if (!(model instanceof HierarchicalFlowformer)) throw new Error('imagenet original: the model is not the four-stage Flowformer (model.arch: flowformer)');
  return model;
}

const mappingOf = (f: HierarchicalFlowformer) => imagenetMapping(f.args.dims, f.args.depths);

function numArray(meta: OriginalCaseMeta, key: string): number[] {
  const v = meta.constructor_args[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw new Error(`imagenet original: constructor_args.${key} must be a list of numbers, got ${JSON.stringify(v)}`);
  return v as number[];
}

const num = (meta: OriginalCaseMeta, key: string): number => metaNumber(meta, key, 'imagenet original');

export const imagenetOriginal: OriginalHooks<TaskModel> = {
  classes: ['Flowformer'],

  configFromMeta(meta) {
    const a = meta.constructor_args;
    const img = num(meta, 'img_size');
    const patch = num(meta, 'patch_size');
    const dims = numArray(meta, 'embed_dim');
    const depths = numArray(meta, 'depth');
    const ratios = numArray(meta, 'mlp_ratio');
    if (!ratios.every((r) => r === ratios[0])) throw new Error(`imagenet original: constructor_args.mlp_ratio ${JSON.stringify(ratios)} differs between stages; ours has one model.mlpRatio`);
    // The original's grid sides are [56, 28, 14, 7] * img_size // 224, whatever the patch size; ours img/patch halved.
    for (let i = 0; i < dims.length; i++) {
      const theirs = Math.floor(([56, 28, 14, 7][i]! * img) / 224);
      const ours = Math.floor(img / patch / 2 ** i);
      if (theirs !== ours) throw new Error(`imagenet original: stage ${i} has a ${theirs}x${theirs} grid in the original (from img_size ${img}) but ${ours}x${ours} from patch_size ${patch}; only cases where they agree are supported`);
    }
    // Flow_Attention(dim) keeps its default num_heads = 12 in every stage.
    for (const d of dims) if (d % 12 !== 0) throw new Error(`imagenet original: embed_dim ${d} is not a multiple of the 12 heads the original always uses`);
    const norm = String(a.norm_layer ?? '');
    if (norm && !/eps=1e-0?6/.test(norm)) throw new Error(`imagenet original: norm_layer ${norm} is not LayerNorm with eps 1e-6, the only one ours builds`);
    return {
      model: {
        name: 'flowformer',
        arch: 'flowformer',
        imageSize: img,
        patchSize: patch,
        dims,
        depths,
        heads: dims.map(() => 12),
        mlpRatio: ratios[0],
        dropPath: num(meta, 'drop_path_rate'),
        layerScale: num(meta, 'init_values'),
        flowOuterEps: 1e-6,
        dropout: 0,
      },
      attention: { type: 'flow', clamp: 1 },
      info: { numClasses: num(meta, 'num_classes') },
    };
  },

  buildFromMeta(meta, rng: Rng) {
    const c = this.configFromMeta(meta);
    const m = c.model as Record<string, any>;
    return new HierarchicalFlowformer(rng, {
      imageSize: m.imageSize,
      numClasses: c.info.numClasses as number,
      patchSize: m.patchSize,
      dims: m.dims,
      depths: m.depths,
      heads: m.heads,
      mlpRatio: m.mlpRatio,
      dropPath: m.dropPath,
      layerScale: m.layerScale,
      dropout: m.dropout,
      attention: c.attention as { type: string },
      labelSmoothing: 0,
      flowOuterEps: m.flowOuterEps,
    });
  },

  importWeights(model, state) {
    const f = asFlowformer(model);
    return importMapped(f, mappingOf(f), state);
  },

  exportWeights(model) {
    const f = asFlowformer(model);
    return exportMapped(mappingOf(f), moduleTensors(f));
  },

  runCase(model, c: OriginalCase): OriginalRun {
    const f = asFlowformer(model);
    const intermediates: [string, Dense64][] = [];
    const nchw = caseInput(c, 'input.images');
    const images = tf.transpose(nchw, [0, 2, 3, 1]); // ours is NHWC
    const labels = caseInput(c, 'target.labels');
    try {
      const r = gradsOf(f, { images }, (ins) => {
        const logits = f.forward(ins.images!, { training: false }, tapInto(intermediates));
        return { outputs: { logits }, loss: crossEntropy(logits, labels) };
      });
      const grads: Record<string, Dense64> = Object.fromEntries(exportMapped(mappingOf(f), r.paramGrads));
      const g = r.inputGrads.images!;
      grads['input.images'] = permute(g.data as Float32Array, g.shape, [0, 3, 1, 2]); // back to NCHW
      return { outputs: r.outputs, loss: r.loss, grads, intermediates };
    } finally {
      for (const t of [nchw, images, labels]) t.dispose();
    }
  },
};
