/**
 * A task declares its own table, and the CLI runs it without knowing the task: the toy task
 * package (packages/core/test/fixtures/toy-package/, the example of docs/adding-a-task.md),
 * found through FLOWFORMER_TASKS, declares a table of two rows; `reproduce --table toy` plans,
 * trains and collects it, and `list tables` shows it. Nothing outside that package names it.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '../bin/flowformer.js');
const toyPackage = path.resolve(here, '../../core/test/fixtures/toy-package');

function run(args: string[]) {
  const env = { ...process.env, FLOWFORMER_BACKEND: 'cpu', FLOWFORMER_TASKS: toyPackage };
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, timeout: 300_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('a table declared by a task package', () => {
  it('reproduce --table toy: --plan lists its jobs, a run trains and collects both rows, --collect rebuilds the same cells', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-toy-table-'));
    const plan = run(['reproduce', '--table', 'toy', '--scale', 'mini', '--plan', '--json', '--results-root', tmp]);
    expect(plan.code, plan.err).toBe(0);
    const jobs = JSON.parse(plan.out) as { id: string; row: string; configPath: string; seed: number; config: { data: { classes: number } } }[];
    expect(jobs.map((j) => [j.id, j.row, j.seed, j.config.data.classes])).toEqual([['toy-blobs3-mlp-s7', 'blobs3', 7, 3], ['toy-blobs5-mlp-s7', 'blobs5', 7, 5]]);
    expect(jobs[0]!.configPath).toBe('packages/core/test/fixtures/toy-package/configs/blobs3.yaml');
    expect(fs.existsSync(path.join(tmp, 'runs'))).toBe(false); // a plan runs nothing

    const r = run(['reproduce', '--table', 'toy', '--scale', 'mini', '--results-root', tmp]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('2 jobs, 0 already done, running 2');
    const table = JSON.parse(fs.readFileSync(path.join(tmp, 'tables', 'toy-mini.json'), 'utf8'));
    expect(table.rows.map((x: { row: string }) => x.row)).toEqual(['blobs3', 'blobs5']);
    for (const row of table.rows) {
      const [cell] = row.cells;
      expect(cell.status).toBe('ok');
      expect(cell.ours.n).toBe(1);
      // the blobs are separable: far above chance (33% and 20%)
      expect(cell.ours.mean).toBeGreaterThan(row.row === 'blobs3' ? 60 : 40);
    }
    const md = fs.readFileSync(path.join(tmp, 'tables', 'toy-mini.md'), 'utf8');
    expect(md).toMatch(/\| blobs3 \| \d+\.\d\d \| - \|/);

    const again = run(['reproduce', '--table', 'toy', '--scale', 'mini', '--collect', '--results-root', tmp]);
    expect(again.code, again.err).toBe(0);
    const collected = JSON.parse(fs.readFileSync(path.join(tmp, 'tables', 'toy-mini.json'), 'utf8'));
    expect(collected.rows).toEqual(table.rows);

    const list = run(['list', 'tables']);
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(/^toy +\(task toy\)/m);
    expect(list.out).toContain('mini: rows blobs3, blobs5');
  }, 600_000);
});
