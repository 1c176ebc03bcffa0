import { describe, expect, it } from 'vitest';
import { PAPER_ROWS, PAPER_TABLE, PAPER_METHODS, paperComparisonMarkdown } from '../src/paper.ts';

describe("the paper's D4RL table", () => {
  it('each method\'s average row is the mean of its nine rows (transcription check)', () => {
    for (const m of PAPER_METHODS) {
      const mean = PAPER_ROWS.reduce((a, r) => a + PAPER_TABLE[r][m].mean, 0) / 9;
      expect(Math.abs(mean - PAPER_TABLE.average[m].mean)).toBeLessThan(0.06);
    }
    expect(PAPER_TABLE.average.Flowformer).toEqual({ mean: 73.5, std: 2.9 });
    expect(PAPER_TABLE.average.DT).toEqual({ mean: 72.2, std: 2.6 });
  });

  it('prints our runs beside the paper, "-" where nothing was run', () => {
    const md = paperComparisonMarkdown({ 'hopper-medium': { flowformer: [60, 70] } });
    expect(md).toContain('| hopper-medium | 64.2 +- 1.1 | 66.9 +- 2.5 | - | 65.0 +- 5.0 (2) |');
    expect(md).toContain('| average | 72.2 +- 2.6 | 73.5 +- 2.9 | - | - |');
  });
});
