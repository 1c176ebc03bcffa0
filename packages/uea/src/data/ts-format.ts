/**
 * Reader for the sktime/UEA `.ts` format, the archive's main multivariate format:
 *
 *   # comment lines
 *   @problemName JapaneseVowels
 *   @timeStamps false
 *   @missing false
 *   @univariate false
 *   @dimensions 12
 *   @equalLength false
 *   @seriesLength 29          (only when @equalLength true)
 *   @classLabel true 1 2 3 4 5 6 7 8 9
 *   @data
 *   1.86,1.89,...:-0.20,-0.19,...:...:1      one case per line: dimensions separated by ':',
 *                                              values by ',', the class label last; '?' = missing
 *
 * Tags are case-insensitive (sktime lower-cases them). The reader is strict: a line that does
 * not fit is an error naming file, line and what was expected; nothing is dropped or padded.
 * Timestamped data (`@timeStamps true`, values like `(t, v)`) and regression targets are not
 * supported and say so.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseValue, show, UeaFormatError, type RawSplit } from './raw.ts';

interface TsHeader {
  problemName?: string;
  timeStamps?: boolean;
  missing?: boolean;
  univariate?: boolean;
  dimensions?: number;
  equalLength?: boolean;
  seriesLength?: number;
  classLabel?: string[];
}

const KNOWN_TAGS = [
  '@problemName',
  '@timeStamps',
  '@missing',
  '@univariate',
  '@dimensions',
  '@equalLength',
  '@seriesLength',
  '@classLabel',
  '@data',
];

/** Reads and parses a `.ts` file. */
export function readTsFile(path: string): RawSplit {
  return parseTs(readFileSync(path, 'utf8'), path);
}

