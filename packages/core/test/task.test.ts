import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import * as core from '../src/index.ts'; // the public API, with the attention registry loaded
import { toyTask } from './fixtures/toy-task.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const configPath = path.join(here, 'fixtures/toy/configs/toy/blobs/mlp.yaml');

// Importing the public API registers the wasm backend; these tests compute on cpu.
beforeAll(async () => {
  await core.tf.setBackend('cpu');
});

describe('task registry', () => {
  it('a task registers itself on import and is found by name', () => {
    expect(core.getTask('toy')).toBe(toyTask);
    expect(core.listTasks().map((t) => t.name)).toContain('toy');
    expect(() => core.getTask('nope')).toThrow(/unknown task 'nope'\. Known tasks: .*toy.*flowformer list/);
  });

  it("validates configs with the task's sections and the registered attentions' options", () => {
    expect(core.attentionConfigTypes()).toContain('flow');
    const r = core.loadConfig(configPath);
    expect(r.name).toBe('blobs-mlp');
    expect(r.config.attention.type).toBe('flow');
    expect(r.config.data).toMatchObject({ classes: 3, dims: 8, nanExample: null }); // task defaults
    const err = (() => {
      try {
        core.loadConfig(configPath, { sets: ['attention.featureMap=tanh', 'model.hiden=3'] });
      } catch (e) {
        return e as core.ConfigError;
      }
    })();
    expect(err).toBeInstanceOf(core.ConfigError);
    expect(err!.problems.map((p) => p.path)).toEqual(['model.hiden', 'attention.featureMap']);
    expect(err!.message).toContain('--set attention.featureMap=tanh: attention.featureMap: expected "sigmoid" | "relu", got string "tanh"');
    const bad = (() => {
      try {
        core.loadConfig(configPath, { sets: ['attention.type=nonexistent'] });
      } catch (e) {
        return e as core.ConfigError;
      }
    })();
    expect(bad!.message).toMatch(/--set attention.type=nonexistent: attention.type: expected .*"flow".*, got string "nonexistent"/);
    expect(err!.message).toContain('--set model.hiden=3: model.hiden: unknown key; expected one of: hidden, dropout, labelSmoothing, name');
  });

  it('forEachBatch walks a split in order, in batches, disposing them', async () => {
    const { config } = core.loadConfig(configPath);
    const data = await toyTask.load(config as never, { dataRoot: '', cacheDir: '', rng: new core.Rng(1), log: () => {} });
    const seen: number[][] = [];
    const before = core.tf.memory().numTensors;
    await core.forEachBatch(data.valid!, 40, (b, idx) => {
      seen.push([b.size, idx[0]!]);
    });
    expect(seen).toEqual([
      [40, 0],
      [40, 40],
      [16, 80],
    ]);
    expect(core.tf.memory().numTensors).toBe(before);
  });
});
