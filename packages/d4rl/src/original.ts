/**
 * The original offline-RL model (thuml/Flowformer `Flowformer_RL`, `DecisionTransformer`
 * with causal Flow-Attention in GPT-2 blocks) and ours: its constructor arguments as our
 * config, its parameter names and layouts as ours, and one forward and backward pass on a
 * reference case's inputs (fixtures/golden/models/README.md, "d4rl").
 *
 * Our `DecisionTransformer` computes what the original computes: the attention mask is not
 * passed to the attention (the original's Flow-Attention never reads it; it only selects the
 * loss rows), the causal flows are normalised by the token count, the competition is
 * exp(source) / cumsum(exp(source)) * n without max subtraction, bounded by the clamp to
 * +-10, and there is no positional embedding besides the timestep embedding.
 */
import { metaNumber, caseInput, exportMapped, gradsOf, importMapped, maskedMse, moduleTensors, tapInto, type Dense64, type OriginalCase, type OriginalCaseMeta, type OriginalHooks, type OriginalRun, type ParamMapping, type Rng, type TaskModel, type tf } from '@flowformer/core';
import { DecisionTransformer } from './model.ts';

/** Original parameters our model never has, and why. */
const UNUSED: Record<string, string> = {
  'transformer.wte.weight': "GPT-2's token embedding; the Decision Transformer feeds inputs_embeds, so it is never read",
};

/** Our parameter names -> the original's. */
export function d4rlMapping(nLayers: number, stateReturnHeads: boolean): ParamMapping[] {
  const m: ParamMapping[] = [{ ours: 'embedTimestep.weight', theirs: 'embed_timestep.weight', layout: 'same' }];
  for (const [ours, theirs] of [['embedReturn', 'embed_return'], ['embedState', 'embed_state'], ['embedAction', 'embed_action']] as const) {
    m.push({ ours: `${ours}.kernel`, theirs: `${theirs}.weight`, layout: 'linear' });
    m.push({ ours: `${ours}.bias`, theirs: `${theirs}.bias`, layout: 'same' });
  }
  m.push({ ours: 'embedLn.weight', theirs: 'embed_ln.weight', layout: 'same' }, { ours: 'embedLn.bias', theirs: 'embed_ln.bias', layout: 'same' });
  for (let i = 0; i < nLayers; i++) {
    const o = `blocks.${i}.`;
    const t = `transformer.h.${i}.`;
    for (const [ours, theirs] of [['ln1', 'ln_1'], ['ln2', 'ln_2']] as const) {
      m.push({ ours: `${o}${ours}.weight`, theirs: `${t}${theirs}.weight`, layout: 'same' });
      m.push({ ours: `${o}${ours}.bias`, theirs: `${t}${theirs}.bias`, layout: 'same' });
    }
    // The attention's projections are nn.Linear [out, in] ...
    for (const [ours, theirs] of [['query', 'query_projection'], ['key', 'key_projection'], ['value', 'value_projection'], ['out', 'out_projection']] as const) {
      m.push({ ours: `${o}attn.${ours}.kernel`, theirs: `${t}attn.att.${theirs}.weight`, layout: 'linear' });
      m.push({ ours: `${o}attn.${ours}.bias`, theirs: `${t}attn.att.${theirs}.bias`, layout: 'same' });
    }
    // ... while the MLP is GPT-2's Conv1D, [in, out] like our Dense.
    for (const [ours, theirs] of [['fc1', 'c_fc'], ['fc2', 'c_proj']] as const) {
      m.push({ ours: `${o}mlp.${ours}.kernel`, theirs: `${t}mlp.${theirs}.weight`, layout: 'same' });
      m.push({ ours: `${o}mlp.${ours}.bias`, theirs: `${t}mlp.${theirs}.bias`, layout: 'same' });
    }
  }
  m.push({ ours: 'lnF.weight', theirs: 'transformer.ln_f.weight', layout: 'same' }, { ours: 'lnF.bias', theirs: 'transformer.ln_f.bias', layout: 'same' });
  const heads: [string, string][] = [['predictAction', 'predict_action.0']];
  if (stateReturnHeads) heads.push(['predictState', 'predict_state'], ['predictReturn', 'predict_return']);
  for (const [ours, theirs] of heads) {
    m.push({ ours: `${ours}.kernel`, theirs: `${theirs}.weight`, layout: 'linear' });
    m.push({ ours: `${ours}.bias`, theirs: `${theirs}.bias`, layout: 'same' });
  }
  return m;
}

function asDt(model: TaskModel): DecisionTransformer {
  if (!(model instanceof DecisionTransformer)) throw new Error('d4rl original: the model is not a DecisionTransformer');
  return model;
}

