/**
 * Reader for the UEA archive's per-dimension ARFF form (`Multivariate_arff`): one univariate
 * Weka ARFF file per dimension and split, `<Name>Dimension<k>_<SPLIT>.arff`, k = 1..D.
 * Each file is
 *
 *   @relation SelfRegulationSCP1_channel_0
 *   @attribute channel_0_0 numeric        one numeric attribute per time step
 *   ...
 *   @attribute cortical {negativity,positivity}   the class, a nominal attribute, last
 *   @data
 *   23,21.66,...,positivity               one case per row
 *
 * and row i of every DimensionK file is the same case, so the files are joined row by row
 * (the `.ts` equivalent writes the D dimensions of a case on one line, separated by ':').
 * The class of a row must agree across the D files. ARFF is a fixed-width table: a `?` is a
 * missing value (kept as NaN for the interpolation step), never an end-of-series marker.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseValue, show, UeaFormatError, type RawSplit } from './raw.ts';

/** One parsed univariate ARFF file. */
export interface ArffTable {
  file: string;
  relation: string;
  /** Number of numeric attributes (time steps). */
  length: number;
  /** Values of the class attribute, in declaration order. */
  classes: string[];
  /** `rows[i]`: the numeric values of row i (NaN = '?'). */
  rows: Float64Array[];
  labels: string[];
  /** 1-based line of each row. */
  lines: number[];
  hasMissing: boolean;
}

const NUMERIC_TYPES = new Set(['numeric', 'real', 'integer']);

/** Removes one level of ARFF quoting ('x' or "x"). */
function unquote(s: string): string {
  const t = s.trim();
  if (t.length >= 2 && (t[0] === "'" || t[0] === '"') && t[t.length - 1] === t[0]) return t.slice(1, -1);
  return t;
}

/** Splits `@attribute <name> <type>` into name and type (the name may be quoted and contain spaces). */
function splitAttribute(rest: string): [string, string] | null {
  const s = rest.trim();
  if (s === '') return null;
  let name: string;
  let after: string;
  if (s[0] === "'" || s[0] === '"') {
    const end = s.indexOf(s[0], 1);
    if (end < 0) return null;
    name = s.slice(1, end);
    after = s.slice(end + 1);
  } else {
    const m = /^(\S+)\s*(.*)$/.exec(s);
    if (!m) return null;
    name = m[1]!;
    after = m[2]!;
  }
  const type = after.trim();
  return type === '' ? null : [name, type];
}

/** Parses the text of one univariate ARFF file (numeric attributes, then one nominal class attribute). */
export function parseArff(text: string, file: string): ArffTable {
  const lines = text.split(/\r?\n/);
  const err = (lineNo: number | null, detail: string) => new UeaFormatError(file, lineNo, detail);
  let relation = '';
  let numeric = 0;
  let classes: string[] | null = null;
  let classLine = -1;
  let i = 0;
  let dataLine = -1;
  for (; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('%')) continue;
    const m = /^(@\S+)\s*(.*)$/.exec(line);
    if (!m) throw err(lineNo, `expected '@relation', '@attribute' or '@data' (or a '%' comment) before the data, found ${show(line)}`);
    const kw = m[1]!.toLowerCase();
    if (kw === '@relation') {
      relation = unquote(m[2]!);
    } else if (kw === '@attribute') {
      const at = splitAttribute(m[2]!);
      if (!at) throw err(lineNo, `expected '@attribute <name> <type>', found ${show(line)}`);
      const [name, type] = at;
      if (classes !== null) {
        throw err(lineNo, `attribute ${show(name)} comes after the nominal class attribute (line ${classLine}); expected the class to be the last attribute`);
      }
      if (NUMERIC_TYPES.has(type.toLowerCase())) {
        numeric++;
      } else if (type.startsWith('{') && type.endsWith('}')) {
        classes = type
          .slice(1, -1)
          .split(',')
          .map(unquote)
          .filter((c) => c !== '');
        if (classes.length === 0) throw err(lineNo, `the nominal class attribute ${show(name)} lists no values`);
        classLine = lineNo;
      } else if (type.toLowerCase().startsWith('relational')) {
        throw err(
          lineNo,
          `relational attribute: this is the archive's multivariate ARFF form, which is not supported; use the '.ts' files or the per-dimension '<Name>Dimension<k>_<SPLIT>.arff' files`,
        );
      } else {
        throw err(lineNo, `attribute ${show(name)} has type ${show(type)}; expected 'numeric' (a time step) or a nominal '{a,b,...}' (the class, last)`);
      }
    } else if (kw === '@data') {
      dataLine = lineNo;
      i++;
      break;
    } else {
      throw err(lineNo, `unknown ARFF keyword ${show(m[1]!)}; expected @relation, @attribute or @data`);
    }
  }
  if (dataLine < 0) throw err(null, `no '@data' line: expected '@relation', '@attribute' lines and then '@data'`);
  if (classes === null) throw err(dataLine, `no nominal class attribute: expected a last attribute like '@attribute class {a,b}'`);
  if (numeric === 0) throw err(dataLine, `no numeric attributes: expected one '@attribute <name> numeric' per time step`);
  const classSet = new Set(classes);

  const rows: Float64Array[] = [];
  const labels: string[] = [];
  const rowLines: number[] = [];
  let hasMissing = false;
  for (; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('%')) continue;
    if (line.startsWith('{')) throw err(lineNo, `sparse ARFF rows ('{index value, ...}') are not supported; expected ${numeric} values and the class, comma-separated`);
    const toks = line.split(',');
    if (toks.length !== numeric + 1) {
      throw err(lineNo, `expected ${numeric} numeric values and the class (${numeric + 1} comma-separated fields, from the @attribute lines), found ${toks.length}`);
    }
    const row = new Float64Array(numeric);
    for (let t = 0; t < numeric; t++) {
      const tok = toks[t]!.trim();
      const v = parseValue(tok);
      if (v === undefined) throw err(lineNo, `value ${t + 1}: expected a number or '?', found ${show(tok)}`);
      if (Number.isNaN(v)) hasMissing = true;
      row[t] = v;
    }
    const label = unquote(toks[numeric]!);
    if (!classSet.has(label)) throw err(lineNo, `class ${show(label)} is not one of the declared values {${classes.join(',')}}`);
    rows.push(row);
    labels.push(label);
    rowLines.push(lineNo);
  }
  if (rows.length === 0) throw err(dataLine, `no rows after @data`);
  return { file, relation, length: numeric, classes, rows, labels, lines: rowLines, hasMissing };
}

