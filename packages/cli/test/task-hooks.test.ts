/**
 * `flowformer visualize` and `flowformer bench data`, end to end through the Task hooks (a
 * separate process per command, as a user runs them): the CLI routes, the imagenet task draws
 * and measures. Real images from the shared CIFAR-10 copy; skipped with the reason if absent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const bin = path.resolve(here, '../bin/flowformer.js');
const toyTask = path.resolve(here, '../../core/test/fixtures/toy-task.ts');
const sharedData = path.resolve(repo, '../shared/data');
const cifar = path.join(sharedData, 'cifar10');
const cifarPresent = fs.existsSync(path.join(cifar, 'train')) && fs.existsSync(path.join(cifar, 'test'));
const skipReason = cifarPresent ? '' : `(skipped: ${cifar}/{train,test} is absent; the shared real data is not on this machine)`;

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-cli-hooks-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    cwd: repo,
    env: { ...process.env, FLOWFORMER_TASKS: toyTask, FLOWFORMER_BACKEND: 'cpu' },
    timeout: 300_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Width and height from a PNG's IHDR chunk (the CLI package does not depend on sharp). */
function pngSize(file: string): { width: number; height: number } {
  const b = fs.readFileSync(file);
  expect(b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), `${file} is not a PNG`).toBe(true);
  expect(b.toString('latin1', 12, 16)).toBe('IHDR');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

describe('flowformer visualize', () => {
  it('a run of a task without the hook: a clear error naming the tasks that visualize', () => {
    const runDir = path.join(tmp, 'toy-run');
    fs.mkdirSync(runDir, { recursive: true });
    fs.writeFileSync(path.join(runDir, 'config.yaml'), 'task: toy\n');
    const r = run(['visualize', '--run', runDir, '--image', path.join(runDir, 'config.yaml'), '--out', path.join(tmp, 'x.png')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/task 'toy' \(from .*config\.yaml\) has no visualize hook; tasks that visualize: .*imagenet/);
    expect(fs.existsSync(path.join(tmp, 'x.png'))).toBe(false);
  });

  it.skipIf(!cifarPresent)(`draws the flow maps of a tiny imagenet run trained for 2 steps by the CLI ${skipReason}`, () => {
    // 10 images (one per class) in batches of 5: two updates of a 2-head toy Flowformer.
    const sets = [
      'data.trainPerClass=1', 'data.evalPerClass=1', 'data.randAugment=null', 'model.dims=[16,16,24,32]', 'model.depths=[1,1,1,1]',
      'model.heads=[2,2,2,2]', 'training.epochs=1', 'training.batchSize=5', 'training.logEvery=1', 'schedule.warmupSteps=1', 'evaluation.batchSize=10',
    ];
    const results = path.join(tmp, 'results');
    const t = run(['train', '-c', 'configs/imagenet/cifar10/flowformer.yaml', '--data-root', sharedData, '--results-root', results, '--no-progress', ...sets.flatMap((s) => ['--set', s])]);
    expect(t.code, t.err).toBe(0);
    const runs = path.join(results, 'runs/imagenet/cifar10-flowformer');
    const runDir = path.join(runs, fs.readdirSync(runs)[0]!);
    const summary = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8'));
    expect([summary.status, summary.steps]).toEqual(['completed', 2]);

    const out = path.join(tmp, 'maps/cat.png'); // the folder does not exist yet: the command creates it
    const v = run(['visualize', '--run', runDir, '--image', path.join(cifar, 'test/cat/0000.jpg'), '--out', out, '--query', '1,2', '--tile', '48']);
    expect(v.code, v.err).toBe(0);
    expect(v.out).toMatch(/flow maps of stage 0 block 0: 2 heads, 8x8 tokens, query cell 1,2; the model predicts '\w+' \(class \d\) with p=0\.\d{3}/);
    expect(v.out).toContain(`wrote ${out}`);
    // (2 heads + the image) x 2 rows of 48 px tiles.
    expect(pngSize(out)).toEqual({ width: 3 * 48, height: 2 * 48 });

    const bad = run(['visualize', '--run', runDir, '--image', path.join(cifar, 'test/cat/0000.jpg'), '--out', out, '--query', 'middle']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--query 'middle': expected 'row,col'/);
  });
});

describe('flowformer bench data', () => {
  it.skipIf(!cifarPresent)(`--task imagenet on real CIFAR-10 images: a table of positive images/s, and the record with --out ${skipReason}`, () => {
    const out = path.join(tmp, 'bench');
    const r = run([
      'bench', 'data', '--task', 'imagenet', '--config', 'configs/imagenet/cifar10/flowformer.yaml', '--data-root', sharedData,
      '--images', '16', '--batch-size', '8', '--workers', '2', '--out', out,
    ]);
    expect(r.code, r.err).toBe(0);
    const rows = new Map(
      r.out
        .split('\n')
        .filter((l) => /^\| (decode|train|eval) \|/.test(l))
        .map((l) => {
          const cells = l.split('|').map((c) => c.trim());
          return [cells[1]!, Number(cells[3]!.replace(/,/g, ''))] as const;
        }),
    );
    expect([...rows.keys()]).toEqual(['decode', 'train', 'eval']);
    for (const [view, ips] of rows) expect(ips, view).toBeGreaterThan(0);
    expect(r.out).toMatch(/\| timed images per view \| 16 \|/);

    const md = fs.readFileSync(path.join(out, 'data-imagenet.md'), 'utf8');
    expect(md).toContain('Command: `flowformer bench data --task imagenet --config configs/imagenet/cifar10/flowformer.yaml');
    expect(md).toMatch(/\| decode \| read \+ decode the whole file to RGB \| [\d,]+ \|/);
    const rec = JSON.parse(fs.readFileSync(path.join(out, 'data-imagenet.json'), 'utf8'));
    expect(rec.command).toMatch(/^flowformer bench data --task imagenet/);
    expect(rec.machine.cores).toBe(os.cpus().length);
    expect(rec.machine.node).toBe(process.version);
    expect(rec.raw).toMatchObject({ images: 16, batchSize: 8, workers: 2, imageSize: 32 });
    expect(rec.raw.decode.imagesPerSecond).toBeGreaterThan(0);
  });
});
