/**
 * Every attention: Flow-Attention and the baselines, their kernels and layers, the multi-head
 * base class, the transformer blocks built on any of them, and the registry of their options.
 */
export { flowAttention } from './flow.ts';
export {
  DEFAULT_CHUNK_SIZE,
  CAUSAL_IMPLS,
  applyFeatureMap,
  resolveCausalImpl,
  resolveFlowOptions,
  flowOptionsSchema,
  type FlowOptions,
  type FlowAttentionOptions,
  type ResolvedFlowOptions,
  type FeatureMap,
  type CompetitionAxis,
  type CausalImpl,
} from './flow-options.ts';
export {
  flowAttentionCausal,
  causalDotProductParallel,
  causalDotProductChunked,
  flowCausalInit,
  flowCausalStep,
  disposeFlowCausalState,
  type FlowCausalState,
} from './flow-causal.ts';
export { flowAttentionCausalFused } from './flow-causal-fused.ts';
export { prefixSum, type PrefixSumOptions } from './prefix-sum.ts';
export { softmaxAttention, type SoftmaxAttentionOptions } from './softmax.ts';
export {
  FlowAttention,
  SoftmaxAttention,
  softmaxOptionsSchema,
  type FlowAttentionArgs,
  type SoftmaxAttentionArgs,
  type SoftmaxCacheState,
} from './layer.ts';
export type { AttentionLayer, AttentionLayerArgs, AttentionCallOptions, AttentionModule, RecurrentAttentionLayer } from './types.ts';
export {
  EncoderBlock,
  DecoderBlock,
  type AttentionFactory,
  type BlockArgs,
  type BlockNorm,
  type EncoderBlockArgs,
} from './blocks.ts';
export { MultiHeadAttention, splitHeads, mergeHeads, type Projected, type MultiHeadOptions } from './multihead.ts';
export { LinearAttention, linearOptionsSchema, linearAttentionCore, maskKeys, type LinearAttentionOptions, type LinearAttentionState, type LinearCoreOptions } from './linear.ts';
export { CosformerAttention, cosformerOptionsSchema, type CosformerOptions } from './cosformer.ts';
export { PerformerAttention, performerOptionsSchema, orthogonalRandomFeatures, softmaxKernelFeatures, type PerformerOptions } from './performer.ts';
export { ReformerAttention, reformerOptionsSchema, type ReformerOptions } from './reformer.ts';
export { MobileAttention, mobileOptionsSchema, mobileAttention, type MobileOptions } from './mobile.ts';
export {
  ATTENTIONS,
  attentionTypes,
  attentionConfigSchema,
  getAttention,
  parseAttentionConfig,
  buildAttention,
  attentionFactory,
  listAttentions,
  formatAttentionList,
  type AttentionSpec,
  type AttentionInfo,
  type AttentionOptionInfo,
} from './registry.ts';
export { parseOptions, withoutDefaults } from './options.ts';
