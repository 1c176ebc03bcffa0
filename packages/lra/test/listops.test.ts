import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '@flowformer/core';
import {
  LISTOPS_VOCAB,
  applyListOp,
  encodeListOps,
  evaluateListOps,
  formatListOpsTsv,
  generateListOpsSplits,
  listopsLength,
  listopsTokens,
  readListOpsTsv,
} from '../src/data/listops.ts';
import { DataFormatError } from '../src/data/errors.ts';
import { shared, tempDir } from './helpers.ts';

const tmp = tempDir();
afterAll(tmp.cleanup);
const original = shared('listops-original/test_d20s.tsv');

describe('ListOps on the original release (test_d20s.tsv)', () => {
  it.skipIf(!original.present)(`reads all 10,000 lines and the evaluator agrees with every label ${original.reason}`, () => {
    const ex = readListOpsTsv(original.path);
    expect(ex.length).toBe(10_000);
    const disagreements = ex.filter((e) => evaluateListOps(e.source) !== e.target);
    expect(disagreements.length).toBe(0);
    // Label counts published with the file (SOURCE.md).
    const counts = new Array(10).fill(0);
    for (const e of ex) counts[e.target]++;
    expect(counts).toEqual([1127, 1038, 967, 978, 991, 969, 895, 930, 964, 1141]);
  });
});

describe('ListOps tokenisation (LRA pipeline)', () => {
  it('drops parentheses, makes ] its own close token, strips [ from operators, pads and truncates', () => {
    const s = '( ( ( [MAX 2 ) ( ( ( [SM 3 ) 4 ) ] ) ) ] )';
    expect(listopsTokens(s)).toEqual(['MAX', '2', 'SM', '3', '4', 'X', 'X']);
    expect(listopsLength(s)).toBe(7);
    const ids = encodeListOps(s, 10);
    const id = (t: string) => LISTOPS_VOCAB.indexOf(t);
    expect(Array.from(ids)).toEqual([id('MAX'), id('2'), id('SM'), id('3'), id('4'), id('X'), id('X'), 0, 0, 0]);
    expect(Array.from(encodeListOps(s, 3))).toEqual([id('MAX'), id('2'), id('SM')]);
    // Anything outside the fixed vocabulary is the unknown id 1.
    expect(Array.from(encodeListOps('[FOO 12 ]', 3))).toEqual([1, 1, id('X')]);
    expect(LISTOPS_VOCAB.length).toBe(17);
    expect(LISTOPS_VOCAB[0]).toBe('<pad>');
  });
});

describe('ListOps evaluator', () => {
  it('computes MIN, MAX, MED (integer part of the mean of the middle two for even counts) and SM', () => {
    expect(applyListOp('MIN', [4, 2, 9])).toBe(2);
    expect(applyListOp('MAX', [4, 2, 9])).toBe(9);
    expect(applyListOp('MED', [4, 2, 9])).toBe(4);
    expect(applyListOp('MED', [1, 4, 2, 9])).toBe(3); // (2 + 4) / 2
    expect(applyListOp('MED', [1, 2])).toBe(1); // int(1.5)
    expect(applyListOp('SM', [7, 8, 9])).toBe(4);
    expect(evaluateListOps('( ( ( [MAX 2 ) 9 ) ] )')).toBe(9);
    expect(() => evaluateListOps('( ( [MAX 2 ) 9 )')).toThrow(/not closed/);
    expect(() => evaluateListOps('( [MAX 2 ] ) ]')).toThrow(/token/);
  });
});

describe('ListOps files', () => {
  it('round-trips the LRA basic_*.tsv form and reads the original form', () => {
    const ex = [
      { source: '( ( ( [MAX 2 ) 9 ) ] )', target: 9 },
      { source: '( ( ( [SM 5 ) 6 ) ] )', target: 1 },
    ];
    const f = path.join(tmp.dir, 'basic_val.tsv');
    writeFileSync(f, formatListOpsTsv(ex));
    expect(readListOpsTsv(f)).toEqual(ex);
    const g = path.join(tmp.dir, 'orig.tsv');
    writeFileSync(g, '9\t( ( ( [MAX 2 ) 9 ) ] )\n1\t( ( ( [SM 5 ) 6 ) ] )\n');
    expect(readListOpsTsv(g)).toEqual(ex);
  });

  it('fails on bad lines with file, line and reason', () => {
    const f = path.join(tmp.dir, 'bad1.tsv');
    writeFileSync(f, 'Source\tTarget\n( ( [MAX 2 ) ] )\t2\n( ( [MAX 2 ) ] )\tseven\n');
    let err: unknown;
    try {
      readListOpsTsv(f);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataFormatError);
    expect((err as DataFormatError).line).toBe(3);
    expect((err as Error).message).toMatch(/bad1\.tsv:3: label must be an integer 0-9, found 'seven'/);
    const g = path.join(tmp.dir, 'bad2.tsv');
    writeFileSync(g, 'Source\tTarget\n( ( [MAX 2 ) ] )\n');
    expect(() => readListOpsTsv(g)).toThrow(/bad2\.tsv:2: expected 2 tab-separated fields/);
    expect(() => readListOpsTsv(g, 'original')).toThrow(/bad2\.tsv:1: label must be an integer/);
    expect(() => readListOpsTsv(path.join(tmp.dir, 'nope.tsv'))).toThrow(/nope\.tsv: cannot read/);
  });
});

describe('ListOps generator (LRA rules)', () => {
  it('draws unique, seeded trees inside the length bounds, labelled by the evaluator', () => {
    const sizes = { train: 60, val: 10, test: 10 };
    const a = generateListOpsSplits(new Rng(7), sizes);
    const b = generateListOpsSplits(new Rng(7), sizes);
    expect(a).toEqual(b); // seeded
    const all = [...a.train, ...a.val, ...a.test];
    expect(all.length).toBe(80);
    expect(new Set(all.map((e) => e.source)).size).toBe(80); // unique across splits
    for (const e of all) {
      const n = listopsLength(e.source);
      expect(n).toBeGreaterThan(500);
      expect(n).toBeLessThan(2000);
      expect(evaluateListOps(e.source)).toBe(e.target);
    }
    // Configurable bounds and depth.
    const small = generateListOpsSplits(new Rng(1), { train: 50, val: 0, test: 0 }, { minLength: 10, maxLength: 60, maxDepth: 4, maxArgs: 5 });
    for (const e of small.train) {
      const n = listopsLength(e.source);
      expect(n > 10 && n < 60).toBe(true);
      // depth <= 4 operators nested means at most 3 nested '[' before the leaves
      let d = 0;
      let maxD = 0;
      for (const t of listopsTokens(e.source)) {
        if (t === 'X') d--;
        else if (!/^[0-9]$/.test(t)) maxD = Math.max(maxD, ++d);
      }
      expect(maxD).toBeLessThanOrEqual(3);
    }
  });

  it('bounds that admit only single digits give exactly the ten digits (uniqueness)', () => {
    const r = generateListOpsSplits(new Rng(3), { train: 10, val: 0, test: 0 }, { minLength: 0, maxLength: 2 });
    expect(r.train.map((e) => e.source).sort()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    for (const e of r.train) expect(e.target).toBe(Number(e.source));
  });
});
