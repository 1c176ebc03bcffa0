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
