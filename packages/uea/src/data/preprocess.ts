/**
 * Preprocessing of UEA splits, as in the code the paper used (thuml/Flowformer's
 * `Flowformer_TimeSeries`, itself mvts_transformer):
 *
 * 1. missing values are linearly interpolated within each series (each dimension of each
 *    case); leading/trailing gaps take the nearest value (pandas `interpolate(method='linear',
 *    limit_direction='both')`);
 * 2. standardisation per dimension with the mean and the sample std (ddof 1) of every time
 *    step of every TRAIN case used for training (pandas `df.mean()`, `df.std()` over the long
 *    table), `(x - mean) / (std + eps)` with float64 eps, applied to TRAIN, valid and TEST;
 * 3. every case is cut or zero-padded to the TRAIN maximum length L, with a padding mask
 *    (1 = a real step); a TEST case longer than L is truncated (mask all ones), exactly as the
 *    original's `collate_superv(max_len=model.max_len)`;
 * 4. class indices follow the sorted class labels (pandas categorical order: the labels as
 *    strings, sorted by code point), taken from TRAIN; a TEST label unseen in TRAIN is an error
 *    (the original silently re-coded each file on its own, which breaks if the sets differ).
 *
 * The `holdout` protocol carves a stratified validation split from TRAIN (seeded); its
 * statistics then come from the remaining training cases only, as in the original's
 * `val_ratio` path. The padded length stays the whole TRAIN file's maximum.
 */
import { Rng } from '@flowformer/core';
import { UeaFormatError, type RawSplit } from './raw.ts';

/** float64 machine epsilon, numpy's `np.finfo(float).eps`, added to the std as the original does. */
export const STD_EPS = 2.220446049250313e-16;

/** A split as flat arrays ready for batching. */
export interface UeaArrays {
  /** Number of cases N. */
  size: number;
  /** `[N, L, D]` row-major, standardised, zero at padded steps. */
  x: Float32Array;
  /** `[N, L]`, 1 at real steps, 0 at padding. */
  mask: Float32Array;
  /** `[N]` class index into `classes`. */
  y: Int32Array;
  /** `[N]` original series lengths (before padding or truncation). */
  lengths: Int32Array;
}

export interface Standardizer {
  mean: Float64Array; // [D]
  std: Float64Array; // [D]
}

/**
 * Fills NaNs of one series in place by linear interpolation between the nearest valid
 * neighbours; NaNs before the first (after the last) valid value take that value. Returns
 * the number filled, or -1 when the series has no valid value at all (nothing to fill from).
 */
export function interpolateSeries(v: Float64Array): number {
  let filled = 0;
  let prev = -1; // index of the last valid value
  for (let t = 0; t < v.length; t++) {
    if (Number.isNaN(v[t]!)) continue;
    if (t - prev > 1) {
      if (prev < 0) {
        for (let s = 0; s < t; s++) v[s] = v[t]!; // leading gap
      } else {
        const a = v[prev]!;
        const b = v[t]!;
        for (let s = prev + 1; s < t; s++) v[s] = a + ((b - a) * (s - prev)) / (t - prev);
      }
      filled += t - prev - 1;
    }
    prev = t;
  }
  if (prev < 0) return v.length === 0 ? 0 : -1;
  for (let s = prev + 1; s < v.length; s++) v[s] = v[prev]!; // trailing gap
  return filled + (v.length - 1 - prev);
}

/** A copy of the split with every missing value interpolated (the split itself is not changed). */
export function fillMissing(split: RawSplit): RawSplit {
  if (!split.hasMissing) return split;
  const series = split.series.map((dims, i) =>
    dims.map((d, k) => {
      const c = d.slice();
      if (interpolateSeries(c) < 0) {
        throw new UeaFormatError(split.source, split.lines[i]!, `case ${i + 1}, dimension ${k + 1}: every value is missing, so there is nothing to interpolate from`);
      }
      return c;
    }),
  );
  return { ...split, series, hasMissing: false };
}