const num = (meta: OriginalCaseMeta, key: string): number => metaNumber(meta, key, 'd4rl original');

/** Original parameters a model of ours does not hold (wte always; the state/return heads without `stateReturnHeads`). */
function unusedFor(dt: DecisionTransformer): Record<string, string> {
  const u = { ...UNUSED };
  if (!dt.predictState) {
    const why = 'a head no loss reads; set model.stateReturnHeads: true to load it';
    for (const n of ['predict_state.weight', 'predict_state.bias', 'predict_return.weight', 'predict_return.bias']) u[n] = why;
  }
  return u;
}

export const d4rlOriginal: OriginalHooks<TaskModel> = {
  classes: ['DecisionTransformer'],

  configFromMeta(meta) {
    const a = meta.constructor_args;
    const hidden = num(meta, 'hidden_size');
    const nInner = a.n_inner ?? 4 * hidden;
    if (nInner !== 4 * hidden) throw new Error(`d4rl original: constructor_args.n_inner ${String(nInner)} is not 4 * hidden_size (${4 * hidden}); our GPT-2 MLP is 4x wide`);
    const act = a.activation_function;
    if (act !== 'relu' && act !== 'gelu') throw new Error(`d4rl original: constructor_args.activation_function '${String(act)}' is not relu or gelu`);
    if (a.action_tanh === false) throw new Error('d4rl original: action_tanh false is not supported (our action head ends in tanh, as the default)');
    return {
      model: {
        name: 'flowformer',
        hiddenSize: hidden,
        nLayers: num(meta, 'n_layer'),
        nHeads: num(meta, 'n_head'),
        // resid_pdrop: embeddings, attention output and MLP output (eval mode: off)
        dropout: num(meta, 'resid_pdrop'),
        activation: act,
        maxEpisodeLength: num(meta, 'max_ep_len'),
        stateReturnHeads: true,
      },
      // flowformer_attention.py: causal, clamp 10 (the causal form counts tokens and has no max subtraction)
      attention: { type: 'flow', clamp: 10 },
      info: { obsDim: num(meta, 'state_dim'), actDim: num(meta, 'act_dim'), contextLength: num(meta, 'max_length') },
    };
  },

  buildFromMeta(meta, rng: Rng) {
    const c = this.configFromMeta(meta);
    const { name: _name, ...m } = c.model as Record<string, any>;
    return new DecisionTransformer(rng, { ...(m as any), stateDim: c.info.obsDim as number, actDim: c.info.actDim as number, attention: c.attention as { type: string } });
  },

  importWeights(model, state) {
    const dt = asDt(model);
    return importMapped(dt, d4rlMapping(dt.args.nLayers, dt.predictState !== null), state, unusedFor(dt));
  },

  exportWeights(model) {
    const dt = asDt(model);
    return exportMapped(d4rlMapping(dt.args.nLayers, dt.predictState !== null), moduleTensors(dt));
  },

  runCase(model, c: OriginalCase): OriginalRun {
    const dt = asDt(model);
    const intermediates: [string, Dense64][] = [];
    const names = ['states', 'actions', 'returns_to_go'] as const;
    const inputs = Object.fromEntries(names.map((n) => [n, caseInput(c, `input.${n}`)]));
    const timesteps = caseInput(c, 'input.timesteps');
    const mask = caseInput(c, 'input.attention_mask');
    const target = caseInput(c, 'target.actions');
    try {
      const r = gradsOf(dt, inputs, (ins) => {
        // The mask selects the loss rows only: the original's attention never reads it.
        const p = dt.predict(ins.states!, ins.actions!, ins.returns_to_go!, timesteps, { training: false }, tapInto(intermediates));
        const outputs: Record<string, tf.Tensor> = { action_preds: p.actions };
        if (p.states) outputs.state_preds = p.states;
        if (p.returns) outputs.return_preds = p.returns;
        return { outputs, loss: maskedMse(p.actions, target, mask) };
      });
      const grads: Record<string, Dense64> = Object.fromEntries(exportMapped(d4rlMapping(dt.args.nLayers, dt.predictState !== null), r.paramGrads));
      // Parameters the original has and ours does not cannot reach our loss: zero.
      for (const n of Object.keys(unusedFor(dt))) {
        const t = c.tensors.get(`param.${n}`);
        if (t) grads[n] = { shape: t.shape, data: new Float32Array(t.data.length) };
      }
      for (const n of names) grads[`input.${n}`] = r.inputGrads[n]!;
      return { outputs: r.outputs, loss: r.loss, grads, intermediates };
    } finally {
      for (const t of [...Object.values(inputs), timesteps, mask, target]) t.dispose();
    }
  },
};
