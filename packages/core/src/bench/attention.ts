/**
 * The attention efficiency benchmark (issue "The benchmark"): forward + backward time and
 * peak tensor memory of softmax attention and of Flow-Attention (normal, causal parallel,
 * causal chunked, causal fused) as the sequence grows, to show the paper's claim: softmax attention is
 * quadratic in L, Flow-Attention linear in time and memory.
 *
 * Each configuration: inputs q, k, v `[B,H,L,D]` drawn once, `warmup` untimed runs, then
 * `runs` timed runs of forward + backward (gradients of sum(output) w.r.t. q, k, v, read
 * back to the host, with tfjs's backward pass `tf.grads`), the median reported; then one more
 * run under `tf.profile` for the peak of live tensor bytes (inputs included). The trainer's
 * backward pass (train/grads.ts) frees intermediate gradients sooner, so for training these
 * peaks are upper bounds; `bench step` measures a whole step with both passes.
 * Configurations whose estimated peak exceeds `memoryLimitBytes` are skipped, with the
 * estimate in the row's `skipped` reason.
 *
 * The CLI (`flowformer bench attention`) initialises the backend and calls `benchAttention`.
 */
import os from 'node:os';
import { tf } from '../tf.ts';
import { flowAttention } from '../attention/flow.ts';
import { DEFAULT_CHUNK_SIZE } from '../attention/flow-options.ts';
import { softmaxAttention } from '../attention/softmax.ts';

/** What is measured: an attention mechanism in one of its forms. */
export type BenchVariant =
  | 'softmax' // softmax attention, non-causal
  | 'softmax-causal' // softmax attention with the causal mask
  | 'flow' // Flow-Attention, normal form
  | 'flow-causal-parallel' // causal Flow-Attention as the original code ([B,H,L,D,D] prefix sum)
  | 'flow-causal-chunked' // causal Flow-Attention, chunked (the default beyond one chunk)
  | 'flow-causal-fused'; // causal Flow-Attention, one hand-written gradient (the default for L <= chunk size)

export const BENCH_VARIANTS: readonly BenchVariant[] = ['softmax', 'softmax-causal', 'flow', 'flow-causal-parallel', 'flow-causal-chunked', 'flow-causal-fused'];
export const DEFAULT_BENCH_VARIANTS: readonly BenchVariant[] = ['softmax', 'flow', 'flow-causal-parallel', 'flow-causal-chunked'];
export const DEFAULT_BENCH_LENGTHS: readonly number[] = [256, 1024, 4096, 16384];

export interface AttentionBenchOptions {
  /** Sequence lengths L (= S). Default 256, 1024, 4096, 16384. */
  lengths?: readonly number[];
  /** Default: softmax, flow, flow-causal-parallel, flow-causal-chunked. */
  variants?: readonly BenchVariant[];
  /** Batch size. Default 1. */
  B?: number;
  /** Heads. Default 8. */
  H?: number;
  /** Head size (keys and values). Default 64. */
  D?: number;
  /** Timed runs per configuration (the median is reported). Default 5. */
  runs?: number;
  /** Untimed runs first. Default 1. */
  warmup?: number;
  /**
   * Time budget per configuration: if the warm-up run suggests `runs` would take longer,
   * fewer runs are timed (at least 1; `runs` in the row says how many). Default 60 000 ms.
   */
  budgetMs?: number;
  /** Chunk size of the chunked causal form. Default `DEFAULT_CHUNK_SIZE` (128). */
  chunkSize?: number;
  /**
   * Skip a configuration whose estimated peak tensor memory is above this. Default: 3.5 GiB
   * on wasm (its heap cannot exceed 4 GiB), half the machine's memory elsewhere.
   */
  memoryLimitBytes?: number;
  /** Seed of the random inputs. Default 0. */
  seed?: number;
  /** Called after each row (progress output). */
  onRow?: (row: AttentionBenchRow) => void;
}

