/**
 * ListOps (Nangia & Bowman 2018) as the Long Range Arena uses it.
 *
 * An example is a prefix expression over the digits 0-9 with the operators MIN, MAX, MED
 * (median) and SM (sum modulo 10), written with the bracketing of the original generator:
 * `( ( ( [MAX 2 ) 9 ) ] )` is MAX(2, 9) = 9. The label is the value of the expression.
 *
 * Two on-disk forms exist:
 * - LRA's `basic_{train,val,test}.tsv`: a `Source<TAB>Target` header, then `expression<TAB>label`
 *   (written by Python's csv module, so lines end with CRLF);
 * - the original ListOps release (`train_d20s.tsv`, `test_d20s.tsv`): `label<TAB>expression`,
 *   no header.
 *
 * Tokenisation follows LRA's input pipeline: `]` is renamed to the close token `X`, `(` and
 * `)` are deleted, the text is split into alphanumeric runs (so `[MAX` becomes `MAX`), each
 * token is looked up in a fixed vocabulary (pad 0, unknown 1), and the sequence is cut at
 * the maximum length. LRA built its vocabulary from the validation split in set order;
 * we fix the order so that ids do not depend on hashing (the set of tokens is the same).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { Rng } from '@flowformer/core';
import { DataFormatError } from './errors.ts';

export const LISTOPS_OPERATORS = ['MIN', 'MAX', 'MED', 'SM'] as const;
export type ListOpsOperator = (typeof LISTOPS_OPERATORS)[number];

/** The token that `]` becomes (LRA renames it because its tokenizer drops punctuation). */
export const LISTOPS_CLOSE = 'X';
export const LISTOPS_PAD_ID = 0;
export const LISTOPS_UNK_ID = 1;

/** The fixed vocabulary: index = token id. */
export const LISTOPS_VOCAB: readonly string[] = [
  '<pad>',
  '<unk>',
  ...LISTOPS_OPERATORS,
  LISTOPS_CLOSE,
  '0',
  '1',
  '2',
  '3',
  '4',
  '5',
  '6',
  '7',
  '8',
  '9',
];
export const LISTOPS_VOCAB_SIZE = LISTOPS_VOCAB.length; // 17
export const LISTOPS_NUM_CLASSES = 10;

const tokenToId = new Map(LISTOPS_VOCAB.map((t, i) => [t, i]));

export interface ListOpsExample {
  /** The expression in the original bracketed form. */
  source: string;
  /** Its value, 0-9. */
  target: number;
}

/** The LRA pipeline's token strings for one expression (before the vocabulary lookup). */
export function listopsTokens(source: string): string[] {
  const s = source.replace(/\]/g, ` ${LISTOPS_CLOSE} `).replace(/[()]/g, ' ');
  // tfds' Tokenizer(alphanum_only=True): split on every run of non-alphanumeric characters.
  return s.split(/[^A-Za-z0-9]+/).filter((t) => t.length > 0);
}

/**
 * Token ids of one expression, truncated to `maxLength` and right-padded with 0 when
 * `pad` is true (the LRA batches are padded to the maximum length).
 */
export function encodeListOps(source: string, maxLength: number, pad = true): Int32Array {
  const toks = listopsTokens(source);
  const n = pad ? maxLength : Math.min(maxLength, toks.length);
  const ids = new Int32Array(n); // zero = pad
  for (let i = 0; i < Math.min(n, toks.length); i++) ids[i] = tokenToId.get(toks[i]!) ?? LISTOPS_UNK_ID;
  return ids;
}

/** Number of tokens the LRA pipeline makes of an expression (its "length" in the generator's sense). */
export function listopsLength(source: string): number {
  return listopsTokens(source).length;
}

// ---------------------------------------------------------------------------------------
// Evaluation

