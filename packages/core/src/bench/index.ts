/** Benchmarks (called by `flowformer bench ...`). */
export {
  benchAttention,
  formatAttentionBenchTable,
  estimatePeakBytes,
  BENCH_VARIANTS,
  DEFAULT_BENCH_VARIANTS,
  DEFAULT_BENCH_LENGTHS,
  type BenchVariant,
  type AttentionBenchOptions,
  type AttentionBenchRow,
} from './attention.ts';
export { benchTrainStep, formatStepBenchTable, readStepPeer, stepComparisons, type StepPeer, residentHighWater, BACKWARD_PASSES, type BackwardPass, type StepBenchOptions, type StepBenchRow, type StepBenchResult } from './step.ts';
export { profileStep, formatStepProfile, type StepProfile, type KernelProfileRow, type SavedRow, type SavedTensorRow } from './step-profile.ts';
