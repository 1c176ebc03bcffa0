/**
 * The paper data file: the paper's numbers are internally consistent (per-row values average to
 * the printed averages; the README's main table agrees with the per-task tables where it
 * should). The tables the tasks declare are tested with the tasks, in packages/cli/test/tables.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { loadPaper, paperNumber, paperRows, paperSummary, paperTable, paperValue } from '../src/results/index.ts';

const paper = loadPaper();
const num = (c: unknown) => (typeof c === 'number' ? c : (c as { mean: number }).mean);

describe('results/paper/flowformer-paper.json', () => {
  it('every value sits in a declared row and method, and names its source', () => {
    for (const [name, t] of Object.entries(paper.tables)) {
      expect(t.source, name).toMatch(/Flowformer|paper/);
      for (const [row, cells] of Object.entries(t.values)) {
        expect(t.rows, `${name}.${row}`).toContain(row);
        for (const m of Object.keys(cells)) expect(t.methods, `${name}.${row}.${m}`).toContain(m);
      }
    }
  });

  it('the per-row values of every method average to the printed averages (LRA, UEA, D4RL), to rounding', () => {
    // The paper's own averages that are not their rows' means (checked against its figures), each noted in the file.
    const printedOff: Record<string, [number, RegExp]> = {
      'lra Sinkhorn Trans.': [51.476, /Sinkhorn Trans\. row \(51\.29\)/],
      'uea Performer': [71.68, /Performer \(71\.9; rows 71\.68\)/],
      'uea Longformer': [72.28, /Longformer \(72\.0; rows 72\.28\)/],
    };
    let checked = 0;
    for (const [t, tol] of [['lra', 0.011], ['uea', 0.151], ['d4rl', 0.151]] as const) {
      const tab = paper.tables[t]!;
      const rows = tab.rows.filter((r) => r !== 'average');
      for (const m of tab.methods) {
        const vals = rows.map((r) => tab.values[r]![m]);
        if (vals.some((v) => typeof v !== 'number' && typeof (v as { mean?: unknown } | undefined)?.mean !== 'number')) continue;
        const mean = vals.reduce((a: number, v) => a + num(v), 0) / rows.length;
        const off = printedOff[`${t} ${m}`];
        if (off) {
          expect(mean, `${t} ${m}`).toBeCloseTo(off[0], 2);
          expect(tab.notes, `${t} ${m}`).toMatch(off[1]);
        } else expect(Math.abs(mean - num(tab.values.average![m])), `${t} ${m}`).toBeLessThanOrEqual(tol);
        checked++;
      }
    }
    expect(checked).toBe(15 + 14 + 8); // every method of the three tables
  });

  it('quotes the numbers the issues cite', () => {
    expect(paperValue('lra', 'average', 'Flowformer')).toBe(56.48);
    expect(paperValue('uea', 'average', 'Flowformer')).toBe(73.0);
    expect(paperValue('d4rl', 'average', 'Flowformer')).toEqual({ mean: 73.5, std: 2.9 });
    expect(paperValue('d4rl', 'average', 'Decision Transformer')).toEqual({ mean: 72.2, std: 2.6 });
    expect(['Flowformer', 'Transformer', 'Reformer', 'Performer', 'Linear Trans.'].map((m) => paperValue('wikitext', 'wikitext-103', m))).toEqual([30.8, 33.0, 33.6, 37.5, 38.4]);
    expect(paperValue('imagenet', 'imagenet-1k', 'Flowformer')).toBe(80.6);
    expect(paperValue('imagenet', 'imagenet-1k-deit-s', 'DeiT-S + Flowformer')).toBe(80.0);
  });

  it("the README's main table equals the per-task tables for Flowformer", () => {
    expect(paperValue('main', 'lra', 'Flowformer')).toBe(paperValue('lra', 'average', 'Flowformer'));
    expect(paperValue('main', 'uea', 'Flowformer')).toBe(paperValue('uea', 'average', 'Flowformer'));
    expect(paperValue('main', 'wikitext', 'Flowformer')).toBe(paperValue('wikitext', 'wikitext-103', 'Flowformer'));
    expect(paperValue('main', 'imagenet', 'Flowformer')).toBe(paperValue('imagenet', 'imagenet-1k', 'Flowformer'));
    expect(paperValue('main', 'd4rl', 'Flowformer')).toEqual(paperValue('d4rl', 'average', 'Flowformer'));
  });
});

// The task packages read their paper numbers through these accessors (no package keeps a copy).
describe('paper accessors', () => {
  it('paperTable names the tables there are when asked for one that is not', () => {
    expect(paperTable('d4rl').metric).toBe(paper.tables.d4rl!.metric);
    expect(() => paperTable('cifar')).toThrow(/no table 'cifar' \(tables: lra, imagenet, wikitext, uea, d4rl, main\)/);
  });

  it("paperRows: the per-dataset rows in the paper's order, without 'average'", () => {
    expect(paperRows('uea')).toHaveLength(10);
    expect(paperRows('uea')[0]).toBe('EthanolConcentration');
    expect(paperRows('d4rl')).toEqual([
      'halfcheetah-medium-expert', 'hopper-medium-expert', 'walker2d-medium-expert',
      'halfcheetah-medium', 'hopper-medium', 'walker2d-medium',
      'halfcheetah-medium-replay', 'hopper-medium-replay', 'walker2d-medium-replay',
    ]);
  });

  it('paperNumber: a value, the mean of mean ± std, null for a word or no cell', () => {
    expect(paperNumber(paperValue('uea', 'JapaneseVowels', 'Flowformer'))).toBe(98.9);
    expect(paperNumber(paperValue('d4rl', 'hopper-medium', 'Flowformer'))).toBe(66.9);
    expect(paperNumber(paperValue('main', 'lra', 'Transformer'))).toBeNull(); // 'OOM' in the README's main table
    expect(paperNumber(paperValue('uea', 'JapaneseVowels', 'no such method'))).toBeNull();
  });

  it("paperSummary: a row's values for task descriptions, '-' where the paper has none", () => {
    expect(paperSummary('uea', 'JapaneseVowels', ['Flowformer', 'Transformer'])).toBe('Flowformer 98.9, Transformer 98.7');
    expect(paperSummary('d4rl', 'hopper-medium', ['Flowformer'])).toBe('Flowformer 66.9 ± 2.5');
    expect(paperSummary('lra', 'average', ['Flowformer'], 2)).toBe('Flowformer 56.48');
    expect(paperSummary('uea', 'BasicMotions', ['Flowformer'])).toBe('Flowformer -');
  });
});