export function readArffFile(path: string): ArffTable {
  return parseArff(readFileSync(path, 'utf8'), path);
}

/** The file of dimension k (1-based) of a split, in the archive's naming. */
export function arffDimensionPath(dir: string, name: string, split: 'TRAIN' | 'TEST', k: number): string {
  return join(dir, `${name}Dimension${k}_${split}.arff`);
}

/** The dimension files present for a split: Dimension1, 2, ... up to the first gap. */
export function findArffDimensionFiles(dir: string, name: string, split: 'TRAIN' | 'TEST'): string[] {
  const files: string[] = [];
  for (let k = 1; existsSync(arffDimensionPath(dir, name, split, k)); k++) files.push(arffDimensionPath(dir, name, split, k));
  return files;
}

/**
 * Joins univariate tables (one per dimension, in dimension order) row by row into one split.
 * Every table must have the same number of rows, the same length and the same class list,
 * and row i must carry the same class in every table.
 */
export function joinArffDimensions(tables: ArffTable[]): RawSplit {
  if (tables.length === 0) throw new Error('joinArffDimensions: no dimension files given');
  const first = tables[0]!;
  for (let k = 1; k < tables.length; k++) {
    const t = tables[k]!;
    if (t.rows.length !== first.rows.length) {
      throw new UeaFormatError(t.file, null, `has ${t.rows.length} rows but ${basename(first.file)} has ${first.rows.length}; every dimension file must hold the same cases in the same order`);
    }
    if (t.length !== first.length) {
      throw new UeaFormatError(t.file, null, `has ${t.length} numeric attributes (time steps) but ${basename(first.file)} has ${first.length}`);
    }
    if (t.classes.join('\u0000') !== first.classes.join('\u0000')) {
      throw new UeaFormatError(t.file, null, `declares classes {${t.classes.join(',')}} but ${basename(first.file)} declares {${first.classes.join(',')}}`);
    }
    for (let r = 0; r < t.rows.length; r++) {
      if (t.labels[r] !== first.labels[r]) {
        throw new UeaFormatError(
          t.file,
          t.lines[r]!,
          `row ${r + 1} has class ${show(t.labels[r]!)} but row ${r + 1} of ${basename(first.file)} (line ${first.lines[r]}) has ${show(first.labels[r]!)}; the dimension files must list the same cases in the same order`,
        );
      }
    }
  }
  const n = first.rows.length;
  const series: Float64Array[][] = [];
  for (let r = 0; r < n; r++) series.push(tables.map((t) => t.rows[r]!));
  const relation = first.relation.replace(/_channel_\d+$/i, '');
  return {
    source: tables.map((t) => t.file).join(' + '),
    problemName: relation || basename(first.file).replace(/Dimension\d+_(TRAIN|TEST)\.arff$/i, ''),
    numDims: tables.length,
    series,
    lengths: new Int32Array(n).fill(first.length),
    labels: first.labels.slice(),
    declaredClasses: first.classes.slice(),
    lines: Int32Array.from(first.lines),
    hasMissing: tables.some((t) => t.hasMissing),
  };
}

/** Reads and joins `<dir>/<name>Dimension{1..D}_<split>.arff`. */
export function readArffDimensions(dir: string, name: string, split: 'TRAIN' | 'TEST'): RawSplit {
  const files = findArffDimensionFiles(dir, name, split);
  if (files.length === 0) throw new Error(`no per-dimension ARFF files: expected ${arffDimensionPath(dir, name, split, 1)} (and Dimension2, ...)`);
  return joinArffDimensions(files.map(readArffFile));
}