/** Per-dimension mean and sample std over every time step of the given cases (default: all). */
export function fitStandardizer(split: RawSplit, indices?: ArrayLike<number>): Standardizer {
  const D = split.numDims;
  const idx = indices ?? Int32Array.from({ length: split.series.length }, (_, i) => i);
  const mean = new Float64Array(D);
  const std = new Float64Array(D);
  let count = 0;
  for (let j = 0; j < idx.length; j++) count += split.lengths[idx[j]!]!;
  if (count < 2) throw new Error(`fitStandardizer: need at least 2 time steps to estimate a std, got ${count}`);
  for (let d = 0; d < D; d++) {
    // Two passes in float64: the mean, then the centred sum of squares (stable for EEG-scale offsets).
    let s = 0;
    for (let j = 0; j < idx.length; j++) {
      const v = split.series[idx[j]!]![d]!;
      for (let t = 0; t < v.length; t++) s += v[t]!;
    }
    const m = s / count;
    let ss = 0;
    for (let j = 0; j < idx.length; j++) {
      const v = split.series[idx[j]!]![d]!;
      for (let t = 0; t < v.length; t++) ss += (v[t]! - m) * (v[t]! - m);
    }
    mean[d] = m;
    std[d] = Math.sqrt(ss / (count - 1));
  }
  if (mean.some(Number.isNaN)) throw new Error(`fitStandardizer: ${split.source} still has missing values; call fillMissing first`);
  return { mean, std };
}

