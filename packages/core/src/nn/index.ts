/** Model layers below attention: dense, embeddings, norms, dropout, MLP, init, gradient check. */
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
export { checkGradients, relError, type GradCheckResult } from './gradcheck.ts';
export { addKeepingNothing, detachedMax, logSumExp, mulByConstant, scaleBy } from './ops.ts';
export { reinitialize, applyTimmInit } from './reinit.ts';
export { recomputed } from './recompute.ts';
