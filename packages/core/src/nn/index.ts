/**
 * Model layers and transformer blocks, plus the baseline attentions and the attention
 * registry (one barrel, so `src/index.ts` re-exports it in one line).
 */
export { LayerNorm, type LayerNormArgs } from './layer-norm.ts';
export {
  Embedding,
  LearnedPositions,
  SinusoidalPositions,
  sinusoidalTable,
  type EmbeddingArgs,
  type LearnedPositionsArgs,
  type SinusoidalPositionsArgs,
  type SinusoidLayout,
} from './embedding.ts';
export { dropout, dropPath, seededDropout, Dropout, DropPath } from './dropout.ts';
export { LayerScale, type LayerScaleArgs } from './layer-scale.ts';
export { Conv2d, type Conv2dArgs } from './conv2d.ts';
export { activation, gelu, geluTanh, ACTIVATIONS, type ActivationName } from './activations.ts';
export { MLP, type MLPArgs } from './mlp.ts';
export {
  EncoderBlock,
  DecoderBlock,
  type AttentionFactory,
  type BlockArgs,
  type BlockNorm,
  type EncoderBlockArgs,
} from './blocks.ts';
export { MultiHeadAttention, splitHeads, mergeHeads, type Projected, type MultiHeadOptions } from './multihead.ts';
export { checkGradients, relError, type GradCheckResult } from './gradcheck.ts';

export { LinearAttention, linearAttentionCore, maskKeys, type LinearAttentionOptions, type LinearAttentionState, type LinearCoreOptions } from '../attention/linear.ts';
export { CosformerAttention, type CosformerOptions } from '../attention/cosformer.ts';
export { PerformerAttention, orthogonalRandomFeatures, softmaxKernelFeatures, type PerformerOptions } from '../attention/performer.ts';
export { ReformerAttention, type ReformerOptions } from '../attention/reformer.ts';
export { MobileAttention, mobileAttention, type MobileOptions } from '../attention/mobile.ts';
export {
  registerAttention,
  getAttention,
  parseAttentionConfig,
  buildAttention,
  attentionFactory,
  listAttentions,
  formatAttentionList,
  type AttentionSpec,
  type AttentionInfo,
  type AttentionOptionInfo,
} from '../attention/registry.ts';
export { detachedMax, logSumExp } from './ops.ts';
export { reinitialize, applyTimmInit } from './reinit.ts';
