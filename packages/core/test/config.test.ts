import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../src/errors.ts';
import { configName, formatConfig, listConfigFiles, loadConfig } from '../src/config/load.ts';
import { registerTask, type Task } from '../src/task.ts';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/config');
const f = (name: string) => path.join(dir, name);

// A task with a schema only: loading configs needs nothing else.
const toy = {
  name: 'toy',
  description: 'schema-only task for config tests',
  datasets: [{ name: 'blobs', description: '' }],
  metric: { name: 'accuracy', mode: 'max' },
  schema: {
    model: z.strictObject({ hidden: z.number().int().positive().default(8) }),
    data: z.strictObject({ classes: z.number().int().min(2) }),
  },
} as unknown as Task;
registerTask(toy);

/** The problem lines of a ConfigError thrown by `fn`, with the file paths made relative to the fixtures. */
function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const lines = (e as Error).message.split('\n').slice(1);
    expect(lines.length).toBe((e as ConfigError).problems.length);
    return lines.map((l) => l.trim().replaceAll(dir + path.sep, '').replaceAll(path.relative(process.cwd(), dir) + path.sep, ''));
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('resolves a chain of extends with deep merge, defaults and --set', () => {
    const r = loadConfig(f('grandchild.yaml'), { sets: ['training.steps=7', 'optimizer.betas=[0.9, 0.98]', 'attention.type=softmax'] });
    expect(r.files.map((x) => path.basename(x))).toEqual(['grandchild.yaml', 'child.yaml', 'base.yaml']);
    const c = r.config;
    expect(c.model).toEqual({ name: 'mlp', hidden: 32 }); // child overrides, base keeps name
    expect(c.optimizer).toEqual({ type: 'adamw', lr: 3e-4, weightDecay: 0.05, betas: [0.9, 0.98], eps: 1e-8, decayAll: false });
    expect(c.schedule).toEqual({ type: 'constant' }); // a new `type` replaces the base's section
    expect(c.attention).toEqual({ type: 'softmax' }); // likewise through --set
    expect(c.training.steps).toBe(7);
    expect(c.training.gradClip).toBe(1);
    expect(c.seed).toBe(3);
    // The formatted config loads back to the same thing (run records rely on it).
    const again = formatConfig(r);
    expect(again).toContain('# resolved from');
    expect(again).toContain('# --set training.steps=7');
  });

  it('names configs from configs/<task>/<dataset>/<model>.yaml', () => {
    expect(configName('/x/configs/toy/blobs/flowformer.yaml', 'toy')).toBe('blobs-flowformer');
    expect(configName('/x/elsewhere/my.yaml', 'toy')).toBe('my');
    expect(configName('/x/configs/toy/blobs/flowformer.yaml', 'toy', 'custom')).toBe('custom');
  });

  it('lists shipped configs by task and dataset', () => {
    const root = path.join(dir, '../toy/configs');
    expect(listConfigFiles(root)).toEqual([{ task: 'toy', dataset: 'blobs', model: 'mlp', path: path.join(root, 'toy/blobs/mlp.yaml') }]);
    expect(listConfigFiles(root, 'other')).toEqual([]);
  });

  it('wrong types: file, line, key path, expected and got', () => {
    expect(problems(() => loadConfig(f('wrong-type.yaml')))).toEqual([
      'wrong-type.yaml:3: optimizer.lr: expected number, got string "fast"',
      'wrong-type.yaml:5: training.batchSize: expected an integer, got number 8.5',
    ]);
  });

  it('names the extended file a bad value came from', () => {
    expect(problems(() => loadConfig(f('inherits-bad.yaml')))).toEqual(['bad-base.yaml:5: model.hidden: expected number, got string "sixteen"']);
  });

  it('unknown keys are errors that list the allowed keys', () => {
    const p = problems(() => loadConfig(f('unknown-key.yaml')));
    expect(p).toContain('unknown-key.yaml:3: optimizer.weight_decay: unknown key; expected one of: type, lr, betas, eps, weightDecay, decayAll');
    expect(p.find((l) => l.startsWith('unknown-key.yaml:4: trainig: unknown key; expected one of: task, dataset,'))).toBeDefined();
    expect(p).toHaveLength(2);
  });

  it('missing fields point at their section', () => {
    expect(problems(() => loadConfig(f('missing-field.yaml')))).toEqual([
      'missing-field.yaml:7: optimizer.lr: expected number, got nothing (the key is missing)',
      'missing-field.yaml:9: training.batchSize: expected number, got nothing (the key is missing)',
    ]);
  });

  it('bad extends: missing file and cycles', () => {
    expect(problems(() => loadConfig(f('bad-extends.yaml')))).toEqual([
      'bad-extends.yaml:1: extends: expected a readable YAML file, got does-not-exist.yaml: no such file',
    ]);
    expect(problems(() => loadConfig(f('cycle-a.yaml')))).toEqual([
      'cycle-b.yaml:1: extends: expected a config that does not extend itself, got a cycle: cycle-a.yaml -> cycle-b.yaml -> cycle-a.yaml',
    ]);
  });

  it('YAML syntax errors give file and line', () => {
    const p = problems(() => loadConfig(f('syntax-error.yaml')));
    expect(p.length).toBeGreaterThan(0);
    for (const l of p) expect(l).toMatch(/^syntax-error\.yaml:\d+: YAML syntax error: /);
    expect(p.some((l) => l.startsWith('syntax-error.yaml:6:'))).toBe(true);
  });

  it('lists every problem at once, and names --set overrides', () => {
    expect(problems(() => loadConfig(f('many-problems.yaml'), { sets: ['training.batchSize=abc', 'nonsense'] }))).toEqual([
      "--set nonsense: expected 'path.to.key=value' (e.g. --set optimizer.lr=3e-4)",
      'many-problems.yaml:2: seed: expected a number >= 0, got number -1',
      'many-problems.yaml:4: optimizer.type: expected "adamw" | "adam" | "radam", got string "sgd"',
      '--set training.batchSize=abc: training.batchSize: expected number, got string "abc"',
      'many-problems.yaml:8: evaluation.unit: expected "steps" | "epochs", got string "hours"',
    ]);
  });

  it('an unknown task is reported at its line', () => {
    expect(problems(() => loadConfig(f('base.yaml'), { sets: ['task=nope'] }))).toEqual([
      expect.stringMatching(/^--set task=nope: task: expected a known task \(.*toy.*\), got string "nope"$/),
    ]);
  });

  it('epochs and steps are exclusive', () => {
    expect(problems(() => loadConfig(f('base.yaml'), { sets: ['training.epochs=2'] }))).toEqual([
      '--set training.epochs=2: training.epochs: expected exactly one of training.epochs and training.steps, got both',
    ]);
  });
});
