/**
 * Re-initialising a built model, for recipes whose init differs from PyTorch's per-layer
 * defaults (timm/DeiT and the Flowformer vision code call `model.apply(_init_weights)`
 * after construction).
 */
import { tf } from '../tf.ts';
import type { Rng } from '../rng.ts';
import { truncatedNormal } from './init.ts';
import type { Module, ParamInfo } from './module.ts';

/**
 * Calls `rule` on every parameter (in `namedParams` order, so the draws are reproducible);
 * a returned tensor replaces the parameter's value (same shape), null leaves it.
 */
export function reinitialize(module: Module, rule: (p: ParamInfo) => tf.Tensor | null): void {
  for (const p of module.namedParams()) {
    const t = rule(p);
    if (!t) continue;
    if (t.shape.join(',') !== p.variable.shape.join(',')) {
      throw new Error(`reinitialize: '${p.name}' has shape [${p.variable.shape}] but the rule returned [${t.shape}]`);
    }
    p.variable.assign(t);
    t.dispose();
  }
}

/**
 * timm's `_init_weights` for vision transformers: every Dense kernel (`*.kernel` of rank 2)
 * from a normal truncated at +-2 std (std 0.02), its bias zero. LayerNorms are already
 * weight 1, bias 0; convolutions and embeddings keep their own init, as in timm.
 */
export function applyTimmInit(module: Module, rng: Rng, std = 0.02): void {
  const params = module.namedParams();
  const denseBias = new Set(
    params.filter((p) => p.name.endsWith('kernel') && p.variable.rank === 2).map((p) => p.name.slice(0, -'kernel'.length) + 'bias'),
  );
  reinitialize(module, (p) => {
    if (p.name.endsWith('kernel') && p.variable.rank === 2) return truncatedNormal(rng, p.variable.shape, std);
    if (denseBias.has(p.name)) return tf.zeros(p.variable.shape);
    return null;
  });
}
