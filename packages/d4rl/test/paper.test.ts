import { describe, expect, it } from 'vitest';
import { paperComparisonMarkdown } from '../src/paper.ts';

// The paper's numbers themselves (rows averaging to the printed averages, ...) are checked
// where they live: packages/core/test/tables.test.ts against results/paper/flowformer-paper.json.
describe("our runs beside the paper's D4RL table", () => {
  it('prints our runs beside the paper, "-" where nothing was run', () => {
    const md = paperComparisonMarkdown({ 'hopper-medium': { flowformer: [60, 70] } });
    expect(md.split('\n')[0]).toBe('| dataset | paper DT | paper Flowformer | ours dt (seeds) | ours flowformer (seeds) |');
    expect(md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| ---'))).toHaveLength(1 + 9 + 1);
    expect(md).toContain('| hopper-medium | 64.2 ± 1.1 | 66.9 ± 2.5 | - | 65.0 ± 5.0 (2) |');
    expect(md).toContain('| average | 72.2 ± 2.6 | 73.5 ± 2.9 | - | - |');
  });

  it('averages ours over the nine datasets once all nine ran', () => {
    const rows = ['halfcheetah-medium-expert', 'hopper-medium-expert', 'walker2d-medium-expert', 'halfcheetah-medium', 'hopper-medium', 'walker2d-medium', 'halfcheetah-medium-replay', 'hopper-medium-replay', 'walker2d-medium-replay'];
    const md = paperComparisonMarkdown(Object.fromEntries(rows.map((r, i) => [r, { flowformer: [10 * i, 10 * i + 2] }])), ['flowformer']);
    expect(md).toContain('| average | 72.2 ± 2.6 | 73.5 ± 2.9 | 41.0 |');
  });
});