/** Applies a ListOps operator to its argument list. */
export function applyListOp(op: string, args: number[]): number {
  if (args.length === 0) throw new Error(`operator ${op} applied to no arguments`);
  switch (op) {
    case 'MIN':
      return Math.min(...args);
    case 'MAX':
      return Math.max(...args);
    case 'MED': {
      // int(np.median(args)): the middle value, or for an even count the mean of the two
      // middle values with its fractional part dropped (values are non-negative).
      const s = [...args].sort((a, b) => a - b);
      const m = s.length >> 1;
      return s.length % 2 === 1 ? s[m]! : Math.trunc((s[m - 1]! + s[m]!) / 2);
    }
    case 'SM':
      return args.reduce((a, b) => a + b, 0) % 10;
    case 'FIRST': // defined (but unused) by the LRA generator
      return args[0]!;
    case 'LAST':
      return args[args.length - 1]!;
    default:
      throw new Error(`unknown operator '${op}'`);
  }
}

/**
 * The value of an expression in the bracketed form. Parentheses are decoration (the
 * original generator's binary-tree rendering); the structure is carried by `[OP` ... `]`.
 * Throws with the token position when the expression is malformed.
 */
export function evaluateListOps(source: string): number {
  const stack: { op: string; args: number[] }[] = [];
  let result: number | undefined;
  const toks = source.split(/\s+/).filter((t) => t.length > 0);
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t === '(' || t === ')') continue;
    if (result !== undefined) throw new Error(`token ${i + 1} ('${t}'): text after the end of the expression`);
    if (t.startsWith('[')) {
      const op = t.slice(1);
      if (!['MIN', 'MAX', 'MED', 'SM', 'FIRST', 'LAST'].includes(op)) throw new Error(`token ${i + 1}: unknown operator '${t}'`);
      stack.push({ op, args: [] });
    } else if (t === ']') {
      const f = stack.pop();
      if (!f) throw new Error(`token ${i + 1}: ']' without an open operator`);
      if (f.args.length === 0) throw new Error(`token ${i + 1}: operator [${f.op} has no arguments`);
      const v = applyListOp(f.op, f.args);
      if (stack.length) stack[stack.length - 1]!.args.push(v);
      else result = v;
    } else if (/^[0-9]$/.test(t)) {
      const v = Number(t);
      if (stack.length) stack[stack.length - 1]!.args.push(v);
      else result = v; // a bare digit is a valid (trivial) expression
    } else {
      throw new Error(`token ${i + 1}: unexpected token '${t}' (expected '[OP', a digit, ']', '(' or ')')`);
    }
  }
  if (stack.length) throw new Error(`unterminated expression: ${stack.length} operator(s) not closed with ']'`);
  if (result === undefined) throw new Error('empty expression');
  return result;
}

// ---------------------------------------------------------------------------------------
// Reading

export type ListOpsFormat = 'lra' | 'original' | 'auto';

/**
 * Reads a ListOps TSV: LRA's `Source\tTarget` form or the original `label\texpression`
 * form (`auto` decides from the first line). Every line must have two fields and an
 * integer label 0-9; otherwise a `DataFormatError` names the file and line.
 */
export function readListOpsTsv(file: string, format: ListOpsFormat = 'auto'): ListOpsExample[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DataFormatError(file, undefined, `cannot read the file (${(e as Error).message})`);
  }
  return parseListOpsTsv(text, file, format);
}

