/**
 * The original time-series model (thuml/Flowformer `Flowformer_TimeSeries`,
 * `FlowformerClassiregressor`) and ours: its constructor arguments as our config, its
 * parameter names and layouts as ours, and one forward and backward pass on a reference
 * case's inputs (fixtures/golden/models/README.md, "uea").
 *
 * Our `UeaClassifier` with `maskAttention: false` (the paper configs' value) computes what the
 * original computes: padded steps take part in attention, the input projection is scaled by
 * sqrt(d_model), the last layer's norm2 and the encoder's norm come in a row, then a gelu, the
 * padding mask zeroes the final embeddings and the head sees the whole flattened sequence.
 */
import { metaNumber, caseInput, exportMapped, gradsOf, importMapped, moduleTensors, tapInto, attentionFactory, crossEntropy, type Dense64, type OriginalCase, type OriginalCaseMeta, type OriginalHooks, type OriginalRun, type ParamMapping, type Rng, type TaskModel } from '@flowformer/core';
import { UeaClassifier, ueaClassifierOf } from './model.ts';
import type { UeaModelConfig } from './schema.ts';

/** Our parameter names -> the original's, for a classifier of `nLayers` layers. */
export function ueaMapping(nLayers: number, posEncoding: 'learnable' | 'fixed'): ParamMapping[] {
  const m: ParamMapping[] = [
    { ours: 'inputProjection.kernel', theirs: 'project_inp.weight', layout: 'linear' },
    { ours: 'inputProjection.bias', theirs: 'project_inp.bias', layout: 'same' },
  ];
  // learnable: pe is a parameter [max_len, 1, d_model]; fixed: a buffer, our table is computed.
  if (posEncoding === 'learnable') m.push({ ours: 'positions.weight', theirs: 'pos_enc.pe', layout: 'reshape' });
  for (let i = 0; i < nLayers; i++) {
    const o = `blocks.${i}.`;
    const t = `encoder.attn_layers.${i}.`;
    for (const [ours, theirs] of [['query', 'query_projection'], ['key', 'key_projection'], ['value', 'value_projection'], ['out', 'out_projection']] as const) {
      m.push({ ours: `${o}attn.${ours}.kernel`, theirs: `${t}attention.${theirs}.weight`, layout: 'linear' });
      m.push({ ours: `${o}attn.${ours}.bias`, theirs: `${t}attention.${theirs}.bias`, layout: 'same' });
    }
    // The feed-forward is two Conv1d of kernel 1: per-step linears.
    m.push({ ours: `${o}mlp.fc1.kernel`, theirs: `${t}conv1.weight`, layout: 'conv1d-k1' });
    m.push({ ours: `${o}mlp.fc1.bias`, theirs: `${t}conv1.bias`, layout: 'same' });
    m.push({ ours: `${o}mlp.fc2.kernel`, theirs: `${t}conv2.weight`, layout: 'conv1d-k1' });
    m.push({ ours: `${o}mlp.fc2.bias`, theirs: `${t}conv2.bias`, layout: 'same' });
    for (const [ours, theirs] of [['ln1', 'norm1'], ['ln2', 'norm2']] as const) {
      m.push({ ours: `${o}${ours}.weight`, theirs: `${t}${theirs}.weight`, layout: 'same' });
      m.push({ ours: `${o}${ours}.bias`, theirs: `${t}${theirs}.bias`, layout: 'same' });
    }
  }
  m.push({ ours: 'norm.weight', theirs: 'encoder.norm.weight', layout: 'same' });
  m.push({ ours: 'norm.bias', theirs: 'encoder.norm.bias', layout: 'same' });
  // output_layer [C, max_len*d_model], column t*d_model + c: our [B, L, d] reshape has the same order.
  m.push({ ours: 'head.kernel', theirs: 'output_layer.weight', layout: 'linear' });
  m.push({ ours: 'head.bias', theirs: 'output_layer.bias', layout: 'same' });
  return m;
}