/** Parses the text of a `.ts` file; `file` is used in messages only. */
export function parseTs(text: string, file: string): RawSplit {
  const lines = text.split(/\r?\n/);
  const header: TsHeader = {};
  const seen = new Set<string>();
  const err = (lineNo: number | null, detail: string) => new UeaFormatError(file, lineNo, detail);

  const parseBool = (tag: string, rest: string[], lineNo: number): boolean => {
    const v = rest[0]?.toLowerCase();
    if (rest.length !== 1 || (v !== 'true' && v !== 'false')) {
      throw err(lineNo, `expected '${tag} true' or '${tag} false', found ${show(rest.join(' '))}`);
    }
    return v === 'true';
  };
  const parseCount = (tag: string, rest: string[], lineNo: number): number => {
    const n = rest.length === 1 ? Number(rest[0]) : NaN;
    if (!Number.isInteger(n) || n < 1) throw err(lineNo, `expected '${tag} <positive integer>', found ${show(rest.join(' '))}`);
    return n;
  };

  // --- header -------------------------------------------------------------------------
  let i = 0;
  let dataLine = -1;
  for (; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (!line.startsWith('@')) {
      throw err(lineNo, `expected a header tag (${KNOWN_TAGS.join(', ')}) or a '#' comment before @data, found ${show(line)}`);
    }
    const [tagRaw, ...rest] = line.split(/\s+/);
    const tag = tagRaw!.toLowerCase();
    if (seen.has(tag)) throw err(lineNo, `duplicate header tag ${tagRaw}`);
    seen.add(tag);
    switch (tag) {
      case '@problemname':
        if (rest.length < 1) throw err(lineNo, `expected '@problemName <name>'`);
        header.problemName = rest.join(' ');
        break;
      case '@timestamps':
        header.timeStamps = parseBool('@timeStamps', rest, lineNo);
        if (header.timeStamps) {
          throw err(
            lineNo,
            `timestamped series (@timeStamps true, values written as '(time,value)') are not supported; ` +
              `the UEA classification datasets are all untimestamped: use the archive's '@timeStamps false' files`,
          );
        }
        break;
      case '@missing':
        header.missing = parseBool('@missing', rest, lineNo);
        break;
      case '@univariate':
        header.univariate = parseBool('@univariate', rest, lineNo);
        break;
      case '@dimensions':
      case '@dimension':
        header.dimensions = parseCount('@dimensions', rest, lineNo);
        break;
      case '@equallength':
        header.equalLength = parseBool('@equalLength', rest, lineNo);
        break;
      case '@serieslength':
        header.seriesLength = parseCount('@seriesLength', rest, lineNo);
        break;
      case '@classlabel': {
        const on = rest[0]?.toLowerCase();
        if (on === 'false') {
          throw err(lineNo, `'@classLabel false': this file has no class labels, but classification needs them (expected '@classLabel true <label> ...')`);
        }
        if (on !== 'true' || rest.length < 2) {
          throw err(lineNo, `expected '@classLabel true <label> <label> ...', found ${show(line)}`);
        }
        header.classLabel = rest.slice(1);
        if (new Set(header.classLabel).size !== header.classLabel.length) throw err(lineNo, `@classLabel lists a label twice`);
        break;
      }
      case '@targetlabel':
        throw err(lineNo, `'@targetLabel' marks a regression file; the UEA task reads classification files ('@classLabel true ...')`);
      case '@data':
        dataLine = lineNo;
        break;
      default:
        throw err(lineNo, `unknown header tag ${show(tagRaw!)}; expected one of ${KNOWN_TAGS.join(', ')}`);
    }
    if (dataLine >= 0) {
      i++;
      break;
    }
  }
  if (dataLine < 0) throw err(null, `no '@data' line: expected a header ending with @data, then one case per line`);
  if (!header.classLabel) throw err(dataLine, `expected '@classLabel true <label> ...' before @data`);
  if (header.univariate === true && header.dimensions !== undefined && header.dimensions !== 1) {
    throw err(dataLine, `header says '@univariate true' but '@dimensions ${header.dimensions}'`);
  }
  const classes = new Set(header.classLabel);
  let numDims = header.dimensions ?? (header.univariate ? 1 : -1);

  // --- data ---------------------------------------------------------------------------
  const series: Float64Array[][] = [];
  const labels: string[] = [];
  const caseLines: number[] = [];
  let hasMissing = false;
  for (; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('@')) throw err(lineNo, `header tag ${show(line.split(/\s+/)[0]!)} after @data; expected a case (values:...:label)`);
    if (line.includes('(')) {
      throw err(lineNo, `found '(' : this looks like timestamped data, but the header says '@timeStamps false' (or has no @timeStamps); timestamped series are not supported`);
    }
    const parts = line.split(':');
    if (parts.length < 2) throw err(lineNo, `expected '<values>:...:<values>:<label>' (dimensions separated by ':', class label last), found no ':'`);
    const label = parts.pop()!.trim();
    if (!classes.has(label)) {
      throw err(lineNo, `class label ${show(label)} is not declared in @classLabel (${header.classLabel.join(' ')})`);
    }
    if (numDims < 0) numDims = parts.length;
    if (parts.length !== numDims) {
      throw err(
        lineNo,
        `expected ${numDims} dimension${numDims === 1 ? '' : 's'} before the label (${header.dimensions !== undefined ? 'from @dimensions' : 'as in the first case'}), found ${parts.length}`,
      );
    }
    const dims: Float64Array[] = [];
    for (let d = 0; d < parts.length; d++) {
      const s = parts[d]!.trim();
      if (s === '') throw err(lineNo, `dimension ${d + 1} is empty; expected comma-separated values`);
      const toks = s.split(',');
      const arr = new Float64Array(toks.length);
      for (let t = 0; t < toks.length; t++) {
        const tok = toks[t]!.trim();
        const v = parseValue(tok);
        if (v === undefined) {
          throw err(lineNo, `dimension ${d + 1}, value ${t + 1}: expected a number or '?', found ${show(tok)}`);
        }
        if (Number.isNaN(v)) {
          if (header.missing === false) {
            throw err(lineNo, `dimension ${d + 1}, value ${t + 1}: missing value ${show(tok)} but the header says '@missing false'`);
          }
          hasMissing = true;
        }
        arr[t] = v;
      }
      if (d > 0 && arr.length !== dims[0]!.length) {
        throw err(
          lineNo,
          `dimension ${d + 1} has ${arr.length} values but dimension 1 has ${dims[0]!.length}; all dimensions of a case must have the same length`,
        );
      }
      dims.push(arr);
    }
    const len = dims[0]!.length;
    if (header.equalLength === true) {
      const want = header.seriesLength ?? series[0]?.[0]!.length ?? len;
      if (len !== want) {
        throw err(lineNo, `series length ${len}, but the header says '@equalLength true'${header.seriesLength !== undefined ? ` and '@seriesLength ${want}'` : ` and the first case has ${want}`}`);
      }
    }
    series.push(dims);
    labels.push(label);
    caseLines.push(lineNo);
  }
  if (series.length === 0) throw err(dataLine, `no cases after @data; expected one case per line`);

  return {
    source: file,
    problemName: header.problemName ?? basename(file).replace(/_(TRAIN|TEST)\.ts$/i, ''),
    numDims,
    series,
    lengths: Int32Array.from(series, (s) => s[0]!.length),
    labels,
    declaredClasses: header.classLabel,
    lines: Int32Array.from(caseLines),
    hasMissing,
  };
}