export function parseListOpsTsv(text: string, file: string, format: ListOpsFormat = 'auto'): ListOpsExample[] {
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    // Neither form quotes fields (expressions hold no tabs or quotes), so quotes are data.
    rows = parse(text, { delimiter: '\t', quote: false, info: true, relax_column_count: true, skip_empty_lines: true }) as unknown as typeof rows;
  } catch (e) {
    throw new DataFormatError(file, undefined, `not a tab-separated file: ${(e as Error).message}`);
  }
  if (rows.length === 0) throw new DataFormatError(file, undefined, 'the file is empty');
  const first = rows[0]!.record;
  let fmt = format;
  const isHeader = first.length === 2 && first[0] === 'Source' && first[1] === 'Target';
  if (fmt === 'auto') fmt = isHeader ? 'lra' : 'original';
  if (fmt === 'lra' && !isHeader) {
    throw new DataFormatError(file, rows[0]!.info.lines, `expected the LRA header 'Source<TAB>Target', found '${first.join('<TAB>')}'`);
  }
  const out: ListOpsExample[] = [];
  for (let r = fmt === 'lra' ? 1 : 0; r < rows.length; r++) {
    const { record, info } = rows[r]!;
    if (record.length !== 2) {
      const expect = fmt === 'lra' ? 'expression<TAB>label' : 'label<TAB>expression';
      throw new DataFormatError(file, info.lines, `expected 2 tab-separated fields (${expect}), found ${record.length}`);
    }
    const [a, b] = record as [string, string];
    const [labelText, source] = fmt === 'lra' ? [b, a] : [a, b];
    // LRA writes the label with Python's str(int) (or numpy's int64), always a plain integer.
    if (!/^\s*[0-9]\s*$/.test(labelText)) {
      throw new DataFormatError(file, info.lines, `label must be an integer 0-9, found '${labelText}'`);
    }
    if (source.trim().length === 0) throw new DataFormatError(file, info.lines, 'empty expression');
    out.push({ source, target: Number(labelText.trim()) });
  }
  return out;
}

/** Writes examples as an LRA `basic_*.tsv` (header, `expression\tlabel`, CRLF line ends as Python's csv module writes). */
export function formatListOpsTsv(examples: ListOpsExample[]): string {
  const lines = ['Source\tTarget'];
  for (const e of examples) lines.push(`${e.source}\t${e.target}`);
  return lines.join('\r\n') + '\r\n';
}

// ---------------------------------------------------------------------------------------
// Generation

export interface ListOpsGeneratorArgs {
  /**
   * Probability that a node above the maximum depth is an operator (LRA's `VALUE_P` = 0.25:
   * it draws r ~ U(0,1) and makes a digit when r > VALUE_P, so digits have probability 0.75).
   */
  operatorProbability?: number;
  /** Nodes at this depth are digits (the root has depth 1). Default 10. */
  maxDepth?: number;
  /** An operator takes 2..maxArgs arguments, uniformly. Default 10. */
  maxArgs?: number;
  /** Keep trees with minLength < length < maxLength tokens (strict, as LRA). Defaults 500 and 2000. */
  minLength?: number;
  maxLength?: number;
  /** Operators to draw from. Default MIN, MAX, MED, SM. */
  operators?: readonly string[];
}

interface Built {
  parts: string[];
  length: number;
  value: number;
}

/**
 * Draws one tree with the LRA rules (`generate_tree` in LRA's `data/listops.py`): below
 * `maxDepth` a node is an operator with probability `operatorProbability` and a digit
 * otherwise; at `maxDepth` always a digit. An operator takes 2..maxArgs arguments.
 * Returns undefined as soon as the tree reaches `maxLength` tokens: that draw would be
 * rejected anyway, and giving up early does not bias the accepted trees (draws are independent).
 */
function drawTree(rng: Rng, depth: number, a: Required<ListOpsGeneratorArgs>, budget: { left: number }): Built | undefined {
  const r = depth < a.maxDepth ? rng.next() : 1;
  if (r > a.operatorProbability) {
    const v = rng.int(10);
    budget.left -= 1;
    return { parts: [String(v)], length: 1, value: v };
  }
  const n = 2 + rng.int(a.maxArgs - 1); // randint(2, maxArgs), inclusive
  budget.left -= 2;
  const kids: Built[] = [];
  for (let i = 0; i < n; i++) {
    if (budget.left <= 0) return undefined;
    const k = drawTree(rng, depth + 1, a, budget);
    if (!k) return undefined;
    kids.push(k);
  }
  const op = a.operators[rng.int(a.operators.length)]!;
  // The original renders the operator as a left-nested binary tree: (((OP v0) v1) ... ]).
  const parts: string[] = [];
  for (let i = 0; i <= n; i++) parts.push('(');
  parts.push(`[${op}`);
  let length = 2;
  for (let i = 0; i < n; i++) {
    parts.push(...kids[i]!.parts, ')');
    length += kids[i]!.length;
  }
  parts.push(']', ')');
  return { parts, length, value: applyListOp(op, kids.map((k) => k.value)) };
}