function asClassifier(model: TaskModel): UeaClassifier {
  if (!(model instanceof UeaClassifier)) throw new Error('uea original: the model is not a UeaClassifier');
  return model;
}

const num = (meta: OriginalCaseMeta, key: string): number => metaNumber(meta, key, 'uea original');

export const ueaOriginal: OriginalHooks<TaskModel> = {
  classes: ['FlowformerClassiregressor'],

  configFromMeta(meta) {
    const a = meta.constructor_args;
    if (a.activation !== 'gelu' && a.activation !== 'relu') throw new Error(`uea original: constructor_args.activation '${String(a.activation)}' is neither gelu nor relu`);
    if (a.pos_encoding !== 'learnable' && a.pos_encoding !== 'fixed') throw new Error(`uea original: constructor_args.pos_encoding '${String(a.pos_encoding)}' is neither learnable nor fixed`);
    // norm='BatchNorm' is accepted and ignored by the original (every norm is a LayerNorm): nothing to translate.
    return {
      model: {
        name: 'flowformer',
        dModel: num(meta, 'd_model'),
        nHeads: num(meta, 'n_heads'),
        nLayers: num(meta, 'num_layers'),
        dFF: num(meta, 'd_ff'),
        dropout: num(meta, 'dropout'),
        activation: a.activation,
        posEncoding: a.pos_encoding,
        maskAttention: false,
      },
      // The time-series Flow_Attention.py: no clamp, no outer +eps.
      attention: { type: 'flow', clamp: null },
      info: { numDims: num(meta, 'feat_dim'), maxLen: num(meta, 'max_len'), classes: Array.from({ length: num(meta, 'num_classes') }, (_, i) => String(i)) },
    };
  },

  buildFromMeta(meta, rng: Rng) {
    const c = this.configFromMeta(meta);
    const m = c.model as UeaModelConfig;
    const sizes = { numDims: c.info.numDims as number, maxLen: c.info.maxLen as number, numClasses: (c.info.classes as string[]).length };
    return ueaClassifierOf(rng, m, sizes, attentionFactory({ dModel: m.dModel, nHeads: m.nHeads }, c.attention as { type: string }));
  },

  importWeights(model, state) {
    const clf = asClassifier(model);
    const unused: Record<string, string> = {};
    if (clf.args.posEncoding === 'fixed') unused['pos_enc.pe'] = 'a buffer of the fixed encoding; ours computes the same table';
    return importMapped(clf, ueaMapping(clf.args.nLayers, clf.args.posEncoding), state, unused);
  },

  exportWeights(model) {
    const clf = asClassifier(model);
    const { maxLen, dModel } = clf.args;
    return exportMapped(ueaMapping(clf.args.nLayers, clf.args.posEncoding), moduleTensors(clf), { 'pos_enc.pe': [maxLen, 1, dModel] });
  },

  runCase(model, c: OriginalCase): OriginalRun {
    const clf = asClassifier(model);
    const intermediates: [string, Dense64][] = [];
    const x = caseInput(c, 'input.x_enc');
    const mask = caseInput(c, 'input.padding_masks');
    const labels = caseInput(c, 'target.labels');
    try {
      const r = gradsOf(clf, { x_enc: x }, (ins) => {
        const logits = clf.forward(ins.x_enc!, mask, { training: false }, tapInto(intermediates));
        return { outputs: { logits }, loss: crossEntropy(logits, labels) };
      });
      const { maxLen, dModel } = clf.args;
      const grads = Object.fromEntries(exportMapped(ueaMapping(clf.args.nLayers, clf.args.posEncoding), r.paramGrads, { 'pos_enc.pe': [maxLen, 1, dModel] }));
      grads['input.x_enc'] = r.inputGrads.x_enc!;
      return { outputs: r.outputs, loss: r.loss, grads, intermediates };
    } finally {
      x.dispose();
      mask.dispose();
      labels.dispose();
    }
  },
};
