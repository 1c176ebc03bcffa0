/**
 * The README stays a page for a user: its headline results table is exactly what
 * renderReadmeResults makes of results/tables/main*.json (so no number in it is typed by
 * hand), it stays about 150 lines, and it keeps the library example's marker. The config
 * headers stay a few lines of what recipe and from where: run narratives and result numbers
 * live in docs/results/, not in configs/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  README_RESULTS_BEGIN,
  README_RESULTS_END,
  readReadmeTables,
  readmeBlock,
  renderReadmeResults,
  replaceReadmeBlock,
  writeReadmeResults,
  type HeadlineTable,
} from '../src/results/readme.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

describe('README.md', () => {
  it('its results block is the one generated from results/tables/main*.json', () => {
    const block = readmeBlock(readme);
    expect(block, `README.md has no ${README_RESULTS_BEGIN} ... ${README_RESULTS_END} block`).not.toBeNull();
    const want = renderReadmeResults(readReadmeTables(path.join(repoRoot, 'results', 'tables')));
    // On a difference: npx tsx scripts/readme-results.ts (or flowformer reproduce --table main --collect)
    expect(block).toBe(want);
  });

  it('is a page for a user: about 150 lines, the two fresh-machine commands, the library example marker', () => {
    const lines = readme.split('\n');
    expect(lines.length).toBeLessThanOrEqual(160);
    expect(readme).toContain('npm install && npx flowformer train --task lra\nnpm test\n');
    const at = lines.findIndex((l) => l === '<!-- library-example -->');
    expect(at).toBeGreaterThan(0);
    expect(lines[at + 1]).toBe('```js');
  });

  it('links every page it points readers to', () => {
    for (const m of readme.matchAll(/\]\(((?:docs|results|packages|data)\/[^)#\s]*)/g)) {
      const target = m[1]!;
      // docs/architecture.md is written on another branch; it is linked here before it lands
      if (target === 'docs/architecture.md') continue;
      expect(fs.existsSync(path.join(repoRoot, target)), target).toBe(true);
    }
  });
});

function mdFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? mdFiles(p) : e.name.endsWith('.md') ? [p] : [];
  });
}

describe('docs/', () => {
  it('every relative link of every page resolves', () => {
    const broken: string[] = [];
    for (const f of mdFiles(path.join(repoRoot, 'docs'))) {
      const text = fs.readFileSync(f, 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue; // http(s):, mailto:
        const abs = path.resolve(path.dirname(f), target);
        // docs/architecture.md is written on another branch
        if (path.relative(repoRoot, abs) === 'docs/architecture.md') continue;
        if (!fs.existsSync(abs)) broken.push(`${path.relative(repoRoot, f)}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

const cell = (attention: string, paper: HeadlineTable['rows'][0]['cells'][0]['paper'], ours: { mean: number; std: number | null } | null, status: string) => ({
  attention,
  paperMethod: attention === 'flow' ? 'Flowformer' : 'Transformer',
  paper,
  ours,
  status,
});

describe('renderReadmeResults', () => {
  const paper: HeadlineTable = {
    table: 'main',
    scale: 'paper',
    attentions: ['flow', 'softmax'],
    generatedAt: '2026-11-30T16:10:01.588Z',
    rows: [
      { row: 'uea', cells: [cell('flow', 73, null, 'not run (6 of 10 rows missing)'), cell('softmax', 71.9, { mean: 70.123, std: 1.5 }, 'ok')] },
      { row: 'd4rl', cells: [cell('flow', { mean: 73.5, std: 2.9 }, null, 'not finished: update 5 of 10, interrupted'), cell('softmax', 'OOM', null, 'not run')] },
    ],
  };
  const mini: HeadlineTable = {
    table: 'main',
    scale: 'mini',
    attentions: ['flow', 'softmax'],
    rows: [
      { row: 'uea', note: 'mean over JapaneseVowels only', cells: [cell('flow', 73, { mean: 98.65, std: null }, 'partial: mean of JapaneseVowels'), cell('softmax', 71.9, { mean: 98.38, std: null }, 'partial: mean of JapaneseVowels')] },
      { row: 'd4rl', note: 'a generated dataset', cells: [cell('flow', { mean: 73.5, std: 2.9 }, { mean: 2.9, std: null }, 'ok'), cell('softmax', 'OOM', { mean: 3.39, std: null }, 'ok')] },
    ],
  };
  const out = renderReadmeResults({ paper, mini, metrics: { uea: { title: 'UEA: accuracy (%)', mode: 'max' }, d4rl: { title: 'D4RL (v2): normalised score (x100), mean +- std', mode: 'min' } } });
  const rows = out.split('\n').filter((l) => l.startsWith('|'));

  it('puts the paper, ours at the paper recipe and ours at mini scale under each benchmark', () => {
    expect(rows[0]).toBe('| benchmark | metric | numbers | Flowformer (`flow`) | Transformer (`softmax`) |');
    expect(rows.slice(2)).toEqual([
      '| UEA | accuracy (%) (higher is better) | paper | 73.00 | 71.90 |',
      '| | | ours, paper recipe | not run (6 of 10 rows missing) | 70.12 ± 1.50 |',
      '| | | ours, mini | 98.65 [1] | 98.38 [1] |',
      '| D4RL (v2) | normalised score (x100) (lower is better) | paper | 73.50 ± 2.90 | OOM |',
      '| | | ours, paper recipe | not finished | not run |',
      '| | | ours, mini [2] | 2.90 | 3.39 |',
    ]);
    expect(out).toContain('1. uea: mean over JapaneseVowels only');
    expect(out).toContain('2. d4rl: a generated dataset');
    expect(out).toContain('results/tables/main.md) (collected 2026-11-30)');
  });

  it('never takes a number of ours from the paper: a cell without a run stays without a number', () => {
    const none = renderReadmeResults({ paper: { ...paper, rows: [{ row: 'uea', cells: [cell('flow', 73, null, 'not run'), cell('softmax', 71.9, null, 'not run')] }] } });
    expect(none.split('\n').find((l) => l.includes('ours, paper recipe'))).toBe('| | | ours, paper recipe | not run | not run |');
  });
});

describe('replaceReadmeBlock and writeReadmeResults', () => {
  it('errors name the file and the line', () => {
    expect(() => replaceReadmeBlock('# x\n', 'b', 'R.md')).toThrow(/^R\.md: no line '<!-- results:begin -->'/);
    expect(() => replaceReadmeBlock(`# x\n${README_RESULTS_BEGIN}\n`, 'b', 'R.md')).toThrow(/^R\.md:2: /);
    expect(() => replaceReadmeBlock(`${README_RESULTS_END}\n${README_RESULTS_BEGIN}\n`, 'b', 'R.md')).toThrow(/^R\.md:1: .* comes before/);
  });

  it('replaces only the block, and only for the repository\'s own results/tables', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-'));
    try {
      fs.mkdirSync(path.join(tmp, 'results', 'tables'), { recursive: true });
      fs.copyFileSync(path.join(repoRoot, 'results/tables/main-mini.json'), path.join(tmp, 'results/tables/main-mini.json'));
      const text = `# t\n\nbefore\n${README_RESULTS_BEGIN}\nstale | 1.00\n${README_RESULTS_END}\nafter\n`;
      fs.writeFileSync(path.join(tmp, 'README.md'), text);
      expect(writeReadmeResults({ repoRoot: tmp, tablesDir: path.join(tmp, 'elsewhere') })).toBeNull();
      expect(fs.readFileSync(path.join(tmp, 'README.md'), 'utf8')).toBe(text);
      expect(writeReadmeResults({ repoRoot: tmp, tablesDir: path.join(tmp, 'results', 'tables') })).toMatchObject({ changed: true });
      const now = fs.readFileSync(path.join(tmp, 'README.md'), 'utf8');
      expect(now.startsWith('# t\n\nbefore\n')).toBe(true);
      expect(now.endsWith(`${README_RESULTS_END}\nafter\n`)).toBe(true);
      expect(readmeBlock(now)).toBe(renderReadmeResults(readReadmeTables(path.join(tmp, 'results', 'tables'))));
      expect(now).not.toContain('stale');
      expect(writeReadmeResults({ repoRoot: tmp })).toMatchObject({ changed: false });
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

/** Comment lines before a YAML file's first key (blank lines not counted), with their line numbers. */
function headerComments(text: string): { line: string; no: number }[] {
  const out: { line: string; no: number }[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (/^\s*#/.test(line)) out.push({ line, no: i + 1 });
    else if (line.trim() !== '') break;
  }
  return out;
}

function yamlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? yamlFiles(p) : e.name.endsWith('.yaml') ? [p] : [];
  });
}