export interface AttentionBenchRow {
  variant: BenchVariant;
  attention: 'softmax' | 'flow';
  causal: boolean;
  /** 'dense' (softmax), 'normal' (non-causal flow), 'parallel', 'chunked' or 'fused' (causal flow). */
  impl: 'dense' | 'normal' | 'parallel' | 'chunked' | 'fused';
  L: number;
  B: number;
  H: number;
  D: number;
  /** Chunk size (chunked form only). */
  chunkSize?: number;
  backend: string;
  /** Median forward+backward wall time, ms; null when skipped. */
  fwdBwdMs: number | null;
  /** Every timed run, ms. */
  timesMs: number[];
  /** Peak bytes of live tensors during one forward+backward (inputs included); null when skipped. */
  peakBytes: number | null;
  /** Our estimate of peakBytes, used to decide skipping. */
  estimatedPeakBytes: number;
  /** Why the configuration was not run. */
  skipped?: string;
}

const F32 = 4;
/**
 * `[B,H,L,D]`-sized tensors live at the peak of the fused causal form besides its 3 `[B,H,L,L]`:
 * measured 72.7 at D = 64 and 77.6 at D = 8 (where the `[B,H,L,1]` flows weigh more), the
 * same on cpu, wasm and tensorflow. It keeps every intermediate for its backward pass, which
 * is cheap only while L is at most a chunk.
 */
const FUSED_LINEAR = 80;

/**
 * Estimated peak bytes of one forward+backward (inputs included), used to skip what would not
 * fit. Coefficients: peaks measured with `tf.profile` at L = 128..512 (H=8, D=64; wasm and cpu
 * agree), in units of the tensors that dominate, rounded up; test/bench.test.ts checks that
 * they stay upper bounds.
 */
export function estimatePeakBytes(variant: BenchVariant, L: number, B: number, H: number, D: number, chunkSize = DEFAULT_CHUNK_SIZE): number {
  const linear = B * H * L * D * F32; // one [B,H,L,D] tensor
  const quadratic = B * H * L * L * F32; // one [B,H,L,L] tensor
  switch (variant) {
    case 'softmax': // measured 5.0 quadratic + 18 linear
      return 5.5 * quadratic + 20 * linear;
    case 'softmax-causal': // as softmax, plus the [L,L] mask
      return 5.5 * quadratic + 20 * linear + L * L * F32;
    case 'flow': // measured 52-56 linear
      return 58 * linear;
    case 'flow-causal-parallel': // measured 1.9 [B,H,L,D,D] tensors + 34 linear
      return 2 * B * H * L * D * D * F32 + 36 * linear;
    case 'flow-causal-chunked': {
      // [B,H,N,C,C] scores, [B,H,N,D,D] carried states, linear terms: measured 51 linear at
      // C = D = 64 and 55 at C = 16, D = 8
      const C = Math.min(chunkSize, L);
      const N = Math.ceil(L / C);
      return 2 * B * H * N * C * C * F32 + 2 * B * H * N * D * D * F32 + 52 * linear;
    }
    case 'flow-causal-fused': // M and dM [B,H,L,L], the [L,L] mask; linear terms: see test/bench.test.ts
      return 3 * quadratic + L * L * F32 + FUSED_LINEAR * linear;
  }
}

function describeVariant(v: BenchVariant): Pick<AttentionBenchRow, 'attention' | 'causal' | 'impl'> {
  switch (v) {
    case 'softmax':
      return { attention: 'softmax', causal: false, impl: 'dense' };
    case 'softmax-causal':
      return { attention: 'softmax', causal: true, impl: 'dense' };
    case 'flow':
      return { attention: 'flow', causal: false, impl: 'normal' };
    case 'flow-causal-parallel':
      return { attention: 'flow', causal: true, impl: 'parallel' };
    case 'flow-causal-chunked':
      return { attention: 'flow', causal: true, impl: 'chunked' };
    case 'flow-causal-fused':
      return { attention: 'flow', causal: true, impl: 'fused' };
  }
}

