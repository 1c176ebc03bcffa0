import { Rng } from '@flowformer/core';
import { describe, expect, it } from 'vitest';
import { readUeaSplit } from '../src/data/load.ts';
import { parseTs } from '../src/data/ts-format.ts';
import {
  fillMissing,
  fitStandardizer,
  interpolateSeries,
  prepareUea,
  sortedClasses,
  STD_EPS,
  stratifiedHoldout,
  toArrays,
} from '../src/data/preprocess.ts';
import { dataRoot, missingReason } from './helpers.ts';

const HEADER = '@problemName P\n@missing true\n@dimensions 2\n@equalLength false\n@classLabel true b a 10 2\n@data\n';

describe('missing values', () => {
  it('interpolates linearly inside, holds the edge values outside (pandas limit_direction=both)', () => {
    const v = Float64Array.from([NaN, 1, NaN, NaN, 4, NaN]);
    expect(interpolateSeries(v)).toBe(4);
    expect(Array.from(v)).toEqual([1, 1, 2, 3, 4, 4]);
    const w = Float64Array.from([2, NaN, 3]);
    interpolateSeries(w);
    expect(Array.from(w)).toEqual([2, 2.5, 3]);
    expect(interpolateSeries(Float64Array.from([NaN, NaN]))).toBe(-1);
  });

  it('fills a copy and names the case whose series is all missing', () => {
    const s = parseTs(HEADER + '1,?,3:4,5,6:a\n?,?:1,2:b\n', 'P_TRAIN.ts');
    expect(() => fillMissing(s)).toThrow(/^P_TRAIN\.ts:8: case 2, dimension 1: every value is missing, so there is nothing to interpolate from$/);
    const t = parseTs(HEADER + '1,?,3:4,5,6:a\n', 'P_TRAIN.ts');
    const f = fillMissing(t);
    expect(Array.from(f.series[0]![0]!)).toEqual([1, 2, 3]);
    expect(Number.isNaN(t.series[0]![0]![1]!)).toBe(true); // the input is untouched
  });
});

describe('standardisation, padding, labels', () => {
  // Dimension 1 over all steps: 1,2,3,4,5 -> mean 3, sample variance 10/4.
  // Dimension 2: 10,10,10,20,30 -> mean 16, sample variance (36*3+16+196)/4 = 80.
  const s = parseTs(HEADER + '1,2,3:10,10,10:a\n4,5:20,30:10\n', 'P_TRAIN.ts');

  it('uses per-dimension mean and sample std over every TRAIN time step', () => {
    const st = fitStandardizer(s);
    expect(Array.from(st.mean)).toEqual([3, 16]);
    expect(st.std[0]).toBeCloseTo(Math.sqrt(2.5), 14);
    expect(st.std[1]).toBeCloseTo(Math.sqrt(80), 13);
  });

  it('pads with zeros and masks padded steps; truncates longer cases', () => {
    const stats = fitStandardizer(s);
    const a = toArrays(s, { classes: sortedClasses(s.labels), maxLen: 3, stats });
    expect(a.size).toBe(2);
    expect(Array.from(a.mask)).toEqual([1, 1, 1, 1, 1, 0]);
    expect(Array.from(a.lengths)).toEqual([3, 2]);
    const z = (v: number, d: number) => (v - stats.mean[d]!) / (stats.std[d]! + STD_EPS);
    // x is [N, L, D]: case 2, step 2, dimension 2 is 30; step 3 is padding.
    expect(a.x[(1 * 3 + 1) * 2 + 1]).toBeCloseTo(z(30, 1), 6);
    expect(a.x[(1 * 3 + 2) * 2 + 0]).toBe(0);
    expect(a.x[(1 * 3 + 2) * 2 + 1]).toBe(0);
    const cut = toArrays(s, { classes: sortedClasses(s.labels), maxLen: 2, stats });
    expect(Array.from(cut.mask)).toEqual([1, 1, 1, 1]);
    expect(cut.x[(0 * 2 + 1) * 2 + 0]).toBeCloseTo(z(2, 0), 6);
    expect(Array.from(cut.lengths)).toEqual([3, 2]); // the original length is kept for the record
  });

  it('orders classes as pandas categories (by code point) and rejects labels unseen in TRAIN', () => {
    expect(sortedClasses(['b', 'a', '10', '2', 'a'])).toEqual(['10', '2', 'a', 'b']);
    const stats = fitStandardizer(s);
    const a = toArrays(s, { classes: ['10', 'a'], maxLen: 3, stats });
    expect(Array.from(a.y)).toEqual([1, 0]);
    expect(() => toArrays(s, { classes: ['a'], maxLen: 3, stats })).toThrow(/^P_TRAIN\.ts:8: class "10" does not occur in TRAIN \(classes: a\)/);
  });
});

