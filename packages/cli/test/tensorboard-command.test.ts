/** `flowformer tensorboard`: which folders it shows and the exact command it prints. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { logdirsOf, tensorboardArgs } from '../src/commands/tensorboard.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flowformer-tbcmd-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const run = (rel: string, events = true) => {
  const dir = path.join(root, 'runs', rel);
  fs.mkdirSync(path.join(dir, 'tb'), { recursive: true });
  if (events) fs.writeFileSync(path.join(dir, 'tb', 'events.out.tfevents.1.host.1'), '');
  return dir;
};

describe('flowformer tensorboard', () => {
  const a = run('lra/listops-mini/20261207-000000-s0');
  const b = run('uea/JapaneseVowels-mini/20261207-000000-s1');
  const none = run('uea/JapaneseVowels-mini/20261207-000000-s2', false);

  it('shows every run under results/runs by default, as one --logdir', () => {
    const dirs = logdirsOf(undefined, root);
    expect(dirs).toEqual([path.join(root, 'runs')]);
    expect(tensorboardArgs(dirs, root)).toEqual(['--logdir', path.join(root, 'runs')]);
  });

  it('names several runs by their paths under results/runs', () => {
    expect(tensorboardArgs(logdirsOf([a, b], root), root, 6007)).toEqual([
      '--logdir_spec',
      `lra/listops-mini/20261207-000000-s0:${a},uea/JapaneseVowels-mini/20261207-000000-s1:${b}`,
      '--port',
      '6007',
    ]);
  });

  it('refuses a folder that does not exist or holds no event files, saying why', () => {
    expect(() => logdirsOf([path.join(root, 'nope')], root)).toThrow(/does not exist/);
    expect(() => logdirsOf([none], root)).toThrow(/no TensorBoard event files and no run to write them for/);
  });

  it('writes tb/ from metrics.jsonl for a run that has none (trained before runs wrote event files)', () => {
    const old = path.join(root, 'runs', 'lra/listops-mini/20261101-000000-s0');
    fs.mkdirSync(old, { recursive: true });
    fs.writeFileSync(path.join(old, 'summary.json'), '{}');
    fs.writeFileSync(path.join(old, 'config.yaml'), 'task: lra\nmodel:\n  dModel: 64\n');
    fs.writeFileSync(path.join(old, 'metrics.jsonl'), JSON.stringify({ type: 'train', step: 10, loss: 2.3, lr: 1e-3 }) + '\n');
    const said: string[] = [];
    expect(logdirsOf([old], root, (m) => said.push(m))).toEqual([old]);
    const files = fs.readdirSync(path.join(old, 'tb'));
    expect(files.filter((f) => f.startsWith('events.out.tfevents.'))).toHaveLength(1);
    expect(said).toEqual([expect.stringContaining('wrote tb/ from metrics.jsonl for 1 run')]);
  });
});
