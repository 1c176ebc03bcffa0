/** Sweep grids: parsing `--grid`, the cartesian product, and the grid's summary over seeds. */
import { describe, expect, it } from 'vitest';
import { gridPoints, parseGrid, sweepMarkdown, sweepTable } from '../src/results/sweep.ts';

describe('--grid', () => {
  it('parses axes; a bracketed list or a quoted string with commas is one value', () => {
    expect(parseGrid(['attention.type=flow,softmax', 'seed=1, 2,3', 'evaluation.at=[0,7],[5]', 'name="a,b",c'])).toEqual([
      { key: 'attention.type', values: ['flow', 'softmax'] },
      { key: 'seed', values: ['1', '2', '3'] },
      { key: 'evaluation.at', values: ['[0,7]', '[5]'] },
      { key: 'name', values: ['"a,b"', 'c'] },
    ]);
  });
  it('names the key and the value in its errors', () => {
    expect(() => parseGrid(['attention.type'])).toThrow("--grid attention.type: expected 'path.to.key=v1,v2,...'");
    expect(() => parseGrid(['seed=1,,2'])).toThrow("key 'seed' has an empty value");
    expect(() => parseGrid(['evaluation.at=[0,7'])).toThrow("key 'evaluation.at', value '[0,7' is not valid YAML");
    expect(() => parseGrid(['seed=1', 'seed=2'])).toThrow("the key 'seed' is already an axis");
    expect(() => parseGrid(['seed=1,1'])).toThrow("key 'seed' repeats a value");
  });
  it('expands the product, the last axis fastest, into --set overrides', () => {
    const pts = gridPoints(parseGrid(['attention.type=flow,softmax', 'seed=1,2']));
    expect(pts.map((p) => p.sets)).toEqual([
      ['attention.type=flow', 'seed=1'],
      ['attention.type=flow', 'seed=2'],
      ['attention.type=softmax', 'seed=1'],
      ['attention.type=softmax', 'seed=2'],
    ]);
  });
});

describe('the grid table', () => {
  const axes = parseGrid(['attention.type=flow,softmax', 'seed=1,2,3']);
  const value = (t: string, s: string) => ({ flow: { '1': 0.5, '2': 0.7, '3': 0.6 }, softmax: { '1': 0.4, '2': null, '3': 0.5 } } as Record<string, Record<string, number | null>>)[t]![s]!;
  const results = gridPoints(axes).map((p) => ({ values: p.values, value: value(p.values['attention.type']!, p.values.seed!), runDir: `runs/${p.sets.join('-')}` }));
  const t = sweepTable({ name: 's', config: 'configs/lra/listops/mini.yaml', metric: { name: 'accuracy', mode: 'max', split: 'valid' }, axes }, results);

  it('is the mean ± sample std over seeds per setting, counting the runs done', () => {
    expect(t.rowKeys).toEqual(['attention.type']);
    expect(t.rows.map((r) => [r.values['attention.type'], r.done, r.of])).toEqual([
      ['flow', 3, 3],
      ['softmax', 2, 3],
    ]);
    expect(t.rows[0]!.mean).toBeCloseTo(0.6, 12);
    expect(t.rows[0]!.std).toBeCloseTo(0.1, 12);
    expect(t.rows[1]!.std).toBeCloseTo(Math.SQRT1_2 * 0.1, 12);
  });
  it('renders as markdown with n per cell', () => {
    const md = sweepMarkdown(t);
    expect(md).toContain('| attention.type | valid accuracy (higher is better) |');
    expect(md).toContain('| flow | 0.6000 ± 0.1000 (n=3) |');
    expect(md).toContain('| softmax | 0.4500 ± 0.0707 (n=2 of 3) |');
  });
});