describe('stratified holdout', () => {
  const labels = Int32Array.from([...Array(30).fill(0), ...Array(12).fill(1), ...Array(3).fill(2)]);

  it('keeps class proportions, covers every case once, and depends only on the seed', () => {
    const { train, valid } = stratifiedHoldout(labels, 0.2, new Rng(1337));
    expect(valid.length).toBe(9); // ceil(0.2 * 45)
    expect(train.length + valid.length).toBe(45);
    expect(new Set([...train, ...valid]).size).toBe(45);
    const per = (idx: Int32Array, c: number) => Array.from(idx).filter((i) => labels[i] === c).length;
    expect([per(valid, 0), per(valid, 1), per(valid, 2)]).toEqual([6, 2, 1]); // quotas 6, 2.4, 0.6
    for (const c of [0, 1, 2]) expect(per(train, c)).toBeGreaterThan(0);
    const again = stratifiedHoldout(labels, 0.2, new Rng(1337));
    expect(Array.from(again.valid)).toEqual(Array.from(valid));
    const other = stratifiedHoldout(labels, 0.2, new Rng(1));
    expect(Array.from(other.valid)).not.toEqual(Array.from(valid));
  });

  it('refuses a split that would empty a class on one side', () => {
    expect(() => stratifiedHoldout(Int32Array.from([0, 0, 1, 1, 2, 2]), 0.2, new Rng(0))).toThrow(/cannot be split 80\/20 with every class on both sides/);
  });
});

describe('prepareUea on real data', () => {
  const reason = missingReason('JapaneseVowels');
  it.skipIf(reason !== null)(`JapaneseVowels: TRAIN max length, TRAIN-only statistics, truncated TEST${reason ? ` (${reason})` : ''}`, () => {
    const train = readUeaSplit(dataRoot, 'JapaneseVowels', 'TRAIN');
    const test = readUeaSplit(dataRoot, 'JapaneseVowels', 'TEST');
    const p = prepareUea(train, test, { protocol: 'paper' });
    expect(p.maxLen).toBe(26);
    expect(p.numDims).toBe(12);
    expect(p.classes).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(p.train.size).toBe(270);
    expect(p.test.size).toBe(370);
    expect(p.valid).toBeUndefined();
    const longer = Array.from(test.lengths).filter((l) => l > 26).length;
    expect(longer).toBeGreaterThan(0);
    expect(p.truncatedTest).toBe(longer);
    // Over the real TRAIN steps every dimension is now mean 0, sample std 1.
    const { x, mask } = p.train;
    for (let d = 0; d < 12; d++) {
      let n = 0;
      let s = 0;
      let ss = 0;
      for (let i = 0; i < mask.length; i++) {
        if (!mask[i]) continue;
        const v = x[i * 12 + d]!;
        n++;
        s += v;
        ss += v * v;
      }
      expect(n).toBe(Array.from(train.lengths).reduce((a, b) => a + b));
      expect(s / n).toBeCloseTo(0, 5);
      expect(Math.sqrt((ss - (s * s) / n) / (n - 1))).toBeCloseTo(1, 5);
    }
    // 30 cases per speaker in TRAIN (SOURCE.md).
    const counts = new Array(9).fill(0);
    for (const c of p.train.y) counts[c]++;
    expect(counts).toEqual(new Array(9).fill(30));
  });

  it.skipIf(reason !== null)(`JapaneseVowels holdout: 20% stratified validation, statistics from the rest${reason ? ` (${reason})` : ''}`, () => {
    const train = readUeaSplit(dataRoot, 'JapaneseVowels', 'TRAIN');
    const test = readUeaSplit(dataRoot, 'JapaneseVowels', 'TEST');
    const p = prepareUea(train, test, { protocol: 'holdout', validFraction: 0.2, splitSeed: 7 });
    expect(p.valid!.size).toBe(54);
    expect(p.train.size).toBe(216);
    const counts = new Array(9).fill(0);
    for (const c of p.valid!.y) counts[c]++;
    expect(counts).toEqual(new Array(9).fill(6));
    const { train: ti } = stratifiedHoldout(Int32Array.from(train.labels, (l) => Number(l) - 1), 0.2, new Rng(7));
    const expected = fitStandardizer(train, ti);
    expect(Array.from(p.stats.mean)).toEqual(Array.from(expected.mean));
    expect(p.stats.mean[0]).not.toBe(fitStandardizer(train).mean[0]);
    expect(p.maxLen).toBe(26); // still the whole TRAIN file's maximum
  });
});