function attentionFn(v: BenchVariant, chunkSize: number): (q: tf.Tensor, k: tf.Tensor, val: tf.Tensor) => tf.Tensor {
  switch (v) {
    case 'softmax':
      return (q, k, val) => softmaxAttention(q, k, val);
    case 'softmax-causal':
      return (q, k, val) => softmaxAttention(q, k, val, { causal: true });
    case 'flow':
      return (q, k, val) => flowAttention(q, k, val);
    case 'flow-causal-parallel':
      return (q, k, val) => flowAttention(q, k, val, { causal: true, causalImpl: 'parallel' });
    case 'flow-causal-chunked':
      return (q, k, val) => flowAttention(q, k, val, { causal: true, causalImpl: 'chunked', chunkSize });
    case 'flow-causal-fused':
      return (q, k, val) => flowAttention(q, k, val, { causal: true, causalImpl: 'fused' });
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const fmtBytes = (n: number) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`);

function checkPositiveInt(name: string, x: number): void {
  if (!Number.isInteger(x) || x < 1) throw new Error(`benchAttention: ${name} must be a positive integer, got ${x}`);
}

/** Runs the benchmark on the current backend (initialise it first) and returns one row per configuration. */
export async function benchAttention(options: AttentionBenchOptions = {}): Promise<AttentionBenchRow[]> {
  const lengths = options.lengths ?? DEFAULT_BENCH_LENGTHS;
  const variants = options.variants ?? DEFAULT_BENCH_VARIANTS;
  const B = options.B ?? 1;
  const H = options.H ?? 8;
  const D = options.D ?? 64;
  const runs = options.runs ?? 5;
  const warmup = options.warmup ?? 1;
  const budgetMs = options.budgetMs ?? 60_000;
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const seed = options.seed ?? 0;
  const backend = tf.getBackend();
  const memoryLimitBytes = options.memoryLimitBytes ?? (backend === 'wasm' ? 3.5 * 2 ** 30 : os.totalmem() / 2);
  for (const [name, x] of [['B', B], ['H', H], ['D', D], ['runs', runs], ['chunkSize', chunkSize]] as const) checkPositiveInt(name, x);
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`benchAttention: warmup must be an integer >= 0, got ${warmup}`);
  for (const L of lengths) checkPositiveInt('every length', L);
  for (const v of variants) {
    if (!BENCH_VARIANTS.includes(v)) throw new Error(`benchAttention: unknown variant '${v}'; known: ${BENCH_VARIANTS.join(', ')}`);
  }

  const rows: AttentionBenchRow[] = [];
  for (const variant of variants) {
    for (const L of lengths) {
      const estimatedPeakBytes = estimatePeakBytes(variant, L, B, H, D, chunkSize);
      const row: AttentionBenchRow = {
        variant,
        ...describeVariant(variant),
        L,
        B,
        H,
        D,
        ...(variant === 'flow-causal-chunked' ? { chunkSize } : {}),
        backend,
        fwdBwdMs: null,
        timesMs: [],
        peakBytes: null,
        estimatedPeakBytes,
      };
      if (estimatedPeakBytes > memoryLimitBytes) {
        row.skipped = `estimated peak ${fmtBytes(estimatedPeakBytes)} > limit ${fmtBytes(memoryLimitBytes)}${backend === 'wasm' ? ' (the wasm heap is at most 4 GiB)' : ''}`;
      } else {
        try {
          Object.assign(row, await measure(attentionFn(variant, chunkSize), { B, H, L, D, runs, warmup, budgetMs, seed }));
        } catch (e) {
          // e.g. an allocation the estimate did not foresee: report it, keep going
          row.skipped = `failed: ${e instanceof Error ? e.message : String(e)}`;
        }
      }
      rows.push(row);
      options.onRow?.(row);
    }
  }
  return rows;
}

async function measure(
  attend: (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor,
  p: { B: number; H: number; L: number; D: number; runs: number; warmup: number; budgetMs: number; seed: number },
): Promise<Pick<AttentionBenchRow, 'fwdBwdMs' | 'timesMs' | 'peakBytes'>> {
  const baseBytes = tf.memory().numBytes;
  const shape = [p.B, p.H, p.L, p.D];
  const q = tf.randomNormal(shape, 0, 1, 'float32', p.seed);
  const k = tf.randomNormal(shape, 0, 1, 'float32', p.seed + 1);
  const v = tf.randomNormal(shape, 0, 1, 'float32', p.seed + 2);
  const fwdBwd = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => attend(a, b, c));
  const once = async (): Promise<number> => {
    const t0 = performance.now();
    const grads = fwdBwd([q, k, v]);
    await Promise.all(grads.map((g) => g.data())); // the work is done when the gradients are on the host
    const ms = performance.now() - t0;
    tf.dispose(grads);
    return ms;
  };
  try {
    let last = 0;
    for (let i = 0; i < p.warmup; i++) last = await once();
    let n = p.runs;
    if (p.warmup > 0 && last * p.runs > p.budgetMs) n = Math.max(1, Math.floor(p.budgetMs / last));
    const timesMs: number[] = [];
    for (let i = 0; i < n; i++) timesMs.push(await once());
    // Peak of live tensor bytes, measured by the engine over one more forward+backward.
    const info = await tf.profile(() => {
      const grads = fwdBwd([q, k, v]);
      tf.dispose(grads);
    });
    return { fwdBwdMs: median(timesMs), timesMs, peakBytes: info.peakBytes - baseBytes };
  } finally {
    tf.dispose([q, k, v]);
  }
}

/** Growth exponent of time between consecutive lengths: log(t2/t1)/log(L2/L1) (1 = linear, 2 = quadratic). */
function slopes(rows: AttentionBenchRow[]): Map<AttentionBenchRow, number> {
  const out = new Map<AttentionBenchRow, number>();
  const byVariant = new Map<string, AttentionBenchRow[]>();
  for (const r of rows) {
    const key = `${r.variant}/${r.B}/${r.H}/${r.D}/${r.chunkSize ?? ''}/${r.backend}`;
    byVariant.set(key, [...(byVariant.get(key) ?? []), r]);
  }
  for (const rs of byVariant.values()) {
    const done = rs.filter((r) => r.fwdBwdMs != null).sort((a, b) => a.L - b.L);
    for (let i = 1; i < done.length; i++) {
      const [a, b] = [done[i - 1]!, done[i]!];
      if (a.L === b.L) continue;
      out.set(b, Math.log(b.fwdBwdMs! / a.fwdBwdMs!) / Math.log(b.L / a.L));
    }
  }
  return out;
}

/** A markdown table of the rows (time, memory, growth exponent of time, skip reasons). */
export function formatAttentionBenchTable(rows: AttentionBenchRow[]): string {
  const slope = slopes(rows);
  const lines = [
    '| attention | causal | impl | L | B | H | D | backend | fwd+bwd ms | peak MiB | time growth (L^x) | note |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |',
  ];
  for (const r of rows) {
    const impl = r.impl === 'chunked' ? `chunked (C=${r.chunkSize})` : r.impl;
    const ms = r.fwdBwdMs == null ? '-' : r.fwdBwdMs >= 100 ? r.fwdBwdMs.toFixed(0) : r.fwdBwdMs.toFixed(1);
    const mib = r.peakBytes == null ? '-' : (r.peakBytes / 2 ** 20).toFixed(1);
    const s = slope.get(r);
    const note = r.skipped ? `skipped: ${r.skipped}` : r.timesMs.length ? `median of ${r.timesMs.length}` : '';
    lines.push(`| ${r.attention} | ${r.causal ? 'yes' : 'no'} | ${impl} | ${r.L} | ${r.B} | ${r.H} | ${r.D} | ${r.backend} | ${ms} | ${mib} | ${s == null ? '-' : s.toFixed(2)} | ${note} |`);
  }
  return lines.join('\n') + '\n';
}
