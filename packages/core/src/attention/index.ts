/** Flow-Attention, softmax attention, their layers and the common attention interface. */
export { flowAttention } from './flow.ts';
export {
  DEFAULT_CHUNK_SIZE,
  CAUSAL_IMPLS,
  applyFeatureMap,
  resolveCausalImpl,
  resolveFlowOptions,
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
  type FlowAttentionArgs,
  type SoftmaxAttentionArgs,
  type SoftmaxCacheState,
} from './layer.ts';
export type { AttentionLayer, AttentionLayerArgs, AttentionCallOptions, AttentionModule, RecurrentAttentionLayer } from './types.ts';
