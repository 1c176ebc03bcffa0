/**
 * `flowformer sweep` on the toy task package (found through FLOWFORMER_TASKS): two widths x two
 * seeds make four ordinary run folders and the grid table; a sweep interrupted with Ctrl-C and
 * started again trains only what is missing (the interrupted cell resumes in its own folder).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '../bin/flowformer.js');
const toyPackage = path.resolve(here, '../../core/test/fixtures/toy-package');
const config = path.join(toyPackage, 'configs/blobs3.yaml');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-sweep-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const env = { ...process.env, FLOWFORMER_BACKEND: 'cpu', FLOWFORMER_TASKS: toyPackage };
// Long enough (about a second per cell here) that Ctrl-C lands while a cell trains.
const args = ['sweep', '-c', config, '--grid', 'model.hidden=8,32', '--grid', 'seed=1,2', '--set', 'training.epochs=12', '--results-root', tmp];

const run = (extra: string[] = []) => spawnSync(process.execPath, [bin, ...args, ...extra], { encoding: 'utf8', env, timeout: 300_000 });
/** The run records under runs/toy/<config>/<run-id>/; read while trainers write (a checkpoint's temporary folder may vanish mid-listing). */
const summaries = () => {
  const root = path.join(tmp, 'runs', 'toy');
  const out: { status: string; runDir: string; seed: number; steps: number }[] = [];
  for (const config of fs.existsSync(root) ? fs.readdirSync(root) : []) {
    for (const run of fs.readdirSync(path.join(root, config))) {
      const file = path.join(root, config, run, 'summary.json');
      try {
        out.push(JSON.parse(fs.readFileSync(file, 'utf8')));
      } catch {
        // not written yet, or mid-rename: the next poll sees it
      }
    }
  }
  return out;
};

describe('flowformer sweep', () => {
  it('--plan lists the four cells and runs nothing; a bad value names its key and value', () => {
    const plan = run(['--plan']);
    expect(plan.status, plan.stderr).toBe(0);
    expect(plan.stdout.match(/^todo /gm)).toHaveLength(4);
    expect(plan.stdout).toContain('--set model.hidden=32 --set seed=2');
    expect(fs.existsSync(path.join(tmp, 'runs'))).toBe(false);
    const bad = spawnSync(process.execPath, [bin, 'sweep', '-c', config, '--grid', 'model.hidden=8,wide', '--plan', '--results-root', tmp], { encoding: 'utf8', env });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('model.hidden=wide');
    expect(bad.stderr).toMatch(/model\.hidden: expected number/);
  });

  it('interrupted with Ctrl-C, then run again: only what is missing trains, and the table covers the grid', async () => {
    // First call: stop it with SIGINT once one cell has completed and the next one is training
    // (its record says 'running': the trainer's signal handlers are up).
    const first = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    first.stdout.on('data', (d) => (out += String(d)));
    let sent = false;
    const poll = setInterval(() => {
      const s = summaries();
      if (!sent && s.some((x) => x.status === 'completed') && s.some((x) => x.status === 'running')) {
        sent = true;
        first.kill('SIGINT');
      }
    }, 50);
    const code = await new Promise<number | null>((resolve) => first.on('close', resolve));
    clearInterval(poll);
    expect(sent, out).toBe(true);
    expect(code, out).toBe(130);
    const afterFirst = summaries();
    const done = afterFirst.filter((s) => s.status === 'completed').length;
    const cut = afterFirst.filter((s) => s.status === 'interrupted');
    expect(done).toBeGreaterThanOrEqual(1);
    expect(done).toBeLessThan(4);
    expect(cut).toHaveLength(1); // the cell that was training saved ckpt/last

    // Second call: completes the rest, resuming the interrupted cell in its own folder.
    const second = run();
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toContain(`${done} done already, training ${4 - done}`);
    expect(second.stdout).toMatch(new RegExp(`resuming \\S*${path.basename(cut[0]!.runDir)} from update [1-9]`));
    const all = summaries();
    expect(all).toHaveLength(4); // one folder per cell: nothing trained twice
    expect(all.every((s) => s.status === 'completed')).toBe(true);

    const grid = JSON.parse(fs.readFileSync(path.join(tmp, 'sweeps', 'blobs3-model.hidden-seed', 'grid.json'), 'utf8'));
    expect(grid.rowKeys).toEqual(['model.hidden']);
    expect(grid.rows.map((r: { values: Record<string, string>; done: number }) => [r.values['model.hidden'], r.done])).toEqual([
      ['8', 2],
      ['32', 2],
    ]);
    for (const r of grid.rows) expect(r.mean).toBeGreaterThan(50); // separable blobs, 3 classes: far above chance
    const md = fs.readFileSync(path.join(tmp, 'sweeps', 'blobs3-model.hidden-seed', 'grid.md'), 'utf8');
    expect(md).toMatch(/\| 32 \| \d+\.\d+ ± \d+\.\d+ \(n=2\) \|/);
  }, 600_000);
});
