/**
 * The performance page's table is what renderBenchSummary makes of the committed benchmark
 * records (so no figure in it is typed by hand), and the summary reads records as written.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { benchSummaryBlock, collectBenchComparisons, meetsGoal, renderBenchSummary, writeBenchSummary } from '../src/results/bench-summary.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const page = path.join(repoRoot, 'docs/results/performance.md');

describe('docs/results/performance.md', () => {
  it('its table is the one generated from the comparisons in results/bench/', () => {
    const block = benchSummaryBlock(fs.readFileSync(page, 'utf8'));
    expect(block, 'docs/results/performance.md has no bench-summary block').not.toBeNull();
    const rows = collectBenchComparisons(path.join(repoRoot, 'results/bench'), repoRoot);
    expect(rows.length).toBeGreaterThan(0);
    // On a difference: npx flowformer bench summary
    expect(block).toBe(renderBenchSummary(rows, 'docs/results'));
  });
});

describe('bench summary', () => {
  it('collects every record that compares itself with a peer, checks the goal, and rewrites only the block', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-summary-'));
    try {
      fs.mkdirSync(path.join(tmp, 'results/bench/a'), { recursive: true });
      fs.mkdirSync(path.join(tmp, 'docs'), { recursive: true });
      const rec = {
        command: 'flowformer bench step -c x.yaml',
        machine: { date: '2026-12-07T05:00:00.000Z', loadAverage: 1.5 },
        comparisons: [
          { work: 'step: peak resident memory', unit: 'GiB', ours: 3.5, peer: 'original', peerValue: 3.9, better: 'lower', goal: 1 },
          { work: 'tokens per second', unit: 'tokens/s', ours: 3000, peer: 'nanoGPT', peerValue: 4000, better: 'higher', goal: 0.8 },
          { work: 'scaling 1 -> 2', unit: 'x', ours: 1.76, peer: 'torchvision', peerValue: 1.5, better: 'higher', target: 1.7 },
          { work: 'scaling again', unit: 'x', ours: 1.62, peer: 'torchvision', peerValue: 1.4, better: 'higher', target: 1.7 },
        ],
      };
      fs.writeFileSync(path.join(tmp, 'results/bench/a/step.json'), JSON.stringify(rec));
      fs.writeFileSync(path.join(tmp, 'results/bench/a/other.json'), JSON.stringify({ rows: [] })); // no comparisons: skipped
      const rows = collectBenchComparisons(path.join(tmp, 'results/bench'), tmp);
      expect(rows.map((r) => [r.record, meetsGoal(r)])).toEqual([
        ['results/bench/a/step.json', true],
        ['results/bench/a/step.json', false],
        ['results/bench/a/step.json', true], // ahead of the target, whatever the peer's
        ['results/bench/a/step.json', false], // ahead of the peer, short of the target
      ]);
      const md = renderBenchSummary(rows, 'docs');
      expect(md).toContain('| step: peak resident memory | 3.50 GiB | 3.90 GiB (original) | 0.90x | <= 1x | yes | [a/step.json](../results/bench/a/step.json) |');
      expect(md).toContain('| tokens per second | 3,000 tokens/s | 4,000 tokens/s (nanoGPT) | 0.75x | >= 0.8x | no |');
      expect(md).toContain('| scaling 1 -> 2 | 1.76 x | 1.50 x (torchvision) | 1.17x | ours >= 1.7 x | yes |');
      const file = path.join(tmp, 'docs/perf.md');
      fs.writeFileSync(file, '# Perf\n\n<!-- bench-summary:begin -->\nold\n<!-- bench-summary:end -->\n\nafter\n');
      expect(writeBenchSummary(file, path.join(tmp, 'results/bench'), tmp)).toBe(true);
      const text = fs.readFileSync(file, 'utf8');
      expect(benchSummaryBlock(text)).toBe(md);
      expect(text.endsWith('<!-- bench-summary:end -->\n\nafter\n')).toBe(true);
      expect(writeBenchSummary(file, path.join(tmp, 'results/bench'), tmp)).toBe(false);
      // A malformed entry names its file and field.
      fs.writeFileSync(path.join(tmp, 'results/bench/a/bad.json'), JSON.stringify({ comparisons: [{ work: 'w', unit: 'u', peer: 'p', better: 'lower', ours: 'fast', peerValue: 1 }] }));
      expect(() => collectBenchComparisons(path.join(tmp, 'results/bench'), tmp)).toThrow(/bad\.json: comparisons\[0\]\.ours must be a finite number/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