/** The generator rules with every default filled in (what a generated set records as its arguments). */
export function listopsGeneratorDefaults(args: ListOpsGeneratorArgs): Required<ListOpsGeneratorArgs> {
  const a: Required<ListOpsGeneratorArgs> = {
    operatorProbability: args.operatorProbability ?? 0.25,
    maxDepth: args.maxDepth ?? 10,
    maxArgs: args.maxArgs ?? 10,
    minLength: args.minLength ?? 500,
    maxLength: args.maxLength ?? 2000,
    operators: args.operators ?? LISTOPS_OPERATORS,
  };
  if (!(a.operatorProbability > 0 && a.operatorProbability < 1)) throw new Error(`listops generator: operatorProbability must be in (0, 1), got ${a.operatorProbability}`);
  if (!(Number.isInteger(a.maxDepth) && a.maxDepth >= 2)) throw new Error(`listops generator: maxDepth must be an integer >= 2, got ${a.maxDepth}`);
  if (!(Number.isInteger(a.maxArgs) && a.maxArgs >= 2)) throw new Error(`listops generator: maxArgs must be an integer >= 2, got ${a.maxArgs}`);
  if (!(a.maxLength - a.minLength >= 2)) throw new Error(`listops generator: need minLength < length < maxLength to be possible, got ${a.minLength}, ${a.maxLength}`);
  for (const op of a.operators) if (!['MIN', 'MAX', 'MED', 'SM', 'FIRST', 'LAST'].includes(op)) throw new Error(`listops generator: unknown operator '${op}'`);
  return a;
}

/**
 * `count` distinct expressions with minLength < length < maxLength, in the order drawn.
 * Throws when `maxDraws` trees in a row fail to produce a new one (e.g. impossible bounds).
 */
export function generateListOps(rng: Rng, count: number, args: ListOpsGeneratorArgs = {}, maxDraws = 10_000_000): ListOpsExample[] {
  const a = listopsGeneratorDefaults(args);
  const seen = new Set<string>();
  const out: ListOpsExample[] = [];
  let misses = 0;
  while (out.length < count) {
    const budget = { left: a.maxLength };
    const t = drawTree(rng, 1, a, budget);
    if (t && t.length > a.minLength && t.length < a.maxLength) {
      const source = t.parts.join(' ');
      if (!seen.has(source)) {
        seen.add(source);
        out.push({ source, target: t.value });
        misses = 0;
        continue;
      }
    }
    if (++misses > maxDraws) {
      throw new Error(
        `listops generator: ${maxDraws} draws in a row gave no new tree with ${a.minLength} < length < ${a.maxLength} ` +
          `(have ${out.length} of ${count}); widen the length bounds or raise maxDepth/maxArgs`,
      );
    }
  }
  return out;
}

export interface ListOpsSplitSizes {
  train: number;
  val: number;
  test: number;
}

/** LRA's sizes: 96,000 / 2,000 / 2,000. */
export const LRA_LISTOPS_SIZES: ListOpsSplitSizes = { train: 96_000, val: 2_000, test: 2_000 };

/** Unique trees split in LRA's way: the first `train`, then `val`, then `test` (no tree in two splits). */
export function generateListOpsSplits(rng: Rng, sizes: ListOpsSplitSizes, args: ListOpsGeneratorArgs = {}) {
  const all = generateListOps(rng, sizes.train + sizes.val + sizes.test, args);
  return {
    train: all.slice(0, sizes.train),
    val: all.slice(sizes.train, sizes.train + sizes.val),
    test: all.slice(sizes.train + sizes.val),
  };
}