describe('config headers', () => {
  const files = yamlFiles(path.join(repoRoot, 'configs'));

  it('there are configs to check', () => {
    expect(files.length).toBeGreaterThan(50);
  });

  it('say what recipe and from which file of the original in at most 5 comment lines, with no results', () => {
    // Results are measured (docs/results/) or the paper's (results/paper/flowformer-paper.json): never in a config.
    const result = [
      /\bmeasured\b/i, // a measurement
      /\d+\.\d+\s*%/, // a measured percentage
      /\b(accuracy|perplexity|loss|score|top-1)\b\s*(of|is|=|:)?\s*(\w+\s)?\d+\.\d+/i, // a metric's value
      /\d+\.\d+\s*(top-1|accuracy|perplexity)/i,
      /\b(paper|Table \d+)\s*:\s*\d+\.\d+/, // a paper number (they live in results/paper/flowformer-paper.json)
      /results\/runs\//, // a run folder
      /\b\d+(\.\d+)?\s*(min|h|s per update)\b/, // a run's wall time
      /\b\d+m\d+s\b/,
    ];
    const problems: string[] = [];
    for (const f of files) {
      const rel = path.relative(repoRoot, f);
      const head = headerComments(fs.readFileSync(f, 'utf8'));
      if (head.length > 5) problems.push(`${rel}: ${head.length} comment lines before the first key (at most 5: what recipe, from which file of the original; findings go to docs/results/)`);
      for (const { line, no } of head) {
        // The LRA paper configs name the paper's Table 1 number, which packages/lra/test/report.test.ts
        // checks against results/paper/flowformer-paper.json: a checked quote, not a hand-kept copy.
        const checked = line.replace(/paper\s+(#\s*)?Table 1: \d+\.\d+( accuracy)?/, 'paper Table 1');
        for (const re of result) if (re.test(checked)) problems.push(`${rel}:${no}: a result in the header (${re}): ${line}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