/** The sorted distinct labels (pandas categorical order: by code point). */
export function sortedClasses(labels: readonly string[]): string[] {
  return [...new Set(labels)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The longest series among the given cases (default: all). */
export function maxLength(split: RawSplit, indices?: ArrayLike<number>): number {
  let m = 0;
  if (indices) for (let j = 0; j < indices.length; j++) m = Math.max(m, split.lengths[indices[j]!]!);
  else for (const l of split.lengths) m = Math.max(m, l);
  return m;
}

/**
 * Standardises, pads/truncates to `maxLen` and encodes labels of the given cases (default:
 * all, in file order). The split must have no missing values left (see `fillMissing`).
 */
export function toArrays(split: RawSplit, opts: { classes: string[]; maxLen: number; stats: Standardizer; indices?: ArrayLike<number> }): UeaArrays {
  const { classes, maxLen: L, stats } = opts;
  const D = split.numDims;
  if (stats.mean.length !== D) throw new Error(`toArrays: ${split.source} has ${D} dimensions but the statistics were fitted on ${stats.mean.length}`);
  const idx = opts.indices ?? Int32Array.from({ length: split.series.length }, (_, i) => i);
  const N = idx.length;
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const x = new Float32Array(N * L * D);
  const mask = new Float32Array(N * L);
  const y = new Int32Array(N);
  const lengths = new Int32Array(N);
  const scale = Float64Array.from(stats.std, (s) => 1 / (s + STD_EPS));
  for (let n = 0; n < N; n++) {
    const i = idx[n]!;
    const label = split.labels[i]!;
    const c = classIndex.get(label);
    if (c === undefined) {
      throw new UeaFormatError(split.source, split.lines[i]!, `class ${JSON.stringify(label)} does not occur in TRAIN (classes: ${classes.join(', ')}); the model has no output for it`);
    }
    y[n] = c;
    const len = split.lengths[i]!;
    lengths[n] = len;
    const steps = Math.min(len, L);
    for (let d = 0; d < D; d++) {
      const v = split.series[i]![d]!;
      const m = stats.mean[d]!;
      const k = scale[d]!;
      for (let t = 0; t < steps; t++) {
        const val = v[t]!;
        if (Number.isNaN(val)) throw new Error(`toArrays: ${split.source} case ${i + 1} has missing values; call fillMissing first`);
        x[(n * L + t) * D + d] = (val - m) * k;
      }
    }
    for (let t = 0; t < steps; t++) mask[n * L + t] = 1;
  }
  return { size: N, x, mask, y, lengths };
}

/**
 * A stratified split of case indices into train and validation, like scikit-learn's
 * `StratifiedShuffleSplit` (validation size ceil(fraction * N), per-class counts by largest
 * remainder), drawn from `rng`. Each class keeps at least one training case.
 */
export function stratifiedHoldout(labels: ArrayLike<number>, fraction: number, rng: Rng): { train: Int32Array; valid: Int32Array } {
  if (!(fraction > 0 && fraction < 1)) throw new Error(`stratifiedHoldout: fraction must be in (0, 1), got ${fraction}`);
  const N = labels.length;
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < N; i++) {
    const c = labels[i]!;
    if (!byClass.has(c)) byClass.set(c, []);
    byClass.get(c)!.push(i);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const nValid = Math.ceil(fraction * N);
  if (nValid < classes.length || N - nValid < classes.length) {
    throw new Error(`stratifiedHoldout: ${N} cases of ${classes.length} classes cannot be split ${((1 - fraction) * 100).toFixed(0)}/${(fraction * 100).toFixed(0)} with every class on both sides; use a different fraction`);
  }
  // Largest-remainder allocation of nValid over classes, capped so each class keeps a training case.
  const quota = classes.map((c) => (byClass.get(c)!.length * nValid) / N);
  const take = quota.map(Math.floor);
  const cap = classes.map((c) => byClass.get(c)!.length - 1);
  for (let k = 0; k < take.length; k++) take[k] = Math.min(take[k]!, cap[k]!);
  let left = nValid - take.reduce((a, b) => a + b, 0);
  const tieBreak = classes.map(() => rng.next());
  const order = classes.map((_, k) => k).sort((a, b) => quota[b]! - take[b]! - (quota[a]! - take[a]!) || tieBreak[a]! - tieBreak[b]!);
  while (left > 0) {
    let moved = false;
    for (const k of order) {
      if (left === 0) break;
      if (take[k]! < cap[k]!) {
        take[k]!++;
        left--;
        moved = true;
      }
    }
    if (!moved) throw new Error('stratifiedHoldout: cannot allocate the validation cases (every class would lose its last training case)');
  }
  const valid: number[] = [];
  const train: number[] = [];
  classes.forEach((c, k) => {
    const members = rng.shuffle(byClass.get(c)!.slice()) as number[];
    valid.push(...members.slice(0, take[k]));
    train.push(...members.slice(take[k]));
  });
  return { train: Int32Array.from(train.sort((a, b) => a - b)), valid: Int32Array.from(valid.sort((a, b) => a - b)) };
}

export type UeaProtocol = 'paper' | 'holdout';

export interface PrepareArgs {
  /** `paper`: train on all of TRAIN, evaluate on TEST. `holdout`: carve a stratified validation split from TRAIN. */
  protocol: UeaProtocol;
  /** Fraction of TRAIN held out for validation under `holdout` (the original's `val_ratio` default 0.2). */
  validFraction?: number;
  /** Seed of the holdout split. */
  splitSeed?: number;
}

export interface PreparedUea {
  classes: string[];
  /** Padded length L (the TRAIN maximum). */
  maxLen: number;
  numDims: number;
  stats: Standardizer;
  train: UeaArrays;
  /** Only under `holdout`. */
  valid?: UeaArrays;
  test: UeaArrays;
  /** TEST cases longer than L (truncated), for the record. */
  truncatedTest: number;
}

/** The whole pipeline from two raw splits to arrays. */
export function prepareUea(trainRaw: RawSplit, testRaw: RawSplit, args: PrepareArgs): PreparedUea {
  if (testRaw.numDims !== trainRaw.numDims) {
    throw new Error(`UEA splits disagree: ${trainRaw.source} has ${trainRaw.numDims} dimensions but ${testRaw.source} has ${testRaw.numDims}`);
  }
  const train = fillMissing(trainRaw);
  const test = fillMissing(testRaw);
  const classes = sortedClasses(train.labels);
  const maxLen = maxLength(train);
  let trainIdx: Int32Array | undefined;
  let validIdx: Int32Array | undefined;
  if (args.protocol === 'holdout') {
    const classIndex = new Map(classes.map((c, i) => [c, i]));
    const y = Int32Array.from(train.labels, (l) => classIndex.get(l)!);
    ({ train: trainIdx, valid: validIdx } = stratifiedHoldout(y, args.validFraction ?? 0.2, new Rng(args.splitSeed ?? 1337)));
  }
  const stats = fitStandardizer(train, trainIdx);
  const common = { classes, maxLen, stats };
  const testArrays = toArrays(test, common);
  let truncatedTest = 0;
  for (const l of testArrays.lengths) if (l > maxLen) truncatedTest++;
  return {
    classes,
    maxLen,
    numDims: train.numDims,
    stats,
    train: toArrays(train, { ...common, indices: trainIdx }),
    valid: validIdx ? toArrays(train, { ...common, indices: validIdx }) : undefined,
    test: testArrays,
    truncatedTest,
  };
}
