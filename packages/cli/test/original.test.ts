/**
 * `flowformer check original` and `flowformer import`, as a user runs them: the vendored
 * golden cases pass (exit 0), a perturbed weight fails (exit 1, naming the intermediate), and
 * the weights of a short trained run of ours, exported under the original's names and
 * imported back through `import`, evaluate to exactly the same metrics.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { disposeCheckpoint, evaluateRun, getTask, initBackend, loadCheckpoint, loadConfig, Rng, shutdownBackend, train, writeOriginalWeights } from '@flowformer/core';
import { parseSafetensors, serializeSafetensors } from '@flowformer/core/io';
import { goldenPath, repoRoot, shared, tempDir } from '@flowformer/core/testing';
import { discoverTasks } from '../src/discover.ts';
import { importOriginal } from '../src/commands/import.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '../bin/flowformer.js');
const golden = ['uea/learnable', 'uea/fixed', 'imagenet/flowformer', 'd4rl/rightpad', 'd4rl/leftpad'].map((f) => goldenPath(`models/${f}.safetensors`));
const tmp = tempDir('cli-original-');

function run(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, FLOWFORMER_BACKEND: 'cpu' }, timeout: 300_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

afterAll(async () => {
  tmp.cleanup();
  await shutdownBackend();
});

describe('flowformer check original', () => {
  it('every golden file passes (exit 0); a perturbed weight fails (exit 1) naming the first intermediate that disagrees', () => {
    const f = parseSafetensors(new Uint8Array(readFileSync(golden[3]!)));
    (f.tensors.get('param.transformer.h.1.mlp.c_fc.weight')!.data as Float32Array)[0]! += 1;
    const bad = path.join(tmp.dir, 'd4rl-perturbed.safetensors');
    writeFileSync(bad, serializeSafetensors(f.tensors, f.metadata));
    const ok = run(['check', 'original', ...golden]);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('5 of 5 files pass on cpu');
    expect(ok.out).toMatch(/leftpad\.safetensors: PASS {2}DecisionTransformer \(d4rl\/leftpad\) on cpu/);
    const r = run(['check', 'original', bad, '--json']);
    expect(r.code).toBe(1);
    const [res] = JSON.parse(r.out);
    expect(res.check.pass).toBe(false);
    expect(res.check.firstBadIntermediate.name).toBe('transformer.h.1');
  });
});

describe('flowformer import', () => {
  const basic = shared('uea/BasicMotions');
  it('--help documents the one line that saves the original weights', () => {
    const r = run(['import', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('safetensors.torch.save_file(model.state_dict(), "weights.safetensors")');
  });

  it.skipIf(!basic.present)(`round trip: a short trained run, exported with the original names and imported, evaluates identically${basic.reason ? ` (${basic.reason})` : ''}`, async () => {
    await initBackend('cpu');
    await discoverTasks();
    const dataRoot = path.dirname(path.dirname(basic.path));
    const common = { dataRoot, cacheDir: path.join(tmp.dir, 'cache') };
    const summary = await train({
      configPath: path.join(repoRoot, 'configs/uea/JapaneseVowels/flowformer-holdout.yaml'),
      sets: ['dataset=BasicMotions', 'model.dModel=16', 'model.nHeads=2', 'model.nLayers=1', 'model.dFF=32', 'training.epochs=2', 'optimizer.lr=0.01'],
      resultsRoot: tmp.dir,
      progress: false,
      handleSigint: false,
      log: () => {},
      ...common,
    });
    const runDir = summary.runDir;
    const ours = await evaluateRun({ runDir, checkpoint: 'best', split: 'test', log: () => {}, ...common });

    // Export the trained weights as the original code would load them.
    const { config } = loadConfig(path.join(runDir, 'config.yaml'));
    const task = getTask('uea');
    const data = await task.load(config, { ...common, rng: new Rng(0), log: () => {} });
    const model = task.build(config, data, new Rng(0));
    const ck = loadCheckpoint(path.join(runDir, 'ckpt/best'));
    model.loadState(ck.weights);
    disposeCheckpoint(ck);
    const file = path.join(tmp.dir, 'weights.safetensors');
    const exported = task.original!.exportWeights(model);
    model.dispose();
    expect(exported.get('output_layer.weight')!.shape).toEqual([4, 100 * 16]); // [classes, max_len * d_model]
    writeOriginalWeights(file, exported);

    const imported = await importOriginal({ config: path.join(runDir, 'config.yaml'), from: file, out: path.join(tmp.dir, 'imported'), resultsRoot: tmp.dir, log: () => {}, ...common });
    expect(imported.summary.filled).toBe(imported.summary.used);
    expect(existsSync(path.join(imported.runDir, 'imported.json'))).toBe(true);
    const back = await evaluateRun({ runDir: imported.runDir, checkpoint: 'best', split: 'test', log: () => {}, ...common });
    expect(back.metrics).toEqual(ours.metrics);
  });
});
