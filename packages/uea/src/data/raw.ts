/**
 * The in-memory form of one split of a UEA dataset, as read from disk and before any
 * preprocessing, plus the error type every UEA reader throws.
 */

/** One split (TRAIN or TEST) of a labelled multivariate time-series dataset. */
export interface RawSplit {
  /** File(s) it was read from, for messages. */
  source: string;
  /** `@problemName` (or `@relation` for ARFF), else the file's base name. */
  problemName: string;
  /** Number of dimensions (channels) D; every case has exactly D. */
  numDims: number;
  /**
   * `series[i][d]`: dimension d of case i, as read (NaN where the file has `?`).
   * All dimensions of one case have the same length.
   */
  series: Float64Array[][];
  /** `lengths[i]`: the number of time steps of case i. */
  lengths: Int32Array;
  /** The class label of each case, as written in the file (e.g. `'1.0'`, `'positivity'`). */
  labels: string[];
  /** Class labels declared in the header (`@classLabel true ...` / the nominal class attribute), in header order. */
  declaredClasses: string[];
  /** 1-based line of each case in its file (the first file for joined ARFF), for messages downstream. */
  lines: Int32Array;
  /** True when at least one value was missing (`?`). */
  hasMissing: boolean;
}

/**
 * A file that does not follow its format. The message always names the file and line and
 * says what was expected, so that a user can open the file at the right place.
 */
export class UeaFormatError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | null,
    readonly detail: string,
  ) {
    super(line === null ? `${file}: ${detail}` : `${file}:${line}: ${detail}`);
    this.name = 'UeaFormatError';
  }
}

/** Shortens a long token for an error message. */
export function show(s: string, max = 40): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}...` : s);
}

/**
 * Parses one numeric value of a series. `?` (the archive's missing marker) and `NaN` (what
 * sktime turns `?` into) give NaN; anything else must be a finite number. Returns undefined
 * when the token is not a number, so the caller can report file and line.
 */
export function parseValue(tok: string): number | undefined {
  if (tok === '?' || tok === 'NaN' || tok === 'nan') return NaN;
  if (tok === '') return undefined;
  const v = Number(tok);
  return Number.isFinite(v) ? v : undefined;
}
